"""Migrations build the schema from an empty database, and walk back down and up again."""

from __future__ import annotations

import asyncio
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine

from server.db.migrate import current_revision, downgrade, head_revision, is_ours, upgrade
from server.db.models import metadata
from tests.fixtures.db import connect


async def extensions(url: str) -> set[str]:
    connection = await connect(url)
    try:
        return {row["extname"] for row in await connection.fetch("SELECT extname FROM pg_extension")}
    finally:
        await connection.close()


async def test_upgrade_from_empty_reaches_head(empty_db_url: str) -> None:
    assert await current_revision(empty_db_url) is None
    await asyncio.to_thread(upgrade, empty_db_url)
    assert await current_revision(empty_db_url) == head_revision()
    assert "vector" in await extensions(empty_db_url)


async def test_upgrade_is_idempotent_and_reversible(empty_db_url: str) -> None:
    await asyncio.to_thread(upgrade, empty_db_url)
    await asyncio.to_thread(upgrade, empty_db_url)  # a second start migrates nothing and fails nothing
    await asyncio.to_thread(downgrade, empty_db_url, "base")
    assert await current_revision(empty_db_url) is None
    await asyncio.to_thread(upgrade, empty_db_url)
    assert await current_revision(empty_db_url) == head_revision()


async def test_template_used_by_tests_is_at_head(db_url: str) -> None:
    assert await current_revision(db_url) == head_revision()


async def test_concurrent_upgrades_migrate_once(empty_db_url: str) -> None:
    # Several server processes starting at once against one database must not trip over each other.
    # (Processes, not threads: Alembic's context is process-global, as it is for real servers.)
    code = "import sys; from server.db.migrate import upgrade; upgrade(sys.argv[1])"
    processes = [
        await asyncio.create_subprocess_exec(sys.executable, "-c", code, empty_db_url, stderr=asyncio.subprocess.PIPE)
        for _ in range(3)
    ]
    results = [await process.communicate() for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], results
    assert await current_revision(empty_db_url) == head_revision()


async def test_the_migrations_build_exactly_what_the_models_map(db_url: str) -> None:
    engine = create_async_engine(db_url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(
                        sync, opts={"compare_type": True, "compare_server_default": False, "include_name": is_ours}
                    ),
                    metadata,
                )
            )
    finally:
        await engine.dispose()

    assert differences == [], "Alembic's autogenerate would change the schema: a migration and a model disagree"
