"""All ORM models, re-exported from their private modules; ``metadata`` is what Alembic compares against."""

from advanced_alchemy.base import orm_registry

__all__ = ["metadata"]

metadata = orm_registry.metadata
