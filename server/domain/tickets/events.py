"""The live ticket events: one ``LISTEN`` per process, fanned out to each ticket's owner and to the staff.

:class:`TicketEventHub` holds one ``LISTEN ticket_events`` connection per process and fans each notification out
to the streams of the ticket's owner (``GET /api/v1/events``) and to every staff stream (the support console's
``/console/events``, which hears every ticket's events). An event marked ``staff_only`` (an assignment: who works on
a ticket is the staff's business) reaches the staff streams alone. PostgreSQL delivers a ``NOTIFY`` only when its
transaction commits, and to every listening process, so the stream is right behind a load balancer too: whichever
process made the change, every process hears it. Missed events (a reconnect, a dropped slow client) are caught up
with ``GET /api/v1/tickets?updated_since=`` (the console re-reads its list).

Streams are bounded per process: an account holds at most :data:`STREAMS_PER_ACCOUNT` (owner and staff streams
together), the process at most ``TECHPAL_MAX_EVENT_STREAMS`` (each open stream costs a socket and a queue for as long
as the client stays); beyond either, 429 ``too_many_streams``. A stream's slot is freed the moment it ends, whichever
way it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

import asyncpg  # type: ignore[import-untyped]  # no stubs; one LISTEN connection
import structlog
from litestar.response import ServerSentEventMessage
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from server.db.transactions import autocommit_connection
from server.domain.tickets.services import EVENTS_CHANNEL
from server.lib.exceptions import TooManyRequests
from server.lib.inflight import InFlight, Slot

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from sqlalchemy.ext.asyncio import AsyncEngine

    from server.domain.accounts import Principal

__all__ = ["STREAMS_PER_ACCOUNT", "Subscription", "TicketEventHub", "owner_events", "staff_events"]

logger = structlog.get_logger(__name__)

KEEPALIVE_SECONDS = 15.0  # well under the desktop's 120 s silence limit and common proxy idle timeouts
SUBSCRIBER_BACKLOG = 256  # a client this far behind is dropped (it reconnects and catches up by updated_since)
_RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0)
STREAMS_PER_ACCOUNT = 5  # a user's devices, with room for a reconnect the server has not noticed yet
# Come back after one keep-alive: by then the streams of signed-out devices have ended.
STREAMS_RETRY_AFTER = int(KEEPALIVE_SECONDS)

EventQueue = asyncio.Queue[dict[str, Any] | None]
_KEEPALIVE: dict[str, Any] = {}  # a quiet spell ended: send a keep-alive (compared by identity)


class Subscription:
    """One open stream: its events (``None``: the stream must end) and its slot in the hub.

    ``account_id`` holds the slot: the ticket owner of an owner stream, the staff member of a ``staff`` stream (which
    hears every ticket's events).
    """

    def __init__(
        self, hub: TicketEventHub, account_id: uuid.UUID, queue: EventQueue, slot: Slot[uuid.UUID], *, staff: bool
    ) -> None:
        self._hub = hub
        self.account_id = account_id
        self.queue = queue
        self.staff = staff
        self._slot = slot

    def close(self) -> None:
        """Stop delivering to this stream and free its slot; again is a no-op."""
        self._hub._unsubscribe(self)
        self._slot.release()

    async def aclose(self) -> None:
        """:meth:`close` as a coroutine, for a response's background task (which runs a plain function in a thread)."""
        self.close()


class TicketEventHub:
    """One ``LISTEN`` connection, started with the first subscriber; owners hear their tickets, staff hear every one."""

    def __init__(self, database_url: str, *, keepalive: float = KEEPALIVE_SECONDS) -> None:
        self._url = database_url
        self.keepalive = keepalive  # seconds between keep-alive comments (and session checks) on a quiet stream
        self._subscribers: dict[uuid.UUID, set[EventQueue]] = {}  # owner streams, by owner
        self._staff: set[EventQueue] = set()  # staff streams: every ticket's events
        self._streams: InFlight[uuid.UUID] = InFlight(STREAMS_PER_ACCOUNT)
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    async def _connect(self) -> asyncpg.Connection:
        # The app's URL as a plain libpq-style DSN, so its query options (socket dir, sslmode…) carry over.
        dsn = make_url(self._url).set(drivername="postgresql").render_as_string(hide_password=False)
        return await asyncpg.connect(dsn, timeout=10)

    def _deliver(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            event = json.loads(payload)
            owner = uuid.UUID(event.pop("owner_id"))
            staff_only = bool(event.pop("staff_only", False))
        except (ValueError, KeyError, TypeError, AttributeError):
            logger.warning("ticket_event_unreadable")
            return
        if not staff_only:
            self._offer(self._subscribers.get(owner, set()), event)
        # Staff hear that something happened, not what was written: reading a message is opening the ticket,
        # which the access log records.
        self._offer(self._staff, {key: value for key, value in event.items() if key != "preview"})

    @staticmethod
    def _offer(queues: set[EventQueue], event: dict[str, Any]) -> None:
        """Queue ``event`` on each stream; a stream too far behind is dropped (told to end) instead."""
        for queue in list(queues):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                queues.discard(queue)
                with contextlib.suppress(asyncio.QueueFull):
                    queue.get_nowait()  # make room for the end-of-stream marker
                    queue.put_nowait(None)

    async def _listen(self) -> None:
        attempt = 0
        while True:
            try:
                connection = await self._connect()
            except (OSError, asyncpg.PostgresError, TimeoutError):
                delay = _RECONNECT_DELAYS[min(attempt, len(_RECONNECT_DELAYS) - 1)]
                attempt += 1
                logger.warning("ticket_events_listen_failed", retry_in=delay)
                await asyncio.sleep(delay)
                continue
            closed = asyncio.Event()
            connection.add_termination_listener(lambda _c, lost=closed: lost.set())
            try:
                await connection.add_listener(EVENTS_CHANNEL, self._deliver)
                attempt = 0
                self._listening.set()
                await closed.wait()
                logger.warning("ticket_events_connection_lost")
            finally:
                self._listening.clear()
                with contextlib.suppress(Exception):
                    await asyncio.shield(connection.close(timeout=5))

    @property
    def open_streams(self) -> int:
        """The streams open in this process now."""
        return self._streams.total

    def open_stream(self, account_id: uuid.UUID, *, max_streams: int, staff: bool = False) -> Subscription:
        """A new stream, counted against ``account_id`` from now until its :meth:`Subscription.close`.

        It carries the events of ``account_id``'s own tickets, or with ``staff`` (for an agent or admin, whose role
        the caller checked) the events of every ticket.

        Raises:
            TooManyRequests: ``too_many_streams`` (``Retry-After``) when the account holds
                :data:`STREAMS_PER_ACCOUNT` streams or the process ``max_streams``.
        """
        slot = self._streams.take(account_id, total=max_streams)
        if slot is None:
            if self._streams.held(account_id) >= STREAMS_PER_ACCOUNT:
                detail = f"This account has {STREAMS_PER_ACCOUNT} event streams open; close one first."
            else:
                detail = "The server holds as many event streams as it can; try again shortly."
            raise TooManyRequests(detail, code="too_many_streams", retry_after=STREAMS_RETRY_AFTER)
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen(), name="ticket-events-listener")
        queue: EventQueue = asyncio.Queue(SUBSCRIBER_BACKLOG)
        (self._staff if staff else self._subscribers.setdefault(account_id, set())).add(queue)
        return Subscription(self, account_id, queue, slot, staff=staff)

    async def listening(self) -> None:
        """Wait until the ``LISTEN`` connection is up, at most 10 s (events flow once it is)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), timeout=10)

    def _unsubscribe(self, stream: Subscription) -> None:
        if stream.staff:
            self._staff.discard(stream.queue)
            return
        queues = self._subscribers.get(stream.account_id, set())
        queues.discard(stream.queue)
        if not queues:
            self._subscribers.pop(stream.account_id, None)

    async def close(self) -> None:
        """Stop listening and end every open stream."""
        for queues in (*self._subscribers.values(), self._staff):
            for queue in queues:
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(None)
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener


_SESSION_LIVE = text("SELECT 1 FROM user_sessions WHERE id = :id AND revoked_at IS NULL")
# A staff stream also ends when its account is no longer an agent or admin.
_STAFF_SESSION_LIVE = text(
    "SELECT 1 FROM user_sessions JOIN users ON users.id = user_sessions.user_id "
    "WHERE user_sessions.id = :id AND user_sessions.revoked_at IS NULL AND users.role IN ('agent', 'admin')"
)


async def _session_live(engine: AsyncEngine, session_id: uuid.UUID, *, staff: bool = False) -> bool:
    """Whether the session is still signed in (and, for ``staff``, still an agent's or admin's).

    ``False`` too when the database cannot say (the client reconnects).
    """
    try:
        async with autocommit_connection(engine) as connection:
            check = _STAFF_SESSION_LIVE if staff else _SESSION_LIVE
            return (await connection.execute(check, {"id": session_id})).first() is not None
    except (SQLAlchemyError, OSError):
        logger.warning("ticket_events_session_check_failed", exc_info=True)
        return False


def owner_events(
    hub: TicketEventHub, stream: Subscription, principal: Principal, engine: AsyncEngine
) -> AsyncIterator[ServerSentEventMessage]:
    """The events of ``stream`` (opened for ``principal``); ends when the hub closes or the session ends.

    The session is checked at every keep-alive, so a revoked device stops hearing within 15 s. However the stream
    ends (the client hanging up included), its slot is freed then.
    """
    return _events(hub, stream, principal, engine)


def staff_events(
    hub: TicketEventHub, stream: Subscription, principal: Principal, engine: AsyncEngine
) -> AsyncIterator[ServerSentEventMessage]:
    """Every ticket's events on a ``staff`` stream; ends like :func:`owner_events`, or when the role is taken away."""
    if not stream.staff:
        raise ValueError("open the stream with staff=True")
    return _events(hub, stream, principal, engine)


async def _events(
    hub: TicketEventHub, stream: Subscription, principal: Principal, engine: AsyncEngine
) -> AsyncIterator[ServerSentEventMessage]:
    try:
        await hub.listening()
        yield ServerSentEventMessage(comment="listening", data=None, retry=3000)
        checked = time.monotonic()
        while True:
            try:
                event = await asyncio.wait_for(stream.queue.get(), timeout=hub.keepalive)
            except TimeoutError:
                event = _KEEPALIVE
            # On a clock, not only in quiet spells: a staff stream hears every ticket and may never fall silent.
            if time.monotonic() - checked >= hub.keepalive:
                if not await _session_live(engine, principal.session, staff=stream.staff):
                    return
                checked = time.monotonic()
            if event is _KEEPALIVE:
                yield ServerSentEventMessage(comment="keep-alive", data=None)
            elif event is None:
                return
            else:
                yield ServerSentEventMessage(event=str(event.get("kind", "changed")), data=json.dumps(event))
    finally:
        stream.close()
