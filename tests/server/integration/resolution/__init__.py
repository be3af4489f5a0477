"""Integration tests of the AI resolution engine."""
