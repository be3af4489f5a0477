"""``Idempotency-Key`` for ticket creation: one key, one ticket, per user, for 24 hours.

How concurrent retries end up with one ticket: the creating transaction first *claims* the key with
``INSERT … ON CONFLICT DO UPDATE … WHERE <expired>``. A second request with the same key blocks on the primary key
until the first commits, then finds the row live (nothing returned) and answers with the first ticket — or, if
its fingerprint differs, 422 ``idempotency_key_reused``. If the first rolls back, the second simply claims the key.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, text

from server.db.models import IdempotencyKey
from server.lib.clock import utcnow
from server.lib.exceptions import FieldError, ValidationFailed

if TYPE_CHECKING:
    import uuid

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = [
    "IDEMPOTENCY_TTL",
    "StoredKey",
    "claim_key",
    "clean_idempotency_key",
    "find_live_key",
    "key_reused",
    "purge_expired_keys",
]

IDEMPOTENCY_TTL = datetime.timedelta(hours=24)
MAX_KEY_LENGTH = 200


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A live key: what request made it and which ticket it made."""

    fingerprint: str
    ticket_id: uuid.UUID


def clean_idempotency_key(raw: str | None) -> str | None:
    """The header's value, or ``None`` when absent; 422 unless 1–200 printable ASCII characters."""
    if raw is None:
        return None
    if not 1 <= len(raw) <= MAX_KEY_LENGTH or not all(" " <= ch <= "~" for ch in raw):
        message = f"1–{MAX_KEY_LENGTH} printable ASCII characters"
        raise ValidationFailed(
            f"Idempotency-Key: {message}",
            code="invalid_idempotency_key",
            errors=[FieldError("Idempotency-Key", message, "header")],
        )
    return raw


def key_reused() -> ValidationFailed:
    """The error for a key already used by a different request."""
    return ValidationFailed(
        "This Idempotency-Key was already used for a different request; use a new key for a new ticket.",
        code="idempotency_key_reused",
        errors=[FieldError("Idempotency-Key", "already used for a different request", "header")],
    )


async def find_live_key(db: AsyncSession, user_id: uuid.UUID, key: str) -> StoredKey | None:
    """The key's live (younger than 24 h) record, if any; a plain read, no lock."""
    row = (
        await db.execute(
            text(
                "SELECT fingerprint, ticket_id FROM idempotency_keys "
                "WHERE user_id = :user_id AND key = :key AND created_at > :cutoff"
            ),
            {"user_id": user_id, "key": key, "cutoff": utcnow() - IDEMPOTENCY_TTL},
        )
    ).one_or_none()
    return StoredKey(row.fingerprint, row.ticket_id) if row is not None else None


async def claim_key(
    db: AsyncSession, user_id: uuid.UUID, key: str, fingerprint: str, ticket_id: uuid.UUID
) -> StoredKey | None:
    """Claim ``key`` for ``ticket_id`` in the current transaction.

    Returns ``None`` when claimed (new, or an expired record replaced); otherwise the live record another request
    made (waiting for that request's transaction to finish first).
    """
    claimed = await db.scalar(
        text(
            "INSERT INTO idempotency_keys (user_id, key, fingerprint, ticket_id, created_at) "
            "VALUES (:user_id, :key, :fingerprint, :ticket_id, :now) "
            "ON CONFLICT (user_id, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, "
            "ticket_id = EXCLUDED.ticket_id, created_at = EXCLUDED.created_at "
            "WHERE idempotency_keys.created_at <= :cutoff "
            "RETURNING ticket_id"
        ),
        {
            "user_id": user_id,
            "key": key,
            "fingerprint": fingerprint,
            "ticket_id": ticket_id,
            "now": utcnow(),
            "cutoff": utcnow() - IDEMPOTENCY_TTL,
        },
    )
    if claimed is not None:
        return None
    # The conflicting row is committed and locked by us now; read it in this statement's fresh snapshot.
    row = (
        await db.execute(
            text("SELECT fingerprint, ticket_id FROM idempotency_keys WHERE user_id = :user_id AND key = :key"),
            {"user_id": user_id, "key": key},
        )
    ).one()
    return StoredKey(row.fingerprint, row.ticket_id)


async def purge_expired_keys(db: AsyncSession, *, now: datetime.datetime | None = None) -> int:
    """Delete keys older than 24 h (for the retention job); return how many. The caller commits."""
    cutoff = (now or utcnow()) - IDEMPOTENCY_TTL
    result = await db.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at <= cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
