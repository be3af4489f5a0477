"""Persistence: the embedded PostgreSQL supervisor, models and migrations."""
