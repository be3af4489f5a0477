"""Resolution runs that outlive their HTTP request.

A run is a task of its own: it feeds the SSE response through a queue and stores the assistant message once,
complete, when the answer is done. A client that disconnects mid-answer only stops reading; the run finishes, the
answer is on the ticket, and the quota is settled (counted only when a model answered).

One answer per ticket at a time, across every server process: a run holds the ticket's row in ``resolution_leases``
from before anything is stored or reserved until it ends. A lease whose process died ends by itself after
:data:`LEASE` (longer than any answer: the model call times out well before).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
import structlog
from litestar.response import ServerSentEventMessage
from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert

from server.db.models import resolution_leases
from server.db.transactions import autocommit_connection, session_of_its_own
from server.domain.resolution.schemas import EVENT_NAMES, Outcome
from server.domain.tickets import RETRIEVAL_ONLY_MODEL, BlobStorage, MessageUsage, TicketService
from server.lib.exceptions import Conflict

if TYPE_CHECKING:
    import uuid
    from collections.abc import AsyncIterator, Awaitable, Callable

    from sqlalchemy.ext.asyncio import AsyncEngine

    from server.domain.billing import Reservation
    from server.domain.resolution.engine import ResolutionInput, Resolver
    from server.domain.resolution.prompt import Passage
    from server.domain.resolution.schemas import Progress

    # Runs before the answer: gets a way to stream progress events, returns the request to answer.
    Preparation = Callable[[Callable[[Progress], None]], Awaitable[ResolutionInput]]

__all__ = ["ResolutionRuns", "RunTarget"]

logger = structlog.get_logger(__name__)

SHUTDOWN_GRACE_SECONDS = 30.0
LEASE = datetime.timedelta(minutes=10)
_END = object()


@dataclass(frozen=True, slots=True)
class RunTarget:
    """Where a run's answer is stored."""

    ticket_id: uuid.UUID
    first_answer: bool  # the first resolve (triage applies) rather than a follow-up


class ResolutionRuns:
    """The process's running resolutions: at most one per ticket, each finished even if its client leaves."""

    def __init__(self, engine: AsyncEngine, storage: BlobStorage) -> None:
        self._engine = engine
        self._storage = storage
        self._running: dict[uuid.UUID, asyncio.Task[None]] = {}

    async def claim(self, ticket_id: uuid.UUID) -> None:
        """Take the ticket's lease, or raise 409 ``resolution_in_progress`` while an answer to it is being written.

        Call :meth:`start` next, or :meth:`release` if the run does not start.
        """
        leases = resolution_leases.c
        expires_at = func.now() + LEASE
        statement = (
            insert(resolution_leases)
            .values(ticket_id=ticket_id, expires_at=expires_at)
            .on_conflict_do_update(
                index_elements=[leases.ticket_id],
                set_={"expires_at": expires_at},
                where=leases.expires_at <= func.now(),
            )
            .returning(leases.ticket_id)
        )
        async with autocommit_connection(self._engine) as conn:
            if (await conn.execute(statement)).first() is None:
                raise Conflict("An answer to this ticket is still being written.", code="resolution_in_progress")

    async def release(self, ticket_id: uuid.UUID) -> None:
        """Give the ticket's lease back (the run ended, or never started)."""
        async with autocommit_connection(self._engine) as conn:
            await conn.execute(delete(resolution_leases).where(resolution_leases.c.ticket_id == ticket_id))

    def start(
        self,
        resolver: Resolver,
        request: ResolutionInput,
        target: RunTarget,
        reservation: Reservation | None,
        *,
        found: asyncio.Task[list[Passage]] | None = None,
        prepare: Preparation | None = None,
    ) -> AsyncIterator[ServerSentEventMessage]:
        """Start the run (on the search ``found`` if one is under way) and return its event stream.

        ``prepare``, when given, runs first and returns the request to answer (it may stream ``progress`` events
        through the callable it receives meanwhile). The ticket's lease must be :meth:`claim`-ed; the run gives it
        back when it ends.
        """
        queue: asyncio.Queue[Any] = asyncio.Queue()
        run = self._run(resolver, request, target, reservation, queue, found=found, prepare=prepare)
        task = asyncio.create_task(run)
        self._running[target.ticket_id] = task
        task.add_done_callback(lambda _t: self._running.pop(target.ticket_id, None))
        return _drain(queue)

    async def _run(
        self,
        resolver: Resolver,
        request: ResolutionInput,
        target: RunTarget,
        reservation: Reservation | None,
        queue: asyncio.Queue[Any],
        *,
        found: asyncio.Task[list[Passage]] | None,
        prepare: Preparation | None,
    ) -> None:
        counted = released = False
        try:
            if prepare is not None:

                def emit(item: Progress) -> None:
                    queue.put_nowait(_message(EVENT_NAMES[type(item)], msgspec.to_builtins(item)))

                request = await prepare(emit)
            async for item in resolver.run(request, found):
                if isinstance(item, Outcome):
                    message_id = await self._store(target, item)
                    if reservation is not None and item.model_answered:
                        await reservation.keep()
                        counted = True
                    await self.release(target.ticket_id)  # before "done": a follow-up may come the moment it arrives
                    released = True
                    queue.put_nowait(_message("done", {"message_id": str(message_id)}))
                else:
                    queue.put_nowait(_message(EVENT_NAMES[type(item)], msgspec.to_builtins(item)))
        except Exception:
            logger.exception("resolution_failed", ticket_id=str(target.ticket_id))
            queue.put_nowait(
                _message("error", {"code": "resolution_failed", "message": "Something went wrong on our side."})
            )
        finally:
            if reservation is not None and not counted:
                await asyncio.shield(reservation.release())
            if not released:
                await asyncio.shield(self.release(target.ticket_id))
            queue.put_nowait(_END)

    async def _store(self, target: RunTarget, outcome: Outcome) -> uuid.UUID:
        """Store the answer (and the triage of a first answer) in one transaction; the ticket becomes answered."""
        async with session_of_its_own(self._engine) as db:  # the run outlives its request
            tickets = TicketService(db, storage=self._storage)
            ticket = await tickets.get_for_staff(target.ticket_id, lock=True)
            usage = outcome.usage
            message = await tickets.append_message(
                ticket,
                role="assistant",
                content=outcome.content,
                citations=[msgspec.to_builtins(c) for c in outcome.citations],
                usage=MessageUsage(
                    usage.model or RETRIEVAL_ONLY_MODEL, usage.tokens_in, usage.tokens_out, usage.latency_ms
                ),
            )
            if target.first_answer and outcome.triage is not None:
                await tickets.triage(
                    ticket,
                    category=outcome.triage.category,  # type: ignore[arg-type]  # checked by the triage step
                    priority=outcome.triage.priority,  # type: ignore[arg-type]
                    source="ai" if outcome.triage.category_by_ai or outcome.triage.priority_by_ai else "rules",
                )
            if ticket.status in {"open", "resolved"}:
                await tickets.change(ticket, actor="ai", status="answered")
        return message.id

    async def close(self) -> None:
        """Let running answers finish (they are stored), then cancel what is left."""
        tasks = list(self._running.values())
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_SECONDS)
            for task in pending:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*pending, return_exceptions=True)


def _message(event: str, data: Any) -> ServerSentEventMessage:
    return ServerSentEventMessage(event=event, data=msgspec.json.encode(data).decode())


async def _drain(queue: asyncio.Queue[Any]) -> AsyncIterator[ServerSentEventMessage]:
    """The SSE side of a run: stops when the run ends; if the client leaves, only this generator is cancelled."""
    while (item := await queue.get()) is not _END:
        yield item
