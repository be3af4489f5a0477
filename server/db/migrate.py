"""Run Alembic migrations from code (the CLI, the server's start-up, the tests) without an alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine

__all__ = ["alembic_config", "current_revision", "downgrade", "head_revision", "is_ours", "upgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def is_ours(name: str | None, _type: str, _parents: object) -> bool:
    """Alembic's ``include_name``: the job queue's tables belong to procrastinate (its schema, our migration 0015)."""
    return not (name or "").startswith("procrastinate_")


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at our migrations and ``url`` (an async SQLAlchemy URL)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` up to ``revision``. Blocking: call it from a thread inside an event loop."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Migrate the database at ``url`` down to ``revision`` (``base`` empties it)."""
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    """The newest revision the code knows."""
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


async def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at (``None`` when never migrated)."""
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
    finally:
        await engine.dispose()
