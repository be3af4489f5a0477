"""What the ticket page shows, prepared from a loaded ticket: the conversation, triage, device, history, access log.

Templates get plain values (names, not ids; labels, not keys), so they hold no logic beyond loops and conditions.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import datetime

    from server.db.models import Ticket
    from server.domain.console.queries import Person
    from server.domain.tickets import TicketViewEntry

__all__ = ["Change", "Citation", "Turn", "people_named", "ticket_context"]

# Where a cited article opens in the console (the knowledge-review pages serve it).
ARTICLE_URL = "/console/kb/articles/{article_id}"
ACTOR_LABELS = {"user": "the user", "ai": "Tech Pal AI", "agent": "an agent", "system": "the rules"}
SOURCE_LABELS = {"user": "the user", "ai": "the AI", "rules": "the rules", "agent": "an agent"}
FIELD_LABELS = {"status": "Status", "priority": "Priority", "category": "Category", "assignee": "Assigned to",
                "feedback": "Feedback"}  # fmt: skip
DEVICE_LABELS = (("os", "Operating system"), ("os_version", "Version"), ("cpu", "Processor"), ("ram_gb", "Memory (GB)"),
                 ("free_disk_gb", "Free disk (GB)"), ("network", "Network"))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Citation:
    """An article the AI cited: its title, where it opens in the console, and its public source."""

    title: str
    href: str | None
    source_url: str | None


@dataclass(frozen=True, slots=True)
class Turn:
    """One turn of the conversation (the description is the first): who, when, the Markdown text, its citations."""

    role: str
    author: str
    at: datetime.datetime
    content: str
    citations: list[Citation]
    anchor: str


@dataclass(frozen=True, slots=True)
class Change:
    """One history line: when, who, which field, from what to what (in words)."""

    at: datetime.datetime
    who: str
    field: str
    before: str
    after: str


def people_named(ticket: Ticket) -> set[uuid.UUID]:
    """Every user id the page names: owner, assignee, message authors, history actors and assignees."""
    ids: set[uuid.UUID] = {ticket.owner_id}
    if ticket.assignee_id is not None:
        ids.add(ticket.assignee_id)
    ids.update(m.author_id for m in ticket.messages if m.author_id is not None)
    ids.update(h.actor_id for h in ticket.history if h.actor_id is not None)
    for h in ticket.history:
        if h.field == "assignee":
            ids.update(i for i in (_as_id(h.old_value), _as_id(h.new_value)) if i is not None)
    return ids


def _as_id(value: Any) -> uuid.UUID | None:
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        return uuid.UUID(str(value)) if value is not None else None
    return None


def _name(people: dict[uuid.UUID, Person], user_id: uuid.UUID | None, fallback: str) -> str:
    person = people.get(user_id) if user_id is not None else None
    return person.name if person is not None else fallback


def _citations(raw: list[dict[str, Any]]) -> list[Citation]:
    cited = []
    for item in raw:
        article = _as_id(item.get("article_id"))
        source = item.get("source_url")
        cited.append(
            Citation(
                title=str(item.get("title") or "Untitled article"),
                href=ARTICLE_URL.format(article_id=article) if article is not None else None,
                source_url=source if isinstance(source, str) and source.startswith(("https://", "http://")) else None,
            )
        )
    return cited


def _turns(ticket: Ticket, people: dict[uuid.UUID, Person]) -> list[Turn]:
    owner = _name(people, ticket.owner_id, "The user")
    turns = [Turn("user", owner, ticket.created_at, ticket.description, [], "description")]
    for message in ticket.messages:
        if message.role == "assistant":
            author = "Tech Pal AI"
        elif message.role == "agent":
            author = f"{_name(people, message.author_id, 'A former staff member')} (support)"
        else:
            author = owner
        citations = _citations(message.citations)
        turns.append(
            Turn(message.role, author, message.created_at, message.content, citations, f"message-{message.id}")
        )
    return turns


def _value_words(field: str, value: Any, people: dict[uuid.UUID, Person]) -> str:
    if value is None:
        return "—"
    if field == "assignee":
        return _name(people, _as_id(value), "a former staff member")
    if field == "feedback" and isinstance(value, dict):
        verdict = "fixed it" if value.get("resolved") else "still broken"
        return f"{verdict}: {value['comment']}" if value.get("comment") else verdict
    return str(value).replace("_", " ")


def _changes(ticket: Ticket, people: dict[uuid.UUID, Person]) -> list[Change]:
    return [
        Change(
            at=h.at,
            who=_name(people, h.actor_id, ACTOR_LABELS.get(h.actor, h.actor)),
            field=FIELD_LABELS.get(h.field, h.field.replace("_", " ").capitalize()),
            before=_value_words(h.field, h.old_value, people),
            after=_value_words(h.field, h.new_value, people),
        )
        for h in ticket.history
    ]


def ticket_context(
    ticket: Ticket, people: dict[uuid.UUID, Person], views: list[TicketViewEntry] | None
) -> dict[str, Any]:
    """The ticket page's template context (``views`` only for admins; ``None`` hides the access log)."""
    owner = people.get(ticket.owner_id)
    device = ticket.device or {}
    return {
        "ticket": ticket,
        "owner": owner,
        "assignee": _name(people, ticket.assignee_id, "a former staff member") if ticket.assignee_id else None,
        "turns": _turns(ticket, people),
        "screenshots": [
            {
                "index": s.position,
                "url": f"/console/tickets/{ticket.id}/screenshots/{s.position}",
                "width": s.width,
                "height": s.height,
                "ocr_text": s.ocr_text or "",
            }
            for s in ticket.screenshots
        ],
        "device": [(label, device[key]) for key, label in DEVICE_LABELS if device.get(key) is not None],
        "category_source": SOURCE_LABELS.get(ticket.category_source or ""),
        "priority_source": SOURCE_LABELS.get(ticket.priority_source or "", "nobody yet (the default)"),
        "changes": _changes(ticket, people),
        "views": views,
        "can_reopen": ticket.status in {"closed", "resolved"},
    }
