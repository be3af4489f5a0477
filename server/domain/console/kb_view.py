"""What the knowledge-review pages show, prepared from the knowledge slice's answers: review cards and an article.

Templates get plain values (labels, not keys; names, not ids). Where a form's action leads back to is checked here
too (:func:`back_target`): only the review list or an article page, never another address.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from server.domain.console.ticket_view import ARTICLE_URL

if TYPE_CHECKING:
    import datetime

    from server.domain.console.queries import Person
    from server.domain.knowledge import Article, ArticleForReview, ReviewItem

__all__ = [
    "REVIEW_URL",
    "ReviewCard",
    "Section",
    "article_context",
    "article_in",
    "back_target",
    "notice",
    "review_cards",
    "sections",
]

REVIEW_URL = "/console/kb"
ORIGIN_LABELS = {
    "seed": "Seed article",
    "resolution": "Grown from a user's confirmed fix",
    "manual": "Written by staff",
}
# What a redirect's ``?done=`` says on the page it leads to (a fixed set: no text travels in the address).
NOTICES = {
    "approved": "Approved: it is published and searches find it now.",
    "rejected": "Rejected: it will not be published.",
    "saved": "Saved: the article is re-indexed and searches use the new text.",
    "published": "Published: searches find this article again.",
    "unpublished": "Unpublished: searches no longer find this article.",
    "unchanged": "Nothing changed.",
}
_ARTICLE_PATH = re.compile(r"/console/kb/articles/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


@dataclass(frozen=True, slots=True)
class Section:
    """One part of an article's text: its heading and its Markdown."""

    heading: str
    text: str


@dataclass(frozen=True, slots=True)
class ReviewCard:
    """One thing waiting for review: a new article, or a fix proposed for a published one (``addition``)."""

    id: uuid.UUID
    addition: bool
    article_href: str
    title: str
    origin: str
    sections: list[Section]
    proposed_text: str
    created_at: datetime.datetime


@dataclass(frozen=True, slots=True)
class FixLine:
    """A fix proposed for the article: its text, and whether and by whom it was approved or rejected."""

    id: uuid.UUID
    text: str
    status: str
    created_at: datetime.datetime
    reviewer: str | None
    reviewed_at: datetime.datetime | None


def sections(symptoms: str, cause: str, resolution: str) -> list[Section]:
    """The article's non-empty sections, in reading order."""
    parts = (("Symptoms", symptoms), ("Cause", cause), ("Resolution", resolution))
    return [Section(heading, text) for heading, text in parts if text.strip()]


def review_cards(items: list[ReviewItem]) -> list[ReviewCard]:
    """The review list's cards, in the queue's order (newest first)."""
    return [
        ReviewCard(
            id=item.id,
            addition=item.kind == "merge",
            article_href=ARTICLE_URL.format(article_id=item.article_id),
            title=item.title,
            origin=ORIGIN_LABELS.get(item.origin, item.origin),
            sections=sections(item.symptoms, item.cause, item.resolution),
            proposed_text=item.proposed_text or "",
            created_at=item.created_at,
        )
        for item in items
    ]


def _reviewer(people: dict[uuid.UUID, Person], user_id: uuid.UUID | None) -> str | None:
    """Who reviewed a fix: their name, "a former staff member" once the account is gone, ``None`` if nobody yet."""
    if user_id is None:
        return None
    person = people.get(user_id)
    return person.name if person is not None else "a former staff member"


def _state(article: Article) -> str:
    if article.published:
        return "published"
    return "waiting for review" if article.origin == "resolution" else "unpublished"


def article_context(found: ArticleForReview, people: dict[uuid.UUID, Person]) -> dict[str, Any]:
    """The article page's template context: the article, its state, its sections and its proposed fixes."""
    article = found.article
    fixes = [
        FixLine(
            id=fix.id,
            text=fix.proposed_text,
            status=fix.status,
            created_at=fix.created_at,
            reviewer=_reviewer(people, fix.reviewed_by),
            reviewed_at=fix.reviewed_at,
        )
        for fix in found.proposed_fixes
    ]
    return {
        "article": article,
        "origin": ORIGIN_LABELS.get(article.origin, article.origin),
        "state": _state(article),
        # A new article grown from a fix is reviewed as a whole: approving publishes it, rejecting deletes it.
        "waiting": article.origin == "resolution" and not article.published,
        "sections": sections(article.symptoms, article.cause, article.resolution),
        "pending_fixes": [fix for fix in fixes if fix.status == "pending"],
        "decided_fixes": [fix for fix in fixes if fix.status != "pending"],
        "href": ARTICLE_URL.format(article_id=article.id),
    }


def notice(done: str | None) -> str | None:
    """The text for a redirect's ``?done=`` key (``None`` for none or an unknown one)."""
    return NOTICES.get(done or "")


def back_target(raw: str | None) -> str:
    """Where a review form leads back to: an article page when it came from one, else the review list."""
    value = (raw or "").strip()
    return value if _ARTICLE_PATH.fullmatch(value) else REVIEW_URL


def article_in(target: str) -> uuid.UUID | None:
    """The article an article page's address names (``None`` for the review list)."""
    match = _ARTICLE_PATH.fullmatch(target)
    return uuid.UUID(match.group(1)) if match else None
