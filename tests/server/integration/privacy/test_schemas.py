"""Migration 0007 builds exactly what the data-rights models map (Alembic's autogenerate finds nothing to change)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine

from server.db.models import metadata

TABLES = {"data_exports", "policy_versions", "policy_acceptances", "stripe_events"}
USER_COLUMNS = {"analytics", "ai_processing", "deleted_at", "purge_after"}


def _ours(diff: Any) -> bool:
    if isinstance(diff, list):
        return any(_ours(item) for item in diff)
    for item in diff[1:]:
        table = getattr(item, "table", None)
        if getattr(table, "name", None) in TABLES or (isinstance(item, str) and item in TABLES):
            return True
        if (
            getattr(item, "name", None) in USER_COLUMNS | TABLES
            or getattr(item, "name", None) == "ix_users_purge_after"
        ):
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
