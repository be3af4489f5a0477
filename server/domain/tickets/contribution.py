"""A resolved ticket's fix becomes knowledge: the user's own words, anonymized, through ``add_resolution``.

The title is the first sentence of the *anonymized* description (``add_resolution`` makes it with
:func:`fix_title`), so cutting it short never leaves half a phone number or name for the anonymizer to miss.

Runs as the ``tickets.contribute_fix`` job, enqueued in the feedback's transaction: embedding and merging take a
moment, a failure here must never undo the user's feedback, and a restart in between must not lose the fix. Users
who opted out (``PATCH /api/v1/me {"kb_contribution": false}``) contribute nothing.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import TYPE_CHECKING, Final

import structlog
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from server.db.models import Ticket, TicketHistory, User
from server.db.transactions import session_of_its_own
from server.domain.knowledge import Embedders, add_resolution
from server.lib.jobs import JobSpec

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from server.settings import Settings

__all__ = ["CONTRIBUTE_FIX", "contribute_fix", "fix_contribution_job", "fix_title"]

logger = structlog.get_logger(__name__)

TITLE_CHARS = 100
CONTRIBUTE_FIX: Final = "tickets.contribute_fix"
_CITATION_MARK = re.compile(r"\s?\[\d+\]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def fix_title(description: str) -> str:
    """The description's first sentence (or line), at most :data:`TITLE_CHARS` characters, cut at a word."""
    first = _SENTENCE_END.split(description.strip().splitlines()[0] if description.strip() else "", maxsplit=1)[0]
    if len(first) <= TITLE_CHARS:
        return first.strip()
    return first[:TITLE_CHARS].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


async def contribute_fix(
    engine: AsyncEngine, settings: Settings, embedders: Embedders, ticket_id: uuid.UUID, comment: str | None
) -> None:
    """Add the fix that resolved ``ticket_id`` to the knowledge base, unless its owner opted out."""
    async with session_of_its_own(engine) as db:
        ticket = (
            await db.execute(select(Ticket).where(Ticket.id == ticket_id).options(selectinload(Ticket.messages)))
        ).scalar_one_or_none()
        owner = await db.get(User, ticket.owner_id) if ticket is not None else None
    if ticket is None or owner is None or not owner.kb_contribution:
        return
    if not owner.ai_processing and settings.embeddings != "local":
        logger.info("kb_contribution_skipped", ticket_id=str(ticket_id), reason="ai processing off, remote embeddings")
        return
    answers = [m for m in ticket.messages if m.role in {"assistant", "agent"}]
    if not answers:
        return
    fix = _CITATION_MARK.sub("", max(answers, key=lambda m: m.created_at).content).strip()
    if comment:
        fix += f"\n\nWhat the user said worked: {comment.strip()}"
    try:
        embedder = await asyncio.to_thread(embedders.get, settings.embeddings, settings.ai)
        outcome = await add_resolution(
            engine,
            title=fix_title,
            symptoms=ticket.description,
            resolution=fix,
            user_name=owner.name,
            username=owner.username,
            email=owner.email,
            embedder=embedder,
            auto_publish=settings.kb_auto_publish,
        )
    except Exception:  # the user's feedback stands whatever happens here; the reason goes to the log
        logger.warning("kb_contribution_failed", ticket_id=str(ticket_id), exc_info=True)
        return
    logger.info("kb_contribution_added", ticket_id=str(ticket_id), merged=outcome.merged)


def fix_contribution_job(engine: AsyncEngine, settings: Settings, embedders: Embedders) -> JobSpec:
    """The job: the ticket's fix with the comment of its latest "Fixed it" (from the history), tried once."""

    async def run(ticket_id: str) -> None:
        async with session_of_its_own(engine) as db:
            feedback = await db.scalar(
                select(TicketHistory.new_value)
                .where(TicketHistory.ticket_id == uuid.UUID(ticket_id), TicketHistory.field == "feedback")
                .order_by(TicketHistory.id.desc())
                .limit(1)
            )
        comment = feedback.get("comment") if isinstance(feedback, dict) else None
        await contribute_fix(engine, settings, embedders, uuid.UUID(ticket_id), comment)

    # Once: adding a fix twice would merge it into its own article again.
    return JobSpec(CONTRIBUTE_FIX, run, attempts=1)
