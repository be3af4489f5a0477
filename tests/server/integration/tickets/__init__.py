"""Tickets slice: HTTP API, services, idempotency, uploads."""
