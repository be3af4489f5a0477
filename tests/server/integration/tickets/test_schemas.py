"""Migration 0004 builds exactly what the ticket models map (Alembic's autogenerate finds nothing to change)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine

from server.db.models import metadata

TICKET_TABLES = {"tickets", "ticket_messages", "ticket_screenshots", "ticket_history", "idempotency_keys"}


def _ours(diff: Any) -> bool:
    """Whether one autogenerate difference concerns the tickets slice (other slices keep their own checks)."""
    if isinstance(diff, list):  # column modifications come as a list of tuples
        return any(_ours(item) for item in diff)
    for item in diff[1:]:
        table = getattr(item, "table", None)
        name = getattr(table, "name", None) or getattr(item, "name", None)
        if name in TICKET_TABLES or (isinstance(item, str) and item in TICKET_TABLES):
            return True
        if getattr(item, "name", None) == "kb_contribution":
            return True
    return False


async def test_migration_matches_models(db_url: str) -> None:
    engine = create_async_engine(db_url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            diffs = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True, "compare_server_default": False}),
                    metadata,
                )
            )
    finally:
        await engine.dispose()

    assert [d for d in diffs if _ours(d)] == []
