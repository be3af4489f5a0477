"""The usage log of API keys: one row per request made with a key, written in batches off the request path.

A finished request is appended to an in-memory buffer (no I/O on the request); a background task writes the buffer
every second, or as soon as it holds :data:`BATCH` rows, in one multi-row ``INSERT`` and moves each key's
``last_used_at`` in the same transaction. At shutdown the buffer is written once more. What a process that is killed
outright still held — at most a second of calls — is lost: the log serves the owner's overview and security review,
not billing. A failed write leaves the rows in the buffer for the next round; the buffer is bounded, and past
:data:`MAX_BUFFERED` rows (the database away for a long time) the oldest are dropped and counted in a warning. Rows
of a key deleted meanwhile (its account purged) are dropped, so they cannot block the others.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from server.db.models import ApiKey, api_key_usage
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

_INSERT = insert(api_key_usage)
_TOUCH = (
    update(ApiKey)
    .where(ApiKey.id == bindparam("key_id"), (ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at < bindparam("at")))
    .values(last_used_at=bindparam("at"))
    .execution_options(synchronize_session=False)
)


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
                try:
                    await self._write(rows)
                except IntegrityError:  # a key purged meanwhile (with its account): its rows have nowhere to go
                    rows = await self._of_existing_keys(rows)
                    if rows:
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
            await conn.execute(_INSERT, rows)
            await conn.execute(_TOUCH, [{"key_id": key, "at": at} for key, at in latest.items()])

    async def _of_existing_keys(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        async with transaction_of_its_own(self.engine) as conn:
            existing = set(
                (await conn.execute(select(ApiKey.id).where(ApiKey.id.in_({r["key_id"] for r in rows})))).scalars()
            )
        kept = [row for row in rows if row["key_id"] in existing]
        logger.warning("api_key_usage_discarded", rows=len(rows) - len(kept))
        return kept

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
