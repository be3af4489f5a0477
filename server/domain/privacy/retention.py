"""The retention rules: what is kept how long, applied by ``techpal-server data purge`` and hourly by the server.

Each rule removes what is due at ``as_of`` and reports how many things it removed. The server runs a round every
hour under a PostgreSQL advisory lock, so N server processes sharing a database run it once. Periods are the privacy
policy's (``docs/privacy.md``); the ones of internal bookkeeping (rate-limit windows, idempotency keys) are as
short as their purpose allows.
"""

from __future__ import annotations

import asyncio
import datetime
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import text

from server.db.transactions import autocommit_connection, transaction_of_its_own
from server.domain.analytics import delete_old_analytics
from server.domain.privacy.exports import EXPORT_INTERVAL, build_stale_exports, remove_export_files
from server.domain.privacy.purge import purge_account
from server.domain.tickets import delete_unreferenced_blobs
from server.lib.ratelimit import over_statement

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from sqlalchemy import CursorResult

    from server.domain.privacy.lifecycle import DataLifecycle

__all__ = ["ADVISORY_LOCK_ID", "RULES", "RuleResult", "keep_applying_retention", "retention_round", "run_retention"]

logger = structlog.get_logger(__name__)

DELETED_ACCOUNT_DAYS = 30
ENDED_SESSION = datetime.timedelta(days=30)
IDEMPOTENCY_KEY = datetime.timedelta(hours=24)
OUTBOX_MAIL = datetime.timedelta(days=30)
FAILED_JOB = datetime.timedelta(days=30)
STRIPE_EVENT = datetime.timedelta(days=395)  # 13 months
API_USAGE = datetime.timedelta(days=90)  # the API-key usage log, and keys revoked or expired that long ago
# A screenshot file younger than this may belong to an upload whose row is not committed yet.
ORPHAN_GRACE = datetime.timedelta(hours=1)
ROUND_INTERVAL_S = 3600.0
ADVISORY_LOCK_ID = 0x7EC4_9A1_0015  # "the retention round" for pg_try_advisory_lock
_OUTBOX_NAME = re.compile(r"(\d{8}T\d{12})Z-[0-9a-f]+\.eml")


@dataclass(frozen=True, slots=True)
class RuleResult:
    """One rule's outcome: its description and how many things it removed."""

    rule: str
    removed: int


async def _deleted_accounts(life: DataLifecycle, as_of: datetime.datetime) -> int:
    async with transaction_of_its_own(life.engine) as conn:
        due = list(
            (await conn.execute(text("SELECT id FROM users WHERE purge_after <= :as_of"), {"as_of": as_of})).scalars()
        )
    purged = 0
    for user_id in due:
        purged += await purge_account(life, user_id, due_by=as_of)
    return purged


async def _count(life: DataLifecycle, *statements: tuple[str, Mapping[str, Any]]) -> int:
    removed = 0
    async with transaction_of_its_own(life.engine) as conn:
        for sql, params in statements:
            result: CursorResult[Any] = await conn.execute(text(sql), params)
            removed += result.rowcount
    return removed


async def _ended_sessions(life: DataLifecycle, as_of: datetime.datetime) -> int:
    # Unused for longer than a refresh token lives: it can never be used again, so it ended then.
    idle = datetime.timedelta(seconds=life.settings.auth.refresh_token_ttl)
    return await _count(
        life,
        (
            "DELETE FROM user_sessions WHERE revoked_at <= :ended OR last_used_at <= :idle",
            {"ended": as_of - ENDED_SESSION, "idle": as_of - idle - ENDED_SESSION},
        ),
    )


async def _spent_tokens(life: DataLifecycle, as_of: datetime.datetime) -> int:
    cutoff = {"cutoff": as_of - ENDED_SESSION}
    return await _count(
        life,
        ("DELETE FROM refresh_tokens WHERE rotated_at <= :cutoff OR expires_at <= :cutoff", cutoff),
        ("DELETE FROM email_tokens WHERE used_at <= :cutoff OR expires_at <= :cutoff", cutoff),
        # A challenge (it may hold the Google subject a sign-in would link) and a spent ID token's nonce are kept
        # only while they can still be used.
        ("DELETE FROM login_challenges WHERE expires_at <= :as_of", {"as_of": as_of}),
        ("DELETE FROM oidc_nonces WHERE expires_at <= :as_of", {"as_of": as_of}),
    )


async def _rate_windows(life: DataLifecycle, as_of: datetime.datetime) -> int:
    async with transaction_of_its_own(life.engine) as conn:
        result: CursorResult[Any] = await conn.execute(over_statement(as_of))
    return result.rowcount


async def _api_usage(life: DataLifecycle, as_of: datetime.datetime) -> int:
    cutoff = {"cutoff": as_of - API_USAGE}
    return await _count(
        life,
        ("DELETE FROM api_key_usage WHERE at <= :cutoff", cutoff),
        # A key that can no longer be used is kept as long as its usage: the owner can still look it up.
        ("DELETE FROM api_keys WHERE revoked_at <= :cutoff OR expires_at <= :cutoff", cutoff),
    )


async def _analytics(life: DataLifecycle, as_of: datetime.datetime) -> int:
    async with transaction_of_its_own(life.engine) as conn:
        return await delete_old_analytics(conn, as_of)


async def _idempotency_keys(life: DataLifecycle, as_of: datetime.datetime) -> int:
    return await _count(
        life, ("DELETE FROM idempotency_keys WHERE created_at <= :cutoff", {"cutoff": as_of - IDEMPOTENCY_KEY})
    )


async def _exports(life: DataLifecycle, as_of: datetime.datetime) -> int:
    # One a deletion expired early stays a day from its creation: it still counts against the one-a-day limit.
    async with transaction_of_its_own(life.engine) as conn:
        gone = list(
            (
                await conn.execute(
                    text(
                        "DELETE FROM data_exports WHERE expires_at <= :as_of AND created_at <= :a_day_before "
                        "RETURNING id"
                    ),
                    {"as_of": as_of, "a_day_before": as_of - EXPORT_INTERVAL},
                )
            ).scalars()
        )
    await asyncio.to_thread(remove_export_files, life, gone)
    return len(gone)


def _old_outbox_mails(outbox: Path, cutoff: datetime.datetime) -> int:
    if not outbox.is_dir():
        return 0
    removed = 0
    for path in outbox.iterdir():
        match = _OUTBOX_NAME.fullmatch(path.name)
        if match is None:
            continue
        written = datetime.datetime.strptime(match.group(1), "%Y%m%dT%H%M%S%f").replace(tzinfo=datetime.UTC)
        if written <= cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


async def _outbox_mails(life: DataLifecycle, as_of: datetime.datetime) -> int:
    return await asyncio.to_thread(_old_outbox_mails, life.outbox_dir, as_of - OUTBOX_MAIL)


async def _orphan_screenshots(life: DataLifecycle, as_of: datetime.datetime) -> int:
    candidates = await life.storage.stored_before(as_of - ORPHAN_GRACE)
    return await delete_unreferenced_blobs(life.engine, life.storage, candidates)


async def _stripe_events(life: DataLifecycle, as_of: datetime.datetime) -> int:
    cutoff = int((as_of - STRIPE_EVENT).timestamp())
    return await _count(
        life, ("DELETE FROM stripe_events WHERE created <= :cutoff AND applied_at IS NOT NULL", {"cutoff": cutoff})
    )


async def _failed_jobs(life: DataLifecycle, as_of: datetime.datetime) -> int:
    # Done jobs are deleted by the workers; a failed one stays for the operator, until nothing happened to it for
    # 30 days (its events, deleted with it, say when it failed).
    statement = (
        "DELETE FROM procrastinate_jobs AS job WHERE job.status IN ('failed', 'cancelled', 'aborted') AND NOT EXISTS "
        "(SELECT 1 FROM procrastinate_events AS event WHERE event.job_id = job.id AND event.at > :cutoff)"
    )
    return await _count(life, (statement, {"cutoff": as_of - FAILED_JOB}))


Rule = Callable[["DataLifecycle", datetime.datetime], Awaitable[int]]
RULES: tuple[tuple[str, Rule], ...] = (
    ("accounts deleted 30 or more days ago", _deleted_accounts),
    ("sessions ended 30 or more days ago", _ended_sessions),
    ("sign-in and mail tokens used or expired 30 or more days ago", _spent_tokens),
    ("rate-limit windows that are over", _rate_windows),
    ("API usage log entries, and API keys revoked or expired, 90 or more days ago", _api_usage),
    ("anonymized app sessions and their events older than 13 months", _analytics),
    ("idempotency keys older than 24 hours", _idempotency_keys),
    ("data exports older than 7 days", _exports),
    ("outbox mails older than 30 days", _outbox_mails),
    ("screenshot files no ticket refers to", _orphan_screenshots),
    ("Stripe events older than 13 months", _stripe_events),
    ("background jobs that failed 30 or more days ago", _failed_jobs),
)


async def run_retention(life: DataLifecycle, as_of: datetime.datetime | None = None) -> list[RuleResult]:
    """Apply every rule once, as if it were ``as_of`` (default now); each rule's count."""
    moment = as_of or life.clock()
    results = []
    for description, rule in RULES:
        removed = await rule(life, moment)
        results.append(RuleResult(description, removed))
        if removed:
            logger.info("retention_applied", rule=description, removed=removed)
    return results


async def retention_round(
    life: DataLifecycle, as_of: datetime.datetime | None = None, *, wait: bool = False
) -> list[RuleResult] | None:
    """One round under the advisory lock: ``None`` when another process runs one (unless ``wait``: then after it).

    A round also builds the exports a crash left pending.
    """
    async with autocommit_connection(life.engine) as conn:
        lock = {"id": ADVISORY_LOCK_ID}
        if wait:
            await conn.execute(text("SELECT pg_advisory_lock(:id)"), lock)
        elif not (await conn.execute(text("SELECT pg_try_advisory_lock(:id)"), lock)).scalar():
            return None
        try:
            await build_stale_exports(life)
            return await run_retention(life, as_of)
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:id)"), lock)


async def keep_applying_retention(life: DataLifecycle, interval: float = ROUND_INTERVAL_S) -> None:
    """A :func:`retention_round` every ``interval`` seconds, from start-up; runs until cancelled."""
    while True:
        try:
            await retention_round(life)
        except Exception:  # the database may be away for a moment; the next round tries again
            logger.warning("retention_round_failed", exc_info=True)
        await asyncio.sleep(interval)
