"""The usage log of API keys: one row per request made with a key, written in batches off the request path.

A finished request is appended to an in-memory buffer (no I/O on the request); a background task writes the buffer
every second, or as soon as it holds :data:`BATCH` rows, in one ``INSERT … SELECT FROM unnest(…)`` (one statement
per batch, not one per row) and moves each key's ``last_used_at`` in the same transaction, also in one statement.
At shutdown the buffer is written once more. What a process that is killed outright still held — at most a second
of calls — is lost: the log serves the owner's overview and security review, not billing. A failed write leaves the
rows in the buffer for the next round; the buffer is bounded, and past :data:`MAX_BUFFERED` rows (the database away
for a long time) the oldest are dropped and counted in a warning. ``last_used_at`` moves by a minute or more at a
time: a key in constant use is not rewritten every second.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import text

from server.db.transactions import transaction_of_its_own
from server.lib.clock import Clock, utcnow

if TYPE_CHECKING:
    import datetime
    import uuid

    from sqlalchemy.ext.asyncio import AsyncEngine

    from server.lib.metering import FinishedRequest, RequestMeter

__all__ = ["BATCH", "MAX_BUFFERED", "UsageLog"]

logger = structlog.get_logger(__name__)

BATCH = 500
MAX_BUFFERED = 100_000
FLUSH_INTERVAL_S = 1.0

# One statement per batch, whatever its size: the rows travel as one array per column.
_INSERT = text(
    "INSERT INTO api_key_usage (key_id, at, method, route, status, duration_ms) "
    "SELECT * FROM unnest(CAST(:key_id AS uuid[]), CAST(:at AS timestamptz[]), CAST(:method AS text[]), "
    "CAST(:route AS text[]), CAST(:status AS smallint[]), CAST(:duration_ms AS integer[]))"
)
_TOUCH = text(
    "UPDATE api_keys SET last_used_at = used.at "
    "FROM unnest(CAST(:key_id AS uuid[]), CAST(:at AS timestamptz[])) AS used(key_id, at) "
    "WHERE api_keys.id = used.key_id "
    "AND (api_keys.last_used_at IS NULL OR api_keys.last_used_at < used.at - interval '1 minute')"
)
_COLUMNS = ("key_id", "at", "method", "route", "status", "duration_ms")


class UsageLog:
    """The buffer of finished API-key requests and the task that writes it."""

    def __init__(self, engine: AsyncEngine, clock: Clock = utcnow, *, interval: float = FLUSH_INTERVAL_S) -> None:
        self.engine = engine
        self.clock = clock
        self.interval = interval
        self._rows: collections.deque[dict[str, Any]] = collections.deque()
        self._dropped = 0
        self._full = asyncio.Event()
        self._writing = asyncio.Lock()

    def record(self, meter: RequestMeter, finished: FinishedRequest) -> None:
        """Append one finished request made with an API key (the metering middleware's callback)."""
        if meter.api_key_id is None:
            return
        if len(self._rows) >= MAX_BUFFERED:
            self._rows.popleft()
            self._dropped += 1
        self._rows.append(
            {
                "key_id": meter.api_key_id,
                "at": self.clock(),
                "method": finished.method[:8],
                "route": finished.route,
                "status": finished.status,
                "duration_ms": min(finished.duration_ms, 2**31 - 1),
            }
        )
        if len(self._rows) >= BATCH:
            self._full.set()

    async def flush(self) -> int:
        """Write what is buffered now; how many rows. On failure the rows go back to the front of the buffer."""
        async with self._writing:
            rows = list(self._rows)
            self._rows.clear()
            self._full.clear()
            if not rows:
                return 0
            try:
                await self._write(rows)
            except Exception:
                self._rows.extendleft(reversed(rows))
                raise
            if self._dropped:
                logger.warning("api_key_usage_dropped", rows=self._dropped)
                self._dropped = 0
            return len(rows)

    async def _write(self, rows: list[dict[str, Any]]) -> None:
        latest: dict[uuid.UUID, datetime.datetime] = {}
        for row in rows:
            latest[row["key_id"]] = max(latest.get(row["key_id"], row["at"]), row["at"])
        async with transaction_of_its_own(self.engine) as conn:
            await conn.execute(_INSERT, {column: [row[column] for row in rows] for column in _COLUMNS})
            await conn.execute(_TOUCH, {"key_id": list(latest), "at": list(latest.values())})

    async def stop(self, writer: asyncio.Task[None]) -> None:
        """Cancel ``writer`` (the :meth:`keep_writing` task), then write what is left."""
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        try:
            await self.flush()
        except Exception:
            logger.warning("api_key_usage_write_failed", exc_info=True)

    async def keep_writing(self) -> None:
        """Flush every ``interval`` seconds or when a batch is full; runs until cancelled."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), timeout=self.interval)
            try:
                await self.flush()
            except Exception:  # the database may be away for a moment: the rows wait for the next round
                logger.warning("api_key_usage_write_failed", exc_info=True)
