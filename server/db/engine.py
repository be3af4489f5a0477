"""The process's database engine: one pool, pinged only when idle, failing fast when the database is away."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server.db.pool import ping_when_idle

if TYPE_CHECKING:
    from server.settings import DatabaseSettings

__all__ = ["create_engine"]


def create_engine(db: DatabaseSettings) -> AsyncEngine:
    """The engine for ``db``; its URL must be known (the embedded database started) by now. Connects lazily."""
    if db.url is None:
        raise RuntimeError("the database URL is not known yet: start the embedded database first")
    engine = create_async_engine(
        db.url.get_secret_value(),
        pool_size=db.pool_size,
        max_overflow=db.pool_size,
        pool_pre_ping=False,  # ping_when_idle instead: no round trips on a busy pool
        pool_use_lifo=True,
        echo=db.echo,
        hide_parameters=True,  # errors and logs never show bound values (addresses, tokens, ticket text)
        # A database that does not answer must fail fast (health turns 503) rather than hang requests.
        connect_args={"timeout": 5, "command_timeout": 60},
    )
    ping_when_idle(engine)
    return engine
