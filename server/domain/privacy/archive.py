"""The ZIP of everything we hold about one user (access and portability): JSON files and the stored screenshots.

Written to a file one entry at a time — a user's tickets one by one, each screenshot read, written and dropped — so a
user with hundreds of screenshots costs one screenshot of memory. JSON keys are snake_case, times ISO-8601 (UTC).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import zipfile
from typing import TYPE_CHECKING, Any

import msgspec
import structlog
from sqlalchemy import func, select

from server.db.models import (
    ApiKey,
    EmailToken,
    RefreshToken,
    Ticket,
    TicketHistory,
    TicketMessage,
    TicketScreenshot,
    TicketView,
    TwoFactor,
    User,
    UserSession,
    api_key_usage,
    billing_customers,
    billing_subscriptions,
    billing_usage,
    policy_acceptances,
)
from server.db.transactions import transaction_of_its_own
from server.lib.exceptions import NotFound

if TYPE_CHECKING:
    import datetime
    import uuid
    from pathlib import Path

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    from server.domain.tickets import BlobStorage

__all__ = ["README", "write_archive"]

logger = structlog.get_logger(__name__)

README = """\
Your Tech Pal data
==================

This archive holds everything Tech Pal stores about your account, as of the time it was made.

profile.json      Your name, e-mail address (and a new one awaiting confirmation), username, role, when the
                  account was made and verified, and how you sign in: with a password, with Google (we keep
                  only the Google account's id), with two-step codes (since when).
sessions.json     Every sign-in (device name, when it started, last used, when it ended).
settings.json     Your privacy choices (knowledge-base sharing, usage analytics, AI processing), your age
                  confirmation, and the privacy-policy versions you acknowledged.
api_keys.json     Your API keys (never the keys themselves: their name, first characters, scopes, when made,
                  used, expiring or revoked) and the log of the requests made with each in the last 90 days
                  (time, method, route, status, duration).
billing.json      Your plan now, your subscriptions (status and period), AI answers used per period, and our
                  Stripe references (customer and subscription ids). We never receive or store card data.
tickets/<id>/ticket.json
                  One ticket: your description, device details, category and priority (and who set them), its
                  status history, every message of the conversation with the articles it cited, the text we
                  read from your screenshots, and each time a member of our support staff opened the ticket
                  or one of its screenshots (when, and whether an agent or an administrator).
tickets/<id>/screenshots/<n>.<ext>
                  The screenshots of that ticket as we store them (after your redactions), numbered from 0 in
                  the order you attached them. A screenshot listed in ticket.json without a file here was lost
                  from our storage.

Times are ISO-8601 in UTC. Knowledge-base articles grown from fixes you confirmed are not here: they were
anonymized when they were made and are not linked to you.
"""

_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def _json(document: Any) -> bytes:
    return msgspec.json.format(msgspec.json.encode(document), indent=2)


def _iso(moment: datetime.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


async def _profile(conn: AsyncConnection, user_id: uuid.UUID) -> tuple[dict[str, Any], dict[str, Any]]:
    user = (await conn.execute(select(User).where(User.id == user_id))).one()
    pending = await conn.execute(
        select(EmailToken.email)
        .where(
            EmailToken.user_id == user_id,
            EmailToken.purpose == "verify_email",
            EmailToken.used_at.is_(None),
            EmailToken.expires_at > func.now(),
            func.lower(EmailToken.email) != user.email.lower(),
        )
        .order_by(EmailToken.created_at.desc())
        .limit(1)
    )
    profile = {
        "id": str(user.id),
        "name": user.name,
        "email": user.email,
        "pending_email": pending.scalar(),
        "username": user.username,
        "role": user.role,
        "email_verified_at": _iso(user.email_verified_at),
        "created_at": _iso(user.created_at),
        "updated_at": _iso(user.updated_at),
        "sign_in": {
            "password": user.password_hash is not None,
            "google_account_id": user.google_subject,
            "two_step_since": _iso(
                (await conn.execute(select(TwoFactor.confirmed_at).where(TwoFactor.user_id == user_id))).scalar()
            ),
        },
    }
    accepted = await conn.execute(
        select(policy_acceptances.c.version, policy_acceptances.c.accepted_at)
        .where(policy_acceptances.c.user_id == user_id)
        .order_by(policy_acceptances.c.accepted_at)
    )
    settings = {
        "kb_contribution": user.kb_contribution,
        "analytics": user.analytics,
        "ai_processing": user.ai_processing,
        "age_confirmed_at": _iso(user.age_confirmed_at),
        "policy_acceptances": [{"version": r.version, "accepted_at": _iso(r.accepted_at)} for r in accepted],
    }
    return profile, settings


async def _sessions(conn: AsyncConnection, user_id: uuid.UUID) -> list[dict[str, Any]]:
    refreshed = (
        select(RefreshToken.session_id, RefreshToken.created_at.label("at"))
        .where(RefreshToken.session_id == UserSession.id)
        .order_by(RefreshToken.created_at.desc())
        .limit(1)
        .lateral()
    )
    rows = await conn.execute(
        select(UserSession, refreshed.c.at)
        .outerjoin(refreshed, refreshed.c.session_id == UserSession.id)
        .where(UserSession.user_id == user_id)
        .order_by(UserSession.created_at)
    )
    return [
        {
            "id": str(r.id),
            "device_name": r.device_name,
            "created_at": _iso(r.created_at),
            "last_used_at": _iso(r.last_used_at),
            "last_token_at": _iso(r.at),
            "ended_at": _iso(r.revoked_at),
        }
        for r in rows
    ]


async def _api_keys(conn: AsyncConnection, user_id: uuid.UUID) -> list[dict[str, Any]]:
    keys = await conn.execute(select(ApiKey.__table__).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at))
    documents = []
    for key in keys.all():
        usage = api_key_usage.c
        calls = await conn.execute(
            select(usage.at, usage.method, usage.route, usage.status, usage.duration_ms)
            .where(usage.key_id == key.id)
            .order_by(usage.at)
        )
        documents.append(
            {
                "id": str(key.id),
                "name": key.name,
                "prefix": key.prefix,
                "scopes": key.scopes,
                "created_at": _iso(key.created_at),
                "expires_at": _iso(key.expires_at),
                "revoked_at": _iso(key.revoked_at),
                "last_used_at": _iso(key.last_used_at),
                "usage": [
                    {"at": _iso(at), "method": method, "route": route, "status": status, "duration_ms": ms}
                    for at, method, route, status, ms in calls
                ],
            }
        )
    return documents


async def _billing(conn: AsyncConnection, user_id: uuid.UUID, plan: str) -> dict[str, Any]:
    customer = (
        await conn.execute(select(billing_customers).where(billing_customers.c.user_id == user_id))
    ).one_or_none()
    subscriptions = await conn.execute(
        select(billing_subscriptions)
        .where(billing_subscriptions.c.user_id == user_id)
        .order_by(billing_subscriptions.c.updated_at)
    )
    usage = await conn.execute(
        select(billing_usage).where(billing_usage.c.user_id == user_id).order_by(billing_usage.c.period_start)
    )
    return {
        "plan": plan,
        "stripe_customer_id": customer.stripe_customer_id if customer else None,
        "subscriptions": [
            {
                "stripe_subscription_id": s.stripe_subscription_id,
                "plan": s.plan,
                "status": s.status,
                "current_period_start": _iso(s.current_period_start),
                "current_period_end": _iso(s.current_period_end),
                "cancel_at_period_end": s.cancel_at_period_end,
            }
            for s in subscriptions
        ],
        "ai_answers_used": [{"period_start": _iso(u.period_start), "used": u.used} for u in usage],
        "card_data": "Tech Pal never receives or stores card data; Stripe holds it.",
    }


async def _ticket(conn: AsyncConnection, ticket: Any) -> tuple[dict[str, Any], list[Any]]:
    messages = await conn.execute(
        select(TicketMessage).where(TicketMessage.ticket_id == ticket.id).order_by(TicketMessage.created_at)
    )
    history = await conn.execute(
        select(TicketHistory).where(TicketHistory.ticket_id == ticket.id).order_by(TicketHistory.id)
    )
    shots = list(
        await conn.execute(
            select(TicketScreenshot).where(TicketScreenshot.ticket_id == ticket.id).order_by(TicketScreenshot.position)
        )
    )
    # Staff views by role only, never by name: the user learns which kind of staff saw their data and when (the
    # "recipients or categories of recipients" a right of access asks for), while the staff member's identity, their
    # own personal data, stays out of a file the user may pass on. Admins see the names in the support console.
    views = await conn.execute(
        select(TicketView.viewed_at, TicketView.viewer_role, TicketView.screenshot)
        .where(TicketView.ticket_id == ticket.id)
        .order_by(TicketView.id)
    )
    document = {
        "id": str(ticket.id),
        "description": ticket.description,
        "device": ticket.device,
        "status": ticket.status,
        "category": ticket.category,
        "category_set_by": ticket.category_source,
        "priority": ticket.priority,
        "priority_set_by": ticket.priority_source,
        "created_at": _iso(ticket.created_at),
        "updated_at": _iso(ticket.updated_at),
        "status_history": [
            {
                "at": _iso(h.at),
                "by": h.actor,
                "field": h.field,
                "from": _staff_redacted(h.field, h.old_value),
                "to": _staff_redacted(h.field, h.new_value),
            }
            for h in history
        ],
        "messages": [
            {
                "at": _iso(m.created_at),
                "role": m.role,
                "content": m.content,
                "citations": m.citations,
                "model": m.model,
            }
            for m in messages
        ],
        "screenshots": [
            {
                "file": _screenshot_name(s),
                "width": s.width,
                "height": s.height,
                "size_bytes": s.size_bytes,
                "ocr_text": s.ocr_text,
            }
            for s in shots
        ],
        "staff_views": [
            {
                "at": _iso(v.viewed_at),
                "role": v.viewer_role,
                "opened": "ticket" if v.screenshot is None else f"screenshot {v.screenshot}",
            }
            for v in views
        ],
    }
    return document, shots


def _staff_redacted(field: str, value: Any) -> Any:
    """An assignment names a staff account; the archive says only that a staff member took the ticket."""
    return "staff" if field == "assignee" and value is not None else value


def _screenshot_name(shot: Any) -> str:
    """Numbered as the API numbers them (``GET /api/v1/tickets/{id}/screenshots/0`` is ``0.png``)."""
    return f"screenshots/{shot.position}.{_EXTENSIONS.get(shot.media_type, 'bin')}"


async def write_archive(
    engine: AsyncEngine, storage: BlobStorage, user_id: uuid.UUID, path: Path, *, plan: str = "unknown"
) -> int:
    """Write the user's archive to ``path`` (atomically: a temporary file renamed at the end); its size in bytes."""
    partial = path.with_suffix(".partial")

    def open_archive() -> zipfile.ZipFile:
        # A path, not a file object: closing the archive then closes (and flushes) its file too.
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))  # private from the first byte
        return zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED)

    def finish(archive: zipfile.ZipFile) -> int:
        archive.close()  # writes the central directory and closes the file
        os.replace(partial, path)
        return os.stat(path).st_size

    # Every disk step runs in a worker thread: the event loop only awaits.
    archive = await asyncio.to_thread(open_archive)
    try:

        async def add(name: str, data: bytes, *, compress: bool = True) -> None:
            method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
            await asyncio.to_thread(archive.writestr, name, data, method)

        await _write_entries(engine, storage, user_id, plan, add)
        return await asyncio.to_thread(finish, archive)
    except BaseException:
        await asyncio.to_thread(_discard, archive, partial)
        raise


def _discard(archive: zipfile.ZipFile, partial: Path) -> None:
    with contextlib.suppress(OSError, ValueError):
        archive.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(partial)


async def _write_entries(engine: AsyncEngine, storage: BlobStorage, user_id: uuid.UUID, plan: str, add: Any) -> None:
    async with transaction_of_its_own(engine) as conn:
        profile, settings = await _profile(conn, user_id)
        await add("README.txt", README.encode())
        await add("profile.json", _json(profile))
        await add("sessions.json", _json(await _sessions(conn, user_id)))
        await add("settings.json", _json(settings))
        await add("api_keys.json", _json(await _api_keys(conn, user_id)))
        await add("billing.json", _json(await _billing(conn, user_id, plan)))
        tickets = await conn.execute(select(Ticket).where(Ticket.owner_id == user_id).order_by(Ticket.created_at))
        for ticket in tickets.all():
            document, shots = await _ticket(conn, ticket)
            folder = f"tickets/{ticket.id}"
            await add(f"{folder}/ticket.json", _json(document))
            for shot in shots:
                try:
                    image = await storage.get(shot.blob_key)
                except NotFound:  # the file is lost (a disk fault): the export goes on without it, and says so
                    logger.error("export_screenshot_missing", ticket_id=str(ticket.id), position=shot.position)
                    continue
                await add(f"{folder}/{_screenshot_name(shot)}", image, compress=False)
