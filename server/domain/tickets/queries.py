"""The tickets slice's SQL: statements built once, the loading options, the blob locks and the event payloads."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import ColumnElement, Select, Table, Text, bindparam, func, insert, literal, select, text
from sqlalchemy.orm import raiseload, selectinload

from server.db.models import (
    FieldSource,
    Ticket,
    TicketHistory,
    TicketScreenshot,
)
from server.db.transactions import session_of_its_own

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable

    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

    from server.domain.tickets.storage import BlobStorage

__all__ = [
    "BORN",
    "CREATE_TICKET",
    "EVENTS_CHANNEL",
    "SCREENSHOTS",
    "SOURCE_OF_ACTOR",
    "STAFF_ROLES",
    "delete_unreferenced_blobs",
    "event_notice",
    "loaded",
    "lock_blobs",
    "screenshot_count",
]

EVENTS_CHANNEL = "ticket_events"
STAFF_ROLES = frozenset({"agent", "admin"})
# Advisory-lock class for blob keys (the two-int form keeps these apart from other advisory locks): "tpbl".
_BLOB_LOCK_CLASS = 0x7470626C
SCREENSHOTS = cast("Table", TicketScreenshot.__table__)
SOURCE_OF_ACTOR: dict[str, FieldSource] = {"user": "user", "agent": "agent", "ai": "ai", "system": "rules"}
# A ticket's first history row: the user opened it.
BORN: dict[str, Any] = {"actor": "user", "field": "status", "new_value": "open"}


def _blob_lock_id(key: str) -> int:
    return int.from_bytes(bytes.fromhex(key)[:4], "big", signed=True)


async def lock_blobs(db: AsyncSession, keys: Iterable[str]) -> None:
    """Take the transaction's advisory lock on each blob key, in ascending order: sharers cannot deadlock."""
    for lock_id in sorted({_blob_lock_id(key) for key in keys}):
        await db.execute(
            text("SELECT pg_advisory_xact_lock(:class_id, :key_id)"),
            {"class_id": _BLOB_LOCK_CLASS, "key_id": lock_id},
        )


async def delete_unreferenced_blobs(
    engine: AsyncEngine, storage: BlobStorage, keys: Iterable[str], *, batch: int = 500
) -> int:
    """Delete the blobs among ``keys`` that no screenshot row names; how many were deleted.

    Each batch runs under the blob locks ticket creation takes (in the same order), and a file is deleted while they
    are held: an upload of the same bytes either committed its row before (the file stays) or waits and then writes
    the file anew. Shared blobs (another ticket's identical screenshot) are never deleted from under their owner.
    """
    ordered = sorted(set(keys), key=_blob_lock_id)
    deleted = 0
    for start in range(0, len(ordered), batch):
        chunk = ordered[start : start + batch]
        async with session_of_its_own(engine) as db:
            await lock_blobs(db, chunk)
            referenced = set(
                await db.scalars(
                    select(TicketScreenshot.blob_key)
                    .where(TicketScreenshot.blob_key.in_(chunk))
                    .union(select(TicketScreenshot.model_blob_key).where(TicketScreenshot.model_blob_key.in_(chunk)))
                )
            )
            for key in chunk:
                if key not in referenced:
                    await storage.delete(key)
                    deleted += 1
    return deleted


def loaded(query: Select[Ticket], *, history: bool = True) -> Select[Ticket]:
    """``query`` loading each ticket's messages, screenshots and (unless ``history=False``) history eagerly."""
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


def event_notice(ticket_id: uuid.UUID, owner_id: uuid.UUID, kind: str, **data: Any) -> str:
    """The JSON payload of a ``ticket_events`` notification."""
    return json.dumps({"ticket_id": str(ticket_id), "owner_id": str(owner_id), "kind": kind, **data}, default=str)


def _create_ticket_statement() -> Select[Any]:
    """``INSERT`` the ticket and its first history row and ``NOTIFY`` its creation, as one statement (one round trip).

    The statement is built once. Bind parameters: ``ticket_<column>`` for the ticket's columns (not the bare names: an
    INSERT takes parameters named like its table's columns as extra values) and ``notice``.
    """
    tickets = cast("Table", Ticket.__table__)
    history = cast("Table", TicketHistory.__table__)
    columns = ("id", "owner_id", "description", "priority", "priority_source", "category", "category_source",
               "status", "device", "created_at", "updated_at")  # fmt: skip
    ticket = insert(tickets).values({name: bindparam(f"ticket_{name}", type_=tickets.c[name].type) for name in columns})
    born = insert(history).values(
        ticket_id=bindparam("ticket_id", type_=history.c.ticket_id.type),
        at=bindparam("ticket_created_at", type_=history.c.at.type),
        actor_id=bindparam("ticket_owner_id", type_=history.c.actor_id.type),
        **{name: literal(value, history.c[name].type) for name, value in BORN.items()},
    )
    notify = select(func.pg_notify(EVENTS_CHANNEL, bindparam("notice", type_=Text())))
    return notify.add_cte(ticket.cte("new_ticket"), born.cte("born"))


CREATE_TICKET = _create_ticket_statement()
