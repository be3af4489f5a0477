"""Ticket use cases: create (idempotent, screenshots stored all-or-nothing), read, list, and the changes the AI,
the feedback and the agents make.

Every change of status, priority or category goes through :meth:`TicketService.change`, and every message through
:meth:`TicketService.append_message`: each writes its history row, moves ``updated_at`` and sends
``NOTIFY ticket_events`` in the same transaction, so a listener (the SSE stream, in any process) hears about a
change exactly when it is committed. Except :meth:`TicketService.create`, nothing here commits: the caller owns the
transaction (the request's session is committed by the plugin after a 2xx).

Screenshot blobs are content-addressed and may be shared by tickets. Storing and deleting them takes a
transaction-scoped advisory lock per blob, so a failed request's clean-up can never delete a blob that a
concurrent request is about to reference.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import structlog

# The same generator the models' primary keys use (UUIDv7 with uuid-utils installed, else UUIDv4).
from advanced_alchemy.mixins.uuid import uuid7  # type: ignore[attr-defined]
from sqlalchemy import ColumnElement, Select, Table, Text, bindparam, func, insert, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload, selectinload

from server.db.models import (
    Actor,
    Category,
    FieldSource,
    MessageRole,
    Priority,
    Status,
    Ticket,
    TicketHistory,
    TicketMessage,
    TicketScreenshot,
    User,
)
from server.domain.tickets.idempotency import claim_key, find_live_key, key_reused
from server.domain.tickets.images import ProcessedImage, ScreenshotProcessor
from server.domain.tickets.storage import BlobStorage
from server.domain.tickets.upload import TicketDraft
from server.lib.exceptions import Conflict, NotFound
from server.lib.ratelimit import utcnow

__all__ = [
    "EVENTS_CHANNEL",
    "STAFF_ROLES",
    "CreatedTicket",
    "MessageUsage",
    "ModelScreenshot",
    "TicketService",
]

logger = structlog.get_logger(__name__)

EVENTS_CHANNEL = "ticket_events"
STAFF_ROLES = frozenset({"agent", "admin"})
# Advisory-lock class for blob keys (the two-int form keeps these apart from other advisory locks): "tpbl".
_BLOB_LOCK_CLASS = 0x7470626C
_SCREENSHOTS = cast("Table", TicketScreenshot.__table__)
_SOURCE_OF_ACTOR: dict[str, FieldSource] = {"user": "user", "agent": "agent", "ai": "ai", "system": "rules"}
# A ticket's first history row: the user opened it.
_BORN: dict[str, Any] = {"actor": "user", "field": "status", "new_value": "open"}


@dataclass(frozen=True, slots=True)
class CreatedTicket:
    """The outcome of a create: the ticket (with its relations loaded) and whether it was an idempotent replay.

    A new ticket is built in memory, not loaded through the session: to change it, load it with
    :meth:`TicketService.get`."""

    ticket: Ticket
    replayed: bool


@dataclass(frozen=True, slots=True)
class MessageUsage:
    """What an assistant message cost: recorded per message for cost reports and quotas."""

    model: str
    tokens_in: int | None = None
    tokens_out: int | None = None
    latency_ms: int | None = None


@dataclass(frozen=True, slots=True)
class ModelScreenshot:
    """A screenshot as the resolver uses it: the downscaled copy (long side ≤ 1568 px) and its OCR text."""

    index: int
    data: bytes
    media_type: str
    ocr_text: str


def _blob_lock_id(key: str) -> int:
    return int.from_bytes(bytes.fromhex(key)[:4], "big", signed=True)


def _loaded(query: Select[Ticket], *, history: bool = True) -> Select[Ticket]:
    # Without history, reading it raises instead of loading it lazily (which async sessions cannot do anyway).
    return query.options(
        selectinload(Ticket.messages),
        selectinload(Ticket.screenshots),
        selectinload(Ticket.history) if history else raiseload(Ticket.history),
    )


def screenshot_count() -> ColumnElement[int]:
    """A correlated count of a ticket's screenshots, for list queries."""
    return (
        select(func.count())
        .select_from(TicketScreenshot)
        .where(TicketScreenshot.ticket_id == Ticket.id)
        .correlate(Ticket)
        .scalar_subquery()
    )


def _notice(ticket_id: uuid.UUID, owner_id: uuid.UUID, kind: str, **data: Any) -> str:
    """The JSON payload of a ``ticket_events`` notification."""
    return json.dumps({"ticket_id": str(ticket_id), "owner_id": str(owner_id), "kind": kind, **data}, default=str)


def _create_ticket_statement() -> Select[Any]:
    """``INSERT`` the ticket and its first history row and ``NOTIFY`` its creation, as one statement (one round trip)
    built once. Bind parameters: ``ticket_<column>`` for the ticket's columns (not the bare names: an INSERT takes
    parameters named like its table's columns as extra values) and ``notice``."""
    tickets = cast("Table", Ticket.__table__)
    history = cast("Table", TicketHistory.__table__)
    columns = ("id", "owner_id", "description", "priority", "priority_source", "category", "category_source",
               "status", "device", "created_at", "updated_at")  # fmt: skip
    ticket = insert(tickets).values({name: bindparam(f"ticket_{name}", type_=tickets.c[name].type) for name in columns})
    born = insert(history).values(
        ticket_id=bindparam("ticket_id", type_=history.c.ticket_id.type),
        at=bindparam("ticket_created_at", type_=history.c.at.type),
        actor_id=bindparam("ticket_owner_id", type_=history.c.actor_id.type),
        **{name: literal(value, history.c[name].type) for name, value in _BORN.items()},
    )
    notify = select(func.pg_notify(EVENTS_CHANNEL, bindparam("notice", type_=Text())))
    return notify.add_cte(ticket.cte("new_ticket"), born.cte("born"))


_CREATE_TICKET = _create_ticket_statement()


class TicketService:
    """Ticket use cases on one database session."""

    def __init__(self, db: AsyncSession, *, storage: BlobStorage, processor: ScreenshotProcessor | None = None) -> None:
        self.db = db
        self.storage = storage
        self.processor = processor

    # ------------------------------------------------------------------------------------------ create
    async def create(self, owner: User, draft: TicketDraft, *, idempotency_key: str | None = None) -> CreatedTicket:
        """Create a ticket from a validated form; commits.

        With ``idempotency_key``, a repeat of the same request (also a concurrent one) returns the first ticket
        (``replayed``), a different request under the same key raises 422 ``idempotency_key_reused``. Any rejected
        screenshot raises its 4xx before anything is stored; if storing fails, no row and no new blob remains.
        """
        if idempotency_key is None and not draft.screenshots:
            # One statement, atomic on its own: it runs on the session's connection as it is (the create route's,
            # in autocommit after the sign-in lookup: no BEGIN/COMMIT round trips).
            ticket = await self._insert_ticket(uuid7(), owner, draft, [], [])
            await self.db.commit()
            return CreatedTicket(ticket, replayed=False)
        # The rest runs in transactions of its own (key claims and blob locks hold until the end of one).
        await self.db.commit()
        fingerprint = "" if idempotency_key is None else draft.fingerprint()  # hashes the uploads: keyed requests only
        if idempotency_key is not None:
            # Cheap early answer for a plain retry: no image work, nothing stored.
            live = await find_live_key(self.db, owner.id, idempotency_key)
            if live is not None:
                return await self._replay(owner, live.fingerprint, live.ticket_id, fingerprint)
        if draft.screenshots:
            await self.db.commit()  # no connection is held while the screenshots are read (seconds, with OCR)
        images = await self._process(draft.screenshots)
        ticket_id = uuid7()
        if idempotency_key is not None:
            existing = await claim_key(self.db, owner.id, idempotency_key, fingerprint, ticket_id)
            if existing is not None:
                await self.db.rollback()
                return await self._replay(owner, existing.fingerprint, existing.ticket_id, fingerprint)
        blob_keys = await self._store_blobs(images)
        try:
            ticket = await self._insert_ticket(ticket_id, owner, draft, images, blob_keys)
            await self.db.commit()
        except BaseException:
            await self.db.rollback()
            await asyncio.shield(self._delete_unreferenced(blob_keys))
            raise
        return CreatedTicket(ticket, replayed=False)

    async def _replay(self, owner: User, stored: str, ticket_id: uuid.UUID, fingerprint: str) -> CreatedTicket:
        if stored != fingerprint:
            raise key_reused()
        return CreatedTicket(await self.get(ticket_id, owner), replayed=True)

    async def _process(self, screenshots: Sequence[bytes]) -> list[ProcessedImage]:
        if not screenshots:
            return []
        if self.processor is None:
            raise RuntimeError("TicketService needs a ScreenshotProcessor to create tickets with screenshots")
        # One at a time: the processor's worker pool is shared by every request; a rejection stops the rest.
        return [await self.processor.process(raw, index=index) for index, raw in enumerate(screenshots)]

    async def _store_blobs(self, images: Sequence[ProcessedImage]) -> list[tuple[str, str]]:
        """Put each image and its model copy under the blob locks, held until the rows commit."""
        if not images:
            return []
        digests = {hashlib.sha256(blob).hexdigest() for image in images for blob in (image.data, image.model_copy)}
        await self._lock_blobs(digests)
        keys: list[tuple[str, str]] = []
        stored: list[str] = []
        try:
            for image in images:
                data_key = await self.storage.put(image.data, media_type=image.media_type)
                stored.append(data_key)
                model_key = await self.storage.put(image.model_copy, media_type=image.model_media_type)
                stored.append(model_key)
                keys.append((data_key, model_key))
        except BaseException:
            await self.db.rollback()
            await asyncio.shield(self._delete_unreferenced([(key, key) for key in stored]))
            raise
        return keys

    async def _lock_blobs(self, keys: Iterable[str]) -> None:
        # Ascending lock ids, one order everywhere: requests sharing blobs cannot deadlock.
        for lock_id in sorted({_blob_lock_id(key) for key in keys}):
            await self.db.execute(
                text("SELECT pg_advisory_xact_lock(:class_id, :key_id)"),
                {"class_id": _BLOB_LOCK_CLASS, "key_id": lock_id},
            )

    async def _delete_unreferenced(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Delete the blobs of a failed create that no screenshot row names (they may be shared)."""
        keys = {key for pair in pairs for key in pair}
        if not keys:
            return
        try:
            await self._lock_blobs(keys)
            referenced = set(
                await self.db.scalars(
                    select(TicketScreenshot.blob_key)
                    .where(TicketScreenshot.blob_key.in_(keys))
                    .union(select(TicketScreenshot.model_blob_key).where(TicketScreenshot.model_blob_key.in_(keys)))
                )
            )
            for key in keys - referenced:
                await self.storage.delete(key)
            await self.db.commit()
        except Exception:
            await self.db.rollback()
            logger.warning("blob_cleanup_failed", keys=sorted(keys), exc_info=True)

    async def _insert_ticket(
        self,
        ticket_id: uuid.UUID,
        owner: User,
        draft: TicketDraft,
        images: Sequence[ProcessedImage],
        blob_keys: Sequence[tuple[str, str]],
    ) -> Ticket:
        """Insert the ticket, its first history row and the ``created`` NOTIFY in one statement, then the screenshot
        rows; return the ticket built in memory with its collections complete, so the answer needs no reload."""
        now = utcnow()
        row = {
            "id": ticket_id,
            "owner_id": owner.id,
            "description": draft.description,
            "priority": draft.priority or "normal",
            "priority_source": "user" if draft.priority else None,
            "category": draft.category,
            "category_source": "user" if draft.category else None,
            "status": "open",
            "device": draft.device,
            "created_at": now,
            "updated_at": now,
        }
        shots = [
            {
                "id": uuid7(),
                "ticket_id": ticket_id,
                "position": position,
                "blob_key": data_key,
                "media_type": image.media_type,
                "width": image.width,
                "height": image.height,
                "size_bytes": len(image.data),
                "model_blob_key": model_key,
                "model_media_type": image.model_media_type,
                "ocr_text": image.ocr_text,
                "created_at": now,
                "updated_at": now,
            }
            for position, (image, (data_key, model_key)) in enumerate(zip(images, blob_keys, strict=True))
        ]
        notice = _notice(ticket_id, owner.id, "created", changes=[{"field": "status", "from": None, "to": "open"}])
        connection = await self.db.connection()
        await connection.execute(_CREATE_TICKET, {**{f"ticket_{k}": v for k, v in row.items()}, "notice": notice})
        if shots:
            await connection.execute(insert(_SCREENSHOTS), shots)
        born = TicketHistory(ticket_id=ticket_id, at=now, actor_id=owner.id, **_BORN)
        screenshots = [TicketScreenshot(**shot) for shot in shots]
        return Ticket(**row, messages=[], screenshots=screenshots, history=[born])

    # ------------------------------------------------------------------------------------------ reading
    async def _load(self, ticket_id: uuid.UUID, *, lock: bool = False, history: bool = True) -> Ticket:
        query = _loaded(select(Ticket).where(Ticket.id == ticket_id), history=history)
        query = query.execution_options(populate_existing=True)
        if lock:  # changes of one ticket queue up behind each other until the caller commits
            query = query.with_for_update(of=Ticket)
        ticket: Ticket | None = (await self.db.execute(query)).scalar_one_or_none()
        if ticket is None:
            raise NotFound("There is no such ticket.", code="ticket_not_found")
        return ticket

    async def get(
        self,
        ticket_id: uuid.UUID,
        viewer: User,
        *,
        staff_may_see: bool = False,
        lock: bool = False,
        history: bool = True,
    ) -> Ticket:
        """The ticket with messages, screenshots and (unless ``history=False``) history if ``viewer`` owns it (or,
        with ``staff_may_see``, is an agent or admin); otherwise the same 404 as for a ticket that does not exist.
        """
        ticket = await self._load(ticket_id, lock=lock, history=history)
        allowed = ticket.owner_id == viewer.id or (staff_may_see and viewer.role in STAFF_ROLES)
        if not allowed:
            raise NotFound("There is no such ticket.", code="ticket_not_found")
        return ticket

    async def list_own(
        self, owner_id: uuid.UUID, *, limit: int, offset: int, updated_since: datetime.datetime | None = None
    ) -> tuple[list[tuple[Ticket, int]], int]:
        """The owner's tickets newest first (``created_at``), with screenshot counts, and the total that match."""
        where: list[ColumnElement[bool]] = [Ticket.owner_id == owner_id]
        if updated_since is not None:
            where.append(Ticket.updated_at > updated_since)
        return await self._page(where, limit=limit, offset=offset, order=[Ticket.created_at.desc(), Ticket.id.desc()])

    async def list_by_status(
        self, statuses: Iterable[Status], *, limit: int, offset: int
    ) -> tuple[list[tuple[Ticket, int]], int]:
        """Everyone's tickets in ``statuses``, longest-waiting first (``updated_at``): the agents' queue."""
        where: list[ColumnElement[bool]] = [Ticket.status.in_(list(statuses))]
        return await self._page(where, limit=limit, offset=offset, order=[Ticket.updated_at.asc(), Ticket.id.asc()])

    async def _page(
        self, where: list[ColumnElement[bool]], *, limit: int, offset: int, order: list[Any]
    ) -> tuple[list[tuple[Ticket, int]], int]:
        total = await self.db.scalar(select(func.count()).select_from(Ticket).where(*where)) or 0
        rows = await self.db.execute(
            select(Ticket, screenshot_count()).where(*where).order_by(*order).limit(limit).offset(offset)
        )
        return [(row[0], int(row[1])) for row in rows], int(total)

    async def screenshot(self, ticket: Ticket, index: int) -> tuple[bytes, str]:
        """The stored (sanitised) bytes of screenshot ``index`` and its media type; 404 if there is none."""
        shot = self._shot(ticket, index)
        return await self.storage.get(shot.blob_key), shot.media_type

    async def model_screenshots(self, ticket: Ticket) -> list[ModelScreenshot]:
        """Every screenshot's model copy and OCR text, in order (``ticket`` loaded by :meth:`get`)."""
        return [
            ModelScreenshot(
                shot.position, await self.storage.get(shot.model_blob_key), shot.model_media_type, shot.ocr_text or ""
            )
            for shot in ticket.screenshots
        ]

    @staticmethod
    def _shot(ticket: Ticket, index: int) -> TicketScreenshot:
        for shot in ticket.screenshots:
            if shot.position == index:
                return shot
        raise NotFound("This ticket has no screenshot with that number.", code="screenshot_not_found")

    # ------------------------------------------------------------------------------------------ changes
    async def append_message(
        self,
        ticket: Ticket,
        *,
        role: MessageRole,
        content: str,
        author_id: uuid.UUID | None = None,
        citations: Sequence[dict[str, Any]] = (),
        usage: MessageUsage | None = None,
    ) -> TicketMessage:
        """Add a message (``user``, ``assistant`` or ``agent``) and move the ticket's ``updated_at``; no commit.

        ``citations`` are stored as given (JSON objects: ``article_id``, ``source_id``, ``title``, ``source_url``).
        """
        self._require_loaded(ticket)
        message = TicketMessage(
            id=uuid7(),
            ticket_id=ticket.id,
            role=role,
            author_id=author_id,
            content=content,
            citations=list(citations),
            model=usage.model if usage else None,
            tokens_in=usage.tokens_in if usage else None,
            tokens_out=usage.tokens_out if usage else None,
            latency_ms=usage.latency_ms if usage else None,
        )
        self.db.add(message)
        ticket.updated_at = utcnow()
        # A short preview lets the desktop notify ("An agent replied: …") without fetching the ticket.
        await self._notify(
            ticket.id, ticket.owner_id, "message", message_id=message.id, role=role, preview=content[:280]
        )
        await self.db.flush()
        return message

    async def change(
        self,
        ticket: Ticket,
        *,
        actor: Actor,
        actor_id: uuid.UUID | None = None,
        status: Status | None = None,
        priority: Priority | None = None,
        category: Category | None = None,
        source: FieldSource | None = None,
    ) -> list[TicketHistory]:
        """The one way to change status, priority or category: history rows, ``updated_at``, NOTIFY; no commit.

        ``source`` records who chose a priority/category (``user``, ``ai``, ``rules``, ``agent``); it defaults
        from ``actor``. Fields that already hold the new value are skipped; the history rows written are returned.
        """
        self._require_loaded(ticket)
        field_source: str = source or _SOURCE_OF_ACTOR[actor]
        now = utcnow()
        written: list[TicketHistory] = []
        for field, new in (("status", status), ("priority", priority), ("category", category)):
            if new is None or getattr(ticket, field) == new:
                continue
            old = getattr(ticket, field)
            setattr(ticket, field, new)
            if field != "status":
                setattr(ticket, f"{field}_source", field_source)
            entry = TicketHistory(
                ticket_id=ticket.id, at=now, actor=actor, actor_id=actor_id, field=field, old_value=old, new_value=new
            )
            self.db.add(entry)
            written.append(entry)
        if written:
            ticket.updated_at = now
            changes = [{"field": e.field, "from": e.old_value, "to": e.new_value} for e in written]
            await self._notify(ticket.id, ticket.owner_id, "changed", changes=changes)
            await self.db.flush()
        return written

    async def triage(
        self,
        ticket: Ticket,
        *,
        category: Category | None,
        priority: Priority | None,
        source: FieldSource,
    ) -> list[TicketHistory]:
        """Set what the AI or the rules chose, except the fields the user chose (their choice always wins)."""
        return await self.change(
            ticket,
            actor="ai" if source == "ai" else "system",
            category=category if ticket.category_source != "user" else None,
            priority=priority if ticket.priority_source != "user" else None,
            source=source,
        )

    def _require_loaded(self, ticket: Ticket) -> None:
        # A ticket outside this session (the one create() returns) would take the history rows but not its own
        # changes: refuse rather than store half a change.
        if ticket not in self.db:
            raise ValueError("load the ticket with TicketService.get() before changing it")

    async def _notify(self, ticket_id: uuid.UUID, owner_id: uuid.UUID, kind: str, **data: Any) -> None:
        """``NOTIFY ticket_events`` with a small JSON payload; PostgreSQL delivers it at commit, never on rollback."""
        await self.db.execute(select(func.pg_notify(EVENTS_CHANNEL, _notice(ticket_id, owner_id, kind, **data))))

    async def record_feedback(self, ticket: Ticket, *, resolved: bool, comment: str | None) -> bool:
        """The owner says whether the answer worked: ``resolved`` or ``escalated`` (to the agents); no commit.

        Returns whether the ticket became resolved just now (a repeated "fixed it" changes nothing and returns
        ``False``, so the fix reaches the knowledge base once). Load ``ticket`` with ``lock=True``.

        Raises:
            Conflict: ``not_answered`` before any answer, ``ticket_closed`` once closed.
        """
        if resolved and ticket.status == "resolved":
            return False
        if ticket.status == "closed":
            raise Conflict("This ticket is closed.", code="ticket_closed")
        if not any(m.role in {"assistant", "agent"} for m in ticket.messages):
            raise Conflict("There is no answer to give feedback on yet.", code="not_answered")
        self.db.add(
            TicketHistory(
                ticket_id=ticket.id,
                at=utcnow(),
                actor="user",
                actor_id=ticket.owner_id,
                field="feedback",
                new_value={"resolved": resolved, "comment": comment},
            )
        )
        status: Status = "resolved" if resolved else "escalated"
        await self.change(ticket, actor="user", actor_id=ticket.owner_id, status=status)
        return resolved

    # ------------------------------------------------------------------------------------------ helpers for agents
    async def get_for_staff(self, ticket_id: uuid.UUID, *, lock: bool = False) -> Ticket:
        """Any ticket with its relations (for agent routes, already behind a role check); 404 if missing."""
        return await self._load(ticket_id, lock=lock)
