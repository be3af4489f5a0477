"""Creating tickets: description-only in the request's transaction; with screenshots or a key, in one of its own."""

from __future__ import annotations

import asyncio
import hashlib
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
from server.domain.tickets.services._base import CreatedTicket, TicketServiceBase
from server.lib.clock import utcnow

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable, Sequence

    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

    from server.domain.tickets.images import ProcessedImage
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
        or an idempotency key is written in a transaction of its own together with its blob files, after the
        screenshots were read (seconds, with OCR) holding no connection: it commits before this returns, and if it
        fails, no row remains and the files that no screenshot names are deleted.

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
        images = await self._process(draft)
        ticket_id = uuid7()
        written: list[str] = []
        try:
            async with session_of_its_own(self._require_engine()) as db:
                if idempotency_key is not None:
                    taken = await claim_key(db, owner.id, idempotency_key, fingerprint, ticket_id)
                    if taken is not None:
                        raise _KeyTaken(taken)
                blob_keys = await self._store_blobs(db, images, written)
                ticket = await self._insert_ticket(db, ticket_id, owner, draft, images=images, blob_keys=blob_keys)
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

    async def _process(self, draft: TicketDraft) -> list[ProcessedImage]:
        if not draft.screenshots:
            return []
        processor = self.processor
        if processor is None:
            raise RuntimeError("TicketService needs a ScreenshotProcessor to create tickets with screenshots")
        # One at a time: the processor's worker pool is shared by every request; a rejection stops the rest.
        return [
            await processor.process(raw, index=index, client_ocr=draft.client_ocr.get(index))
            for index, raw in enumerate(draft.screenshots)
        ]

    async def _store_blobs(
        self, db: AsyncSession, images: Sequence[ProcessedImage], written: list[str]
    ) -> list[tuple[str, str]]:
        """Put each image and its model copy under blob locks held until ``db`` commits.

        Each key is recorded in ``written`` as soon as it is stored.
        """
        if not images:
            return []
        digests = {hashlib.sha256(blob).hexdigest() for image in images for blob in (image.data, image.model_copy)}
        await lock_blobs(db, digests)
        keys: list[tuple[str, str]] = []
        for image in images:
            data_key = await self.storage.put(image.data, media_type=image.media_type)
            written.append(data_key)
            model_key = await self.storage.put(image.model_copy, media_type=image.model_media_type)
            written.append(model_key)
            keys.append((data_key, model_key))
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
        images: Sequence[ProcessedImage] = (),
        blob_keys: Sequence[tuple[str, str]] = (),
    ) -> Ticket:
        """Insert the ticket, its first history row and ``created`` NOTIFY in one statement, then the screenshot rows.

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
        notice = event_notice(ticket_id, owner.id, "created", changes=[{"field": "status", "from": None, "to": "open"}])
        connection = await db.connection()
        await connection.execute(CREATE_TICKET, {**{f"ticket_{k}": v for k, v in row.items()}, "notice": notice})
        if shots:
            await connection.execute(insert(SCREENSHOTS), shots)
        born = TicketHistory(ticket_id=ticket_id, at=now, actor_id=owner.id, **BORN)
        screenshots = [TicketScreenshot(**shot) for shot in shots]
        return Ticket(**row, messages=[], screenshots=screenshots, history=[born])
