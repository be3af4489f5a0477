"""Creating tickets: description-only in the request's transaction; with screenshots or a key, in one of its own.

Screenshots are stored as uploaded, after the checks that need no decoding; each gets a ``tickets.read_screenshot``
job in the ticket's transaction (:mod:`server.domain.tickets.reading` does the rest).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import structlog

# The same generator the models' primary keys use (UUIDv7 with uuid-utils installed, else UUIDv4).
from advanced_alchemy.mixins.uuid import uuid7  # type: ignore[attr-defined]
from sqlalchemy import insert

from server.db.models import (
    Ticket,
    TicketHistory,
    TicketScreenshot,
    User,
)
from server.db.transactions import session_of_its_own
from server.domain.tickets.idempotency import StoredKey, claim_key, find_live_key, key_reused
from server.domain.tickets.queries import (
    BORN,
    CREATE_TICKET,
    SCREENSHOTS,
    delete_unreferenced_blobs,
    event_notice,
    lock_blobs,
)
from server.domain.tickets.reading import READ_SCREENSHOT
from server.domain.tickets.services._base import CreatedTicket, TicketServiceBase
from server.lib.clock import utcnow
from server.lib.jobs import defer

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable, Sequence

    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

    from server.domain.tickets.images import Upload
    from server.domain.tickets.upload import TicketDraft

__all__ = ["TicketCreation"]

logger = structlog.get_logger(__name__)


class _KeyTaken(Exception):
    """Another request holds the idempotency key: roll back this create and replay that one."""

    def __init__(self, key: StoredKey) -> None:
        self.key = key


class TicketCreation(TicketServiceBase):
    """Creating a ticket from a validated form."""

    # ------------------------------------------------------------------------------------------ create
    async def create(self, owner: User, draft: TicketDraft, *, idempotency_key: str | None = None) -> CreatedTicket:
        """Create a ticket from a validated form.

        A description-only ticket is :meth:`create_described` in the request's transaction. A ticket with screenshots
        or an idempotency key is written in a transaction of its own together with its blob files and its screenshots'
        jobs, after the uploads were checked holding no connection: it commits before this returns, and if it fails,
        no row or job remains and the files that no screenshot names are deleted.

        With ``idempotency_key``, a repeat of the same request (also a concurrent one) returns the first ticket
        (``replayed``), a different request under the same key raises 422 ``idempotency_key_reused``. Any rejected
        screenshot raises its 4xx before anything is stored.
        """
        if idempotency_key is None and not draft.screenshots:
            return CreatedTicket(await self.create_described(owner, draft), replayed=False)
        fingerprint = "" if idempotency_key is None else draft.fingerprint()  # hashes the uploads: keyed requests only
        if idempotency_key is not None:
            # Cheap early answer for a plain retry: no image work, nothing stored.
            async with session_of_its_own(self._require_engine()) as db:
                live = await find_live_key(db, owner.id, idempotency_key)
            if live is not None:
                return await self._replay(owner, live.fingerprint, live.ticket_id, fingerprint)
        uploads = await self._inspect(draft)
        ticket_id = uuid7()
        written: list[str] = []
        try:
            async with session_of_its_own(self._require_engine()) as db:
                if idempotency_key is not None:
                    taken = await claim_key(db, owner.id, idempotency_key, fingerprint, ticket_id)
                    if taken is not None:
                        raise _KeyTaken(taken)
                blob_keys = await self._store_blobs(db, draft, uploads, written)
                ticket = await self._insert_ticket(db, ticket_id, owner, draft, uploads=uploads, blob_keys=blob_keys)
        except _KeyTaken as other:
            return await self._replay(owner, other.key.fingerprint, other.key.ticket_id, fingerprint)
        except BaseException:
            await asyncio.shield(self._delete_unreferenced(written))
            raise
        return CreatedTicket(ticket, replayed=False)

    async def create_described(self, owner: User, draft: TicketDraft) -> Ticket:
        """A ticket with a description only (no screenshot, no key): one statement, atomic on its own.

        It inserts the ticket and its first history row and announces it on the request's session: in its
        transaction, or at once where the route runs it in autocommit.
        """
        if draft.screenshots:
            raise ValueError("a ticket with screenshots is made by create()")
        return await self._insert_ticket(self.db, uuid7(), owner, draft)

    def _require_engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("TicketService needs the engine to create tickets with screenshots or a key")
        return self._engine

    async def _replay(self, owner: User, stored: str, ticket_id: uuid.UUID, fingerprint: str) -> CreatedTicket:
        if stored != fingerprint:
            raise key_reused()
        return CreatedTicket(await self.get(ticket_id, owner), replayed=True)

    async def _inspect(self, draft: TicketDraft) -> list[Upload]:
        if not draft.screenshots:
            return []
        processor = self.processor
        if processor is None:
            raise RuntimeError("TicketService needs a ScreenshotProcessor to create tickets with screenshots")
        # A rejection stops the rest: the first bad screenshot is the answer.
        return [
            await processor.inspect(raw, index=index, client_ocr=draft.client_ocr.get(index))
            for index, raw in enumerate(draft.screenshots)
        ]

    async def _store_blobs(
        self, db: AsyncSession, draft: TicketDraft, uploads: Sequence[Upload], written: list[str]
    ) -> list[str]:
        """Put each upload under blob locks held until ``db`` commits; each key goes to ``written`` once stored.

        One upload in memory at a time: each is read back from its spooled file when it is stored.
        """
        if not uploads:
            return []
        await lock_blobs(db, set(draft.digests()))
        keys: list[str] = []
        for index, upload in enumerate(uploads):
            key = await self.storage.put(draft.screenshots[index], media_type=upload.media_type)
            written.append(key)
            keys.append(key)
        return keys

    async def _delete_unreferenced(self, keys: Iterable[str]) -> None:
        """Delete the blobs of a failed create that no screenshot row names (they may be shared)."""
        try:
            await delete_unreferenced_blobs(self._require_engine(), self.storage, keys)
        except Exception:
            logger.warning("blob_cleanup_failed", keys=sorted(set(keys)), exc_info=True)

    async def _insert_ticket(
        self,
        db: AsyncSession,
        ticket_id: uuid.UUID,
        owner: User,
        draft: TicketDraft,
        *,
        uploads: Sequence[Upload] = (),
        blob_keys: Sequence[str] = (),
    ) -> Ticket:
        """Insert the ticket, its first history row and ``created`` NOTIFY in one statement; the screenshots, and jobs.

        Return the ticket built in memory with its collections complete, so the answer needs no reload.
        """
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
                "blob_key": key,
                "media_type": upload.media_type,
                "width": upload.width,
                "height": upload.height,
                "size_bytes": upload.size_bytes,
                "model_blob_key": None,
                "model_media_type": None,
                "ocr_text": upload.ocr_text,
                "processed_at": None,
                "created_at": now,
                "updated_at": now,
            }
            for position, (upload, key) in enumerate(zip(uploads, blob_keys, strict=True))
        ]
        notice = event_notice(ticket_id, owner.id, "created", changes=[{"field": "status", "from": None, "to": "open"}])
        connection = await db.connection()
        await connection.execute(CREATE_TICKET, {**{f"ticket_{k}": v for k, v in row.items()}, "notice": notice})
        if shots:
            await connection.execute(insert(SCREENSHOTS), shots)
            for shot in shots:
                await defer(connection, READ_SCREENSHOT, screenshot_id=str(shot["id"]))
        born = TicketHistory(ticket_id=ticket_id, at=now, actor_id=owner.id, **BORN)
        screenshots = [TicketScreenshot(**shot) for shot in shots]
        return Ticket(**row, messages=[], screenshots=screenshots, history=[born])
