"""Rate limits and throttles counted in the database, so every server process sees the same numbers.

A hit is one atomic ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` (the window restarts when it has passed), run in
autocommit on a connection of its own — independent of the request's transaction, which may roll back on the very
error it raises — or, with ``connection``, inside the caller's transaction (one round trip fewer for a request that
already holds one; the caller commits). With ``backoff`` a key that exceeds its limit is blocked for one window,
then two, four… until :meth:`RateLimiter.forgive` resets it. A rule with a ``policy`` name is published: each hit
reports its quota for the request's ``RateLimit`` headers (:mod:`server.lib.metering`).
"""

from __future__ import annotations

import datetime
import hashlib
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from sqlalchemy import Interval, bindparam, case, delete, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from server.db.models import rate_counters
from server.db.transactions import autocommit_connection
from server.lib.clock import Clock, utcnow
from server.lib.exceptions import TooManyRequests
from server.lib.metering import Quota, report_quota

if TYPE_CHECKING:
    from sqlalchemy import Delete
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = ["COUNTED", "LONGEST_WINDOW", "RateLimiter", "Rule", "forget_statement", "over_statement"]

MAX_BLOCK = datetime.timedelta(hours=24)
# No rule counts over a longer window, so a counter whose window began this long ago (and is not blocked) is over.
LONGEST_WINDOW = datetime.timedelta(hours=24)
_MAX_DOUBLINGS = 16

# Statements are built once, with bind parameters: building and hashing one per hit costs more than running it.
_counter = rate_counters.c
_NOW = bindparam("now", type_=_counter.window_start.type)
_THIS_KEY = (_counter.kind == bindparam("rule_kind")) & (_counter.key == bindparam("digest"))
_NOT_BLOCKED = or_(_counter.blocked_until.is_(None), _counter.blocked_until <= _NOW)
_WINDOW = bindparam("window", type_=Interval())
_WINDOW_PASSED = _NOW - _counter.window_start >= _WINDOW
# One hit: a new row, or the window restarted when it has passed, or one more in this window; nothing while blocked.
_COUNT = (
    insert(rate_counters)
    .values(kind=bindparam("rule_kind"), key=bindparam("digest"), window_start=_NOW, count=1, strikes=0)
    .on_conflict_do_update(
        index_elements=[_counter.kind, _counter.key],
        set_={
            "window_start": case((_WINDOW_PASSED, _NOW), else_=_counter.window_start),
            "count": case((_WINDOW_PASSED, 1), else_=_counter.count + 1),
            "blocked_until": None,
        },
        where=_NOT_BLOCKED,
    )
    .returning(_counter.window_start, _counter.count)
)
# The same hit as a CTE, for one statement that counts a request and reads what it needs (API-key authentication):
# select ``COUNTED.c.window_start`` and ``COUNTED.c.count`` with the rest, pass :meth:`RateLimiter.counting`'s
# parameters, and give the two values to :meth:`RateLimiter.settle`.
COUNTED = _COUNT.cte("counted")
# Backoff: block for window × 2^strikes (capped), unless a concurrent hit just did.
_BLOCK_FOR = func.least(
    func.power(2, func.least(_counter.strikes, _MAX_DOUBLINGS)) * _WINDOW, literal(MAX_BLOCK, Interval())
)
_BLOCK = (
    update(rate_counters)
    .where(_THIS_KEY, _NOT_BLOCKED)
    .values(strikes=_counter.strikes + 1, blocked_until=_NOW + _BLOCK_FOR, window_start=_NOW + _BLOCK_FOR, count=0)
    .returning(_counter.blocked_until)
)
_BLOCKED_UNTIL = select(_counter.blocked_until).where(_THIS_KEY)
_FORGIVE = update(rate_counters).where(_THIS_KEY).values(count=func.greatest(_counter.count - 1, 0))
_RESET = delete(rate_counters).where(_THIS_KEY)


@dataclass(frozen=True, slots=True)
class Rule:
    """At most ``limit`` hits per ``window`` for one key of this ``kind``; ``policy`` names it in response headers."""

    kind: str
    limit: int
    window: datetime.timedelta
    backoff: bool = False
    policy: str | None = None

    def __post_init__(self) -> None:
        if self.window > LONGEST_WINDOW:
            raise ValueError(f"a rule's window is at most {LONGEST_WINDOW} (retention relies on it)")


def over_statement(as_of: datetime.datetime) -> Delete:
    """Deletes the counters whose window is over and that block nothing at ``as_of`` (a retention rule)."""
    return delete(rate_counters).where(
        _counter.window_start <= as_of - LONGEST_WINDOW,
        or_(_counter.blocked_until.is_(None), _counter.blocked_until <= as_of),
    )


def forget_statement(raw_keys: list[str]) -> Delete:
    """Deletes every counter of these keys (of any rule): for a purged account's id and addresses."""
    return delete(rate_counters).where(_counter.key.in_([_key(raw) for raw in raw_keys]))


def _key(raw: str) -> str:
    # Keys are e-mail addresses, IPs, account ids: store a digest, so the table holds no personal data.
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:40]


class RateLimiter:
    """Counts hits per (rule, key) in ``rate_counters``."""

    def __init__(self, engine: AsyncEngine, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.clock = clock

    async def hit(self, rule: Rule, key: str, *, connection: AsyncConnection | None = None) -> None:
        """Count one hit; raise :class:`TooManyRequests` (with ``Retry-After``) when over the limit or blocked.

        With ``connection`` the hit is part of the caller's transaction: only for rules without ``backoff`` (a
        block must outlive the request that earned it, and that request fails).
        """
        if connection is not None:
            if rule.backoff:
                raise ValueError("a backoff rule counts in a transaction of its own")
            await self._hit(connection, rule, _key(key))
            return
        async with autocommit_connection(self.engine) as own:
            await self._hit(own, rule, _key(key))

    def counting(self, rule: Rule, key: str) -> dict[str, object]:
        """The parameters of :data:`COUNTED` for one hit of ``key`` (a rule without ``backoff``), now."""
        if rule.backoff:
            raise ValueError("a backoff rule counts in a transaction of its own")
        return {"rule_kind": rule.kind, "digest": _key(key), "now": self.clock(), "window": rule.window}

    def settle(self, rule: Rule, params: dict[str, object], window_start: datetime.datetime, count: int) -> None:
        """Publish the quota and raise :class:`TooManyRequests` over the limit, for a hit counted with ``params``."""
        now = params["now"]
        assert isinstance(now, datetime.datetime)
        if rule.policy is not None:
            reset = max(math.ceil((window_start + rule.window - now).total_seconds()), 0)
            window = int(rule.window.total_seconds())
            report_quota(Quota(rule.policy, rule.limit, window, max(rule.limit - count, 0), reset))
        if count > rule.limit and not rule.backoff:
            self._refuse(window_start + rule.window - now)

    async def _hit(self, conn: AsyncConnection, rule: Rule, key: str) -> None:
        now = self.clock()
        params: dict[str, object] = {"rule_kind": rule.kind, "digest": key, "now": now, "window": rule.window}
        counted = (await conn.execute(_COUNT, params)).one_or_none()
        if counted is None:  # blocked: the update's condition refused it
            self._refuse_until(await conn.scalar(_BLOCKED_UNTIL, params), now)
        window_start, count = counted
        self.settle(rule, params, window_start, count)
        if count <= rule.limit:
            return
        blocked_until = await conn.scalar(_BLOCK, params)
        if blocked_until is None:
            blocked_until = await conn.scalar(_BLOCKED_UNTIL, params)
        self._refuse_until(blocked_until, now)

    async def forgive(self, rule: Rule, key: str, *, reset: bool = False) -> None:
        """Undo one hit (a success, not an abuse), or with ``reset`` forget the key altogether."""
        async with autocommit_connection(self.engine) as conn:
            await conn.execute(_RESET if reset else _FORGIVE, {"rule_kind": rule.kind, "digest": _key(key)})

    @classmethod
    def _refuse_until(cls, blocked_until: datetime.datetime | None, now: datetime.datetime) -> NoReturn:
        cls._refuse((blocked_until or now) - now)

    @staticmethod
    def _refuse(wait: datetime.timedelta) -> NoReturn:
        seconds = max(int(wait.total_seconds()) + 1, 1)
        raise TooManyRequests(f"Too many attempts; try again in {seconds} seconds.", retry_after=seconds)
