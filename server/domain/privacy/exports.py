"""Exports of a user's data: asked for in a request, built after it, downloadable for 7 days, one a day.

A request inserts a ``pending`` row (the request commits it); :func:`build_export` runs after the answer, claims
the row with ``FOR UPDATE SKIP LOCKED`` (so two processes never build one export), writes the ZIP and marks it
``ready``, then mails the owner. An export a crash left pending is built by the next retention round.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import os
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import func, select, text

from server.db.models import DataExport, User
from server.db.transactions import transaction_of_its_own
from server.domain.billing import standing_and_usage
from server.domain.privacy.archive import write_archive
from server.domain.privacy.mail import export_ready_mail
from server.domain.privacy.schemas import ExportInfo, ExportStatus
from server.lib.exceptions import Conflict, NotFound, TooManyRequests

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable

    from sqlalchemy.ext.asyncio import AsyncSession

    from server.domain.privacy.lifecycle import DataLifecycle

__all__ = [
    "EXPORT_INTERVAL",
    "EXPORT_TTL",
    "build_export",
    "build_stale_exports",
    "downloadable",
    "export_info",
    "find_export",
    "list_exports",
    "remove_export_files",
    "start_export",
]

logger = structlog.get_logger(__name__)

EXPORT_TTL = datetime.timedelta(days=7)
EXPORT_INTERVAL = datetime.timedelta(hours=24)
# A pending export older than this was abandoned by a crash; the retention round builds it.
STALE_AFTER = datetime.timedelta(minutes=10)
# A pending export older than this keeps failing to build: it no longer counts against the one-a-day limit.
STUCK_AFTER = datetime.timedelta(hours=1)


class ExportLimited(TooManyRequests):
    """429 ``export_limited``: one export per account per 24 hours."""

    default_code = "export_limited"


def _status(export: DataExport, now: datetime.datetime) -> ExportStatus:
    if export.expires_at <= now:
        return "expired"
    return "ready" if export.status == "ready" else "pending"


def export_info(export: DataExport, now: datetime.datetime) -> ExportInfo:
    """The wire view of ``export`` at ``now``."""
    status = _status(export, now)
    return ExportInfo(
        id=export.id,
        status=status,
        created_at=export.created_at,
        expires_at=export.expires_at,
        size_bytes=export.size_bytes if status == "ready" else None,
    )


async def start_export(db: AsyncSession, user: User, now: datetime.datetime) -> DataExport:
    """Queue an export of ``user``'s data; 429 ``export_limited`` within 24 h of the previous one."""
    await db.execute(select(User.id).where(User.id == user.id).with_for_update())  # one at a time per account
    # What counts: exports that became ready (even if dropped since), and ones still being built. One that has been
    # pending for longer than STUCK_AFTER keeps failing to build and must not lock its owner out for a day.
    counted = (DataExport.status == "ready") | (DataExport.created_at > now - STUCK_AFTER)
    latest = await db.scalar(select(func.max(DataExport.created_at)).where(DataExport.user_id == user.id, counted))
    if latest is not None and now - latest < EXPORT_INTERVAL:
        wait = latest + EXPORT_INTERVAL - now
        hours = max(1, round(wait.total_seconds() / 3600))
        raise ExportLimited(
            f"You can ask for one export a day; the next one is possible in about {hours} hours.",
            retry_after=int(wait.total_seconds()) + 1,
        )
    export = DataExport(user_id=user.id, status="pending", expires_at=now + EXPORT_TTL)
    db.add(export)
    await db.flush()
    logger.info("export_requested", user_id=str(user.id), export_id=str(export.id))
    return export


async def list_exports(db: AsyncSession, user: User) -> list[DataExport]:
    """The user's exports, newest first."""
    rows = await db.scalars(
        select(DataExport).where(DataExport.user_id == user.id).order_by(DataExport.created_at.desc())
    )
    return list(rows)


async def find_export(db: AsyncSession, user: User, export_id: uuid.UUID) -> DataExport:
    """The user's export ``export_id``; another user's is "not found"."""
    export = await db.scalar(select(DataExport).where(DataExport.id == export_id, DataExport.user_id == user.id))
    if export is None:
        raise NotFound("No such export.")
    return export


def downloadable(life: DataLifecycle, export: DataExport, now: datetime.datetime) -> str:
    """The ZIP's path, or 409 ``export_not_ready`` / ``export_expired``."""
    status = _status(export, now)
    if status == "pending":
        raise Conflict("The export is still being prepared.", code="export_not_ready")
    if status == "expired":
        raise Conflict("This export has expired; ask for a new one.", code="export_expired")
    return str(life.export_path(export.id))


async def build_export(life: DataLifecycle, export_id: uuid.UUID) -> bool:
    """Build one pending export unless another process is at it or it is gone; whether it was built."""
    try:
        async with transaction_of_its_own(life.engine) as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT e.user_id, e.expires_at, u.email FROM data_exports e JOIN users u ON u.id = e.user_id "
                        "WHERE e.id = :id AND e.status = 'pending' AND e.expires_at > now() "
                        "FOR UPDATE OF e SKIP LOCKED"
                    ),
                    {"id": export_id},
                )
            ).first()
            if row is None:
                return False
            await asyncio.to_thread(life.exports_dir.mkdir, mode=0o700, parents=True, exist_ok=True)
            standing, _ = await standing_and_usage(life.engine, life.billing.settings, row.user_id)
            size = await write_archive(
                life.engine, life.storage, row.user_id, life.export_path(export_id), plan=standing.plan.key
            )
            await conn.execute(
                text("UPDATE data_exports SET status = 'ready', ready_at = :now, size_bytes = :size WHERE id = :id"),
                {"now": life.clock(), "size": size, "id": export_id},
            )
    except Exception:  # after the answer: the next retention round tries again
        logger.exception("export_failed", export_id=str(export_id))
        return False
    logger.info("export_ready", export_id=str(export_id), size_bytes=size)
    try:
        await life.mailer.send(export_ready_mail(life.mailer.sender, row.email, row.expires_at))
    except OSError:
        logger.warning("export_mail_failed", export_id=str(export_id))
    return True


async def build_stale_exports(life: DataLifecycle) -> int:
    """Build the exports a crash left pending; how many were built."""
    async with transaction_of_its_own(life.engine) as conn:
        stale = (
            await conn.execute(
                select(DataExport.id).where(
                    DataExport.status == "pending", DataExport.created_at < life.clock() - STALE_AFTER
                )
            )
        ).scalars()
        export_ids = list(stale)
    built = 0
    for export_id in export_ids:
        built += await build_export(life, export_id)
    return built


def remove_export_files(life: DataLifecycle, export_ids: Iterable[uuid.UUID]) -> None:
    """Delete the ZIPs of these exports (and any half-written one); missing files are fine. Blocking."""
    for export_id in export_ids:
        path = life.export_path(export_id)
        for candidate in (path, path.with_suffix(".partial")):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(candidate)
