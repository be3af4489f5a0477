"""The wire schema of an answer's events: what a resolution run yields, in order.

``Note`` s (things the user should know about this answer), ``Triage``, ``Citation`` s, ``Delta`` s (maybe a
``Failure``), then ``Outcome``. Each struct but :class:`Outcome`
and :class:`Usage` is one Server-Sent Event whose name is :data:`EVENT_NAMES`' entry and whose data is the struct as
JSON (``msgspec.json.encode``).
"""

from __future__ import annotations

import msgspec

__all__ = [
    "EVENT_NAMES",
    "Citation",
    "Delta",
    "Event",
    "Failure",
    "Note",
    "Outcome",
    "Progress",
    "Triage",
    "Usage",
]


class Note(msgspec.Struct, frozen=True):
    """Something the user should know about how this answer is made (``code`` for clients, ``message`` to show)."""

    code: str
    message: str


class Progress(msgspec.Struct, frozen=True):
    """What the answer waits for before it starts (``reading_screenshot``); ``message`` is for the user."""

    code: str
    message: str


class Triage(msgspec.Struct, frozen=True):
    """The ticket's category and priority, and whether the AI (or the rules) chose each rather than the user."""

    category: str
    priority: str
    category_by_ai: bool
    priority_by_ai: bool


class Citation(msgspec.Struct, frozen=True):
    """A knowledge-base article the answer may cite as ``[number]``."""

    number: int
    article_id: str
    source_id: str | None
    title: str
    source_url: str | None


class Delta(msgspec.Struct, frozen=True):
    """The next piece of the answer text."""

    text: str


class Failure(msgspec.Struct, frozen=True):
    """The chat model failed (after retries); a retrieval-only answer follows."""

    code: str
    message: str


class Usage(msgspec.Struct, frozen=True):
    """What the answer cost: model, tokens (0 when retrieval-only) and milliseconds from start to the last delta."""

    model: str | None
    tokens_in: int
    tokens_out: int
    latency_ms: int


class Outcome(msgspec.Struct, frozen=True):
    """The finished answer, yielded last: the caller stores it as the assistant message and emits ``done``."""

    content: str
    citations: list[Citation]
    triage: Triage | None
    usage: Usage
    model_answered: bool


Event = Note | Triage | Citation | Delta | Failure | Outcome
EVENT_NAMES: dict[type[msgspec.Struct], str] = {
    Progress: "progress",
    Note: "note",
    Triage: "triage",
    Citation: "citation",
    Delta: "delta",
    Failure: "error",
}
