"""Purging an account: every row and file of it, its Stripe customer, and the mails written for it.

The user row is locked for the whole purge (``FOR UPDATE SKIP LOCKED``), so a restore cannot slip in between the
Stripe calls and the delete, and two processes never purge one account. Rows go through the foreign keys
(``ON DELETE CASCADE`` from ``users``: sessions, tokens, tickets with their messages, screenshots and history,
idempotency keys, exports, billing rows, policy acceptances); the rate-limit counters keyed to the account's id or
address and the Stripe events about its customer are deleted by key. Files go after the commit: export ZIPs,
screenshots no other ticket shares, and outbox mails addressed to the account. Knowledge-base articles grown from
its fixes stay: they were anonymized when made and name nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import text

from server.db.transactions import transaction_of_its_own
from server.domain.billing import cancel_subscriptions, forget_customer
from server.domain.privacy.exports import remove_export_files
from server.domain.tickets import delete_unreferenced_blobs
from server.integrations.stripe import StripeUnavailable
from server.lib.ratelimit import forget_statement

if TYPE_CHECKING:
    import datetime
    import uuid
    from pathlib import Path

    from server.domain.privacy.lifecycle import DataLifecycle

__all__ = ["purge_account", "remove_outbox_mails"]

logger = structlog.get_logger(__name__)

_LOCK_USER = text(
    "SELECT id, email FROM users WHERE id = :id AND (CAST(:due AS timestamptz) IS NULL OR purge_after <= :due) "
    "FOR UPDATE SKIP LOCKED"
)
_ADDRESSES = text("SELECT DISTINCT lower(email) FROM email_tokens WHERE user_id = :id")
_BLOB_KEYS = text(
    "SELECT s.blob_key, s.model_blob_key FROM ticket_screenshots s JOIN tickets t ON t.id = s.ticket_id "
    "WHERE t.owner_id = :id"
)
_EXPORT_IDS = text("SELECT id FROM data_exports WHERE user_id = :id")
_API_KEY_USAGE = text("DELETE FROM api_key_usage WHERE key_id IN (SELECT id FROM api_keys WHERE user_id = :id)")


async def purge_account(life: DataLifecycle, user_id: uuid.UUID, *, due_by: datetime.datetime | None) -> bool:
    """Remove the account and everything of it; whether it was purged.

    ``due_by``: purge only if its ``purge_after`` has come by then (the retention rule); ``None`` purges now (an
    admin's immediate deletion). Stripe unreachable: nothing is removed, and the next round tries again.
    """
    async with transaction_of_its_own(life.engine) as conn:
        user = (await conn.execute(_LOCK_USER, {"id": user_id, "due": due_by})).first()
        if user is None:
            return False
        addresses = {user.email.lower(), *(await conn.execute(_ADDRESSES, {"id": user_id})).scalars()}
        blob_keys = {key for row in await conn.execute(_BLOB_KEYS, {"id": user_id}) for key in row}
        export_ids = list((await conn.execute(_EXPORT_IDS, {"id": user_id})).scalars())
        try:
            await cancel_subscriptions(life.engine, life.billing, user_id)
            await forget_customer(life.engine, life.billing, user_id)
        except StripeUnavailable:
            logger.warning("purge_postponed", user_id=str(user_id), reason="stripe unavailable")
            return False
        await conn.execute(forget_statement([str(user_id), *addresses]))
        await conn.execute(_API_KEY_USAGE, {"id": user_id})  # no foreign key cascades there
        await conn.execute(text("DELETE FROM users WHERE id = :id"), {"id": user_id})
    await asyncio.to_thread(remove_export_files, life, export_ids)
    await delete_unreferenced_blobs(life.engine, life.storage, blob_keys)
    await asyncio.to_thread(remove_outbox_mails, life.outbox_dir, addresses)
    logger.info("account_purged", user_id=str(user_id), files=len(blob_keys) + len(export_ids))
    return True


def remove_outbox_mails(outbox: Path, addresses: set[str]) -> int:
    """Delete the outbox mails addressed to any of ``addresses`` (lower-case); how many. Blocking."""
    if not addresses or not outbox.is_dir():
        return 0
    parser = BytesHeaderParser()
    removed = 0
    for path in outbox.glob("*.eml"):
        with contextlib.suppress(OSError), path.open("rb") as handle:
            headers = parser.parse(handle)
            recipients = {address.lower() for _, address in getaddresses(headers.get_all("To", []))}
            if recipients & addresses:
                os.unlink(path)
                removed += 1
    return removed
