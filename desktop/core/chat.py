"""One conversation with the helpdesk as a small state machine, free of Qt so every path is unit-tested.

::

    idle ──send──▶ sending ──first event──▶ streaming ──done──▶ done ──send (follow-up)──▶ sending …
                      │                         │
                      └──────── failure ────────┴──▶ failed ──retry──▶ sending

The user's text and screenshots stay in the *draft* until the answer is complete, so every failure (offline,
quota, a server error mid-answer) leaves them in place for another try. An ``error`` event is a *notice*, not
the end: the server may follow it with a retrieval-only answer; only a stream that ends without ``done``
(:meth:`ChatSession.end_of_stream`) fails the answer. Events are applied in the GUI thread
(the worker only forwards them), so the session is not thread-safe on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from desktop.core.api.errors import ApiError, QuotaExceeded
from desktop.core.api.models import Citation, DeltaEvent, DoneEvent, NoteEvent, ProgressEvent, TriageEvent

if TYPE_CHECKING:
    from collections.abc import Iterable

    from desktop.core.api.client import StreamEvent
    from desktop.core.question import Attachment

__all__ = ["ChatMessage", "ChatSession", "ChatState", "InvalidTransition"]


class ChatState(StrEnum):
    """Where the conversation is."""

    IDLE = "idle"
    SENDING = "sending"
    STREAMING = "streaming"
    DONE = "done"
    FAILED = "failed"


class InvalidTransition(RuntimeError):
    """The caller did something the current state does not allow (a bug, not a user error)."""


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One finished message of the transcript (``role``: ``user`` or ``assistant``)."""

    role: str
    text: str
    attachments: tuple[Attachment, ...] = ()
    citations: tuple[Citation, ...] = ()
    message_id: str | None = None


@dataclass(slots=True)
class ChatSession:
    """State of one ticket's conversation.

    Attributes:
        ticket_id: Set once the ticket exists; follow-ups go to it.
        state: The current :class:`ChatState`.
        messages: Finished messages, oldest first.
        draft_text: What the user is sending (or failed to send); cleared only when the answer is complete.
        draft_attachments: Its screenshots (redacted), kept the same way.
        answer: The assistant's Markdown so far.
        citations: Sources of the current answer, by their ``[number]``.
        triage: Category and priority the server settled on, if it said.
        message_id: The stored assistant message, after ``done``.
        error: The failure in words, when ``state`` is FAILED.
        error_code: Its machine code (``server_unreachable``, ``quota_exceeded``, …).
        notice: The server's ``error`` event of the current answer (e.g. "the AI model is unavailable"), shown
            above a fallback answer; it becomes ``error`` if the stream ends without ``done``.
        notice_code: Its code.
        quota: The 402 details when the failure was an exhausted quota (reset date, plan).
    """

    ticket_id: str | None = None
    state: ChatState = ChatState.IDLE
    messages: list[ChatMessage] = field(default_factory=list)
    draft_text: str = ""
    draft_attachments: tuple[Attachment, ...] = ()
    answer: str = ""
    citations: list[Citation] = field(default_factory=list)
    triage: TriageEvent | None = None
    message_id: str | None = None
    error: str | None = None
    error_code: str | None = None
    notice: str | None = None
    notice_code: str | None = None
    quota: QuotaExceeded | None = None

    @property
    def busy(self) -> bool:
        """A request is in flight: the send button is disabled."""
        return self.state in (ChatState.SENDING, ChatState.STREAMING)

    def send(self, text: str, attachments: Iterable[Attachment] = ()) -> None:
        """Start sending the user's message; allowed when not busy."""
        if self.busy:
            raise InvalidTransition(f"cannot send while {self.state}")
        if not text.strip():
            raise ValueError("type a question first")
        self.draft_text = text
        self.draft_attachments = tuple(attachments)
        self._start()

    def retry(self) -> None:
        """Send the kept draft again after a failure."""
        if self.state is not ChatState.FAILED:
            raise InvalidTransition(f"nothing to retry in state {self.state}")
        self._start()

    def ticket_created(self, ticket_id: str) -> None:
        """The question became a ticket (the create call returned); the answer is next."""
        if self.state is not ChatState.SENDING:
            raise InvalidTransition(f"ticket created while {self.state}")
        self.ticket_id = ticket_id

    def apply(self, event: StreamEvent) -> None:
        """Apply one streamed event; events after the end of an answer are a bug of the caller."""
        if not self.busy:
            raise InvalidTransition(f"event {type(event).__name__} while {self.state}")
        self.state = ChatState.STREAMING
        if isinstance(event, DeltaEvent):
            self.answer += event.text
        elif isinstance(event, Citation):
            self.citations = sorted([*(c for c in self.citations if c.number != event.number), event], key=_number)
        elif isinstance(event, TriageEvent):
            self.triage = event
        elif isinstance(event, DoneEvent):
            self._finish(event.message_id)
        elif isinstance(event, NoteEvent | ProgressEvent):
            return  # shown beside the answer; not a failure
        else:
            self.notice = event.message or "The AI model could not answer."
            self.notice_code = event.code

    def end_of_stream(self) -> None:
        """The event iterator ended; without ``done`` that is a failure (the server's notice, if any, says why)."""
        if self.busy:
            if self.notice is not None:
                self._fail(self.notice, self.notice_code or "error")
            else:
                self._fail("The answer stopped before it was complete. Try again.", "stream_incomplete")

    def fail(self, error: ApiError | str) -> None:
        """The request failed outside the stream (offline, quota, server error); the draft stays."""
        if not self.busy:
            raise InvalidTransition(f"failure reported while {self.state}")
        if isinstance(error, ApiError):
            self.quota = error if isinstance(error, QuotaExceeded) else None
            self._fail(error.message, error.code)
        else:
            self._fail(error, "error")

    def run(self, events: Iterable[StreamEvent]) -> ChatState:
        """Apply a whole stream (for a worker without a GUI, and tests); an :class:`ApiError` becomes FAILED."""
        try:
            for event in events:
                self.apply(event)
                if not self.busy:
                    break
        except ApiError as exc:
            if self.busy:
                self.fail(exc)
        self.end_of_stream()
        return self.state

    def _start(self) -> None:
        self.state = ChatState.SENDING
        self.answer = ""
        self.citations = []
        self.message_id = None
        self.error = None
        self.error_code = None
        self.notice = None
        self.notice_code = None
        self.quota = None

    def _finish(self, message_id: str | None) -> None:
        self.messages.append(ChatMessage("user", self.draft_text, self.draft_attachments))
        reply = ChatMessage("assistant", self.answer, citations=tuple(self.citations), message_id=message_id)
        self.messages.append(reply)
        self.message_id = message_id
        self.draft_text = ""
        self.draft_attachments = ()
        self.state = ChatState.DONE

    def _fail(self, message: str, code: str) -> None:
        self.error = message
        self.error_code = code
        self.state = ChatState.FAILED


def _number(citation: Citation) -> int:
    return citation.number
