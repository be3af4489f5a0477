"""Unit tests of the AI resolution engine (no database)."""
