"""Feature slices: each folder owns its controllers, services, schemas and dependencies."""
