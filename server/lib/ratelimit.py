"""Rate limits and throttles counted in the database, so every server process sees the same numbers.

Each :meth:`RateLimiter.hit` is one short transaction of its own (independent of the request's, which may roll
back on the very error it raises): the row is created if missing, locked, and updated. With ``backoff`` a key that
exceeds its limit is blocked for one window, then two, four… until :meth:`RateLimiter.forgive` resets it.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.models import rate_counters
from server.lib.exceptions import TooManyRequests

__all__ = ["RateLimiter", "Rule", "utcnow"]

MAX_BLOCK = datetime.timedelta(hours=24)


def utcnow() -> datetime.datetime:
    """The current time, timezone-aware."""
    return datetime.datetime.now(datetime.UTC)


@dataclass(frozen=True, slots=True)
class Rule:
    """At most ``limit`` hits per ``window`` for one key of this ``kind``."""

    kind: str
    limit: int
    window: datetime.timedelta
    backoff: bool = False


def _key(raw: str) -> str:
    # Keys are e-mail addresses, IPs, account ids: store a digest, so the table holds no personal data.
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:40]


class RateLimiter:
    """Counts hits per (rule, key) in ``rate_counters``."""

    def __init__(self, engine: AsyncEngine, clock: Callable[[], datetime.datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock

    async def hit(self, rule: Rule, key: str) -> None:
        """Count one hit; raise :class:`TooManyRequests` (with ``Retry-After``) when over the limit or blocked."""
        now = self.clock()
        retry_after: datetime.timedelta | None = None
        where = (rate_counters.c.kind == rule.kind) & (rate_counters.c.key == _key(key))
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(rate_counters)
                .values(kind=rule.kind, key=_key(key), window_start=now, count=0, strikes=0)
                .on_conflict_do_nothing()
            )
            row = (await conn.execute(select(rate_counters).where(where).with_for_update())).one()._mapping
            if row["blocked_until"] is not None and now < row["blocked_until"]:
                self._refuse(row["blocked_until"] - now)
            window_start: datetime.datetime = row["window_start"]
            count: int = row["count"]
            strikes: int = row["strikes"]
            blocked_until: datetime.datetime | None = None
            if now - window_start >= rule.window:
                window_start, count = now, 0
            count += 1
            if count > rule.limit:
                if rule.backoff:
                    strikes += 1
                    block = min(rule.window * 2 ** min(strikes - 1, 16), MAX_BLOCK)
                    blocked_until, window_start, count = now + block, now + block, 0
                    retry_after = block
                else:
                    retry_after = window_start + rule.window - now
            await conn.execute(
                update(rate_counters)
                .where(where)
                .values(window_start=window_start, count=count, strikes=strikes, blocked_until=blocked_until)
            )
        if retry_after is not None:
            self._refuse(retry_after)

    async def forgive(self, rule: Rule, key: str, *, reset: bool = False) -> None:
        """Undo one hit (a success, not an abuse), or with ``reset`` forget the key altogether."""
        where = (rate_counters.c.kind == rule.kind) & (rate_counters.c.key == _key(key))
        async with self.engine.begin() as conn:
            if reset:
                await conn.execute(delete(rate_counters).where(where))
            else:
                await conn.execute(
                    update(rate_counters).where(where).values(count=func.greatest(rate_counters.c.count - 1, 0))
                )

    @staticmethod
    def _refuse(wait: datetime.timedelta) -> NoReturn:
        seconds = int(wait.total_seconds()) + 1
        raise TooManyRequests(f"Too many attempts; try again in {seconds} seconds.", retry_after=seconds)
