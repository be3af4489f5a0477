"""The one transaction rule, and the only ways to work outside it (ADR 9).

**The rule.** An HTTP request gets one ``AsyncSession`` from dependency injection (``db_session``). It is committed
when the handler has returned and the response starts with a 2xx or 3xx status, and rolled back otherwise (an
exception, a 4xx, a 5xx). Services add, change and ``flush``; they never commit, roll back, open connections of
their own or change a session's isolation level. A route's writes are therefore all-or-nothing, and a reader can
see where a transaction ends without reading the code: at the end of the request.

**Outside the rule.** Work that must precede, outlive or stand apart from the request's transaction — or that runs
in no request at all — goes through one of these, and their names say so at the call site:

- :func:`transaction_of_its_own` — a connection in a transaction committed when the block ends (rolled back if it
  raises). For what must be committed whatever becomes of the request (revoking a session whose refresh token was
  replayed, before answering 401), and for work outside requests: the answer run storing its message, a batch of a
  background import, a Stripe event.
- :func:`session_of_its_own` — the same as an ORM session.
- :func:`autocommit_connection` — every statement commits on its own: single atomic statements that must precede
  the request's transaction (the sign-in throttles, whose count must stand when the request fails) and reads outside
  a request (health, the event stream's session check).
- :func:`request_session_in_autocommit` — the request's own session, in autocommit for a block whose statements
  precede its transaction, and its connection back in the pool when the block ends. A ticket create signs the
  caller in and counts the hourly limit there before a large upload arrives (no pooled connection waits on a slow
  client); a description-only ticket, one atomic statement, is inserted there too, without a transaction. The answer
  routes read the caller and the ticket there, so the request holds no connection while the limit, the quota and
  the search take theirs. :func:`held_in_autocommit` tells code that may run inside such a block (authentication)
  whether it can count a limit there, on the connection the request holds, rather than take a second one.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from advanced_alchemy.extensions.litestar import AsyncSessionConfig, SQLAlchemyAsyncConfig
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = [
    "autocommit_connection",
    "held_in_autocommit",
    "request_session_in_autocommit",
    "request_sessions",
    "session_of_its_own",
    "transaction_of_its_own",
]


def request_sessions(engine: AsyncEngine) -> SQLAlchemyAsyncConfig:
    """The advanced-alchemy config that gives each request its session and applies the rule to it."""
    return SQLAlchemyAsyncConfig(
        engine_instance=engine,
        session_config=AsyncSessionConfig(expire_on_commit=False),
        # Commit on 2xx/3xx, roll back otherwise, then close. (Plain "autocommit" would roll a 3xx back: a form post
        # answered with a redirect, such as a console sign-in, would lose its writes.)
        before_send_handler="autocommit_include_redirects",
        create_all=False,
    )


@asynccontextmanager
async def transaction_of_its_own(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction of its own: committed when the block ends, rolled back if it raises."""
    async with engine.begin() as connection:
        yield connection


@asynccontextmanager
async def session_of_its_own(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """An ORM session in a transaction of its own: committed when the block ends, rolled back if it raises."""
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        yield session


@asynccontextmanager
async def autocommit_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection on which every statement is a transaction of its own (no BEGIN/COMMIT round trips)."""
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection


async def held_in_autocommit(session: AsyncSession) -> AsyncConnection | None:
    """The connection of a request session inside :func:`request_session_in_autocommit`, else ``None``.

    Takes no connection: a session that holds none, or holds one in a transaction, gives ``None``.
    """
    if not session.in_transaction():
        return None
    connection = await session.connection()
    options = connection.sync_connection.get_execution_options() if connection.sync_connection else {}
    return connection if options.get("isolation_level") == "AUTOCOMMIT" else None


@asynccontextmanager
async def request_session_in_autocommit(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """The request's session on a connection in autocommit; the block's end returns that connection to the pool.

    Use it before the session's first statement. After the block the session is closed: a later statement starts
    the request's transaction on a fresh connection, which the rule commits or rolls back as usual.
    """
    await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    try:
        yield session
    finally:
        await session.close()
