"""Adapters to vendor SDKs: each vendor is reached through exactly one module here."""
