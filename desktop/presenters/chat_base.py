"""The chat presenter's foundation: its signals, the conversation's state, and how failures and text are shown.

:class:`~desktop.presenters.chat_presenter.ChatPresenter` is built in layers, one job each: this base (state and
display), :mod:`~desktop.presenters.chat_answers` (streamed answers, history, feedback),
:mod:`~desktop.presenters.chat_asking` (creating the ticket, or queuing it offline) and the presenter itself (what
the user does). Network calls run in workers (ADR 3) whose signals arrive in bound slots on the GUI thread.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop.core.api import (
    ApiError,
    EventStream,
    QuotaExceeded,
    ServerUnreachable,
    SessionExpired,
    StreamEvent,
    Ticket,
    TicketDetail,
)
from desktop.core.chat import ChatMessage, ChatSession, ChatState
from desktop.presenters.chat_text import (
    OFFLINE_KEPT_TEXT,
    SIGN_IN_TEXT,
    message_html,
    quota_text,
)
from desktop.services.workers import CallWorker, StreamWorker, WorkerPool

if TYPE_CHECKING:
    from collections.abc import Callable

    from desktop.core.analytics import AnalyticsRecorder, EventName
    from desktop.core.offline_queue import OfflineQueue, QueuedQuestion
    from desktop.core.question import Attachment, Question

__all__ = ["ChatApi", "ChatBase", "FeedbackState", "Pending"]


class ChatApi(Protocol):
    """The part of ``ApiClient`` the chat needs (blocking; called from workers only)."""

    def create_ticket(self, question: Question, *, idempotency_key: str | None = None) -> Ticket:
        """``POST /api/v1/tickets``."""
        ...

    def resolve(self, ticket_id: str) -> EventStream[StreamEvent]:
        """``POST /api/v1/tickets/{id}/resolve`` (SSE)."""
        ...

    def send_message(self, ticket_id: str, content: str) -> EventStream[StreamEvent]:
        """``POST /api/v1/tickets/{id}/messages`` (SSE)."""
        ...

    def send_feedback(self, ticket_id: str, *, resolved: bool, comment: str | None = None) -> None:
        """``POST /api/v1/tickets/{id}/feedback``."""
        ...

    def get_ticket(self, ticket_id: str) -> TicketDetail:
        """``GET /api/v1/tickets/{id}``."""
        ...


class FeedbackState(StrEnum):
    """Where the "Fixed it" / "Still broken" row is."""

    HIDDEN = "hidden"
    READY = "ready"
    SENDING = "sending"
    RESOLVED = "resolved"
    ESCALATED = "escalated"


class Pending(StrEnum):
    """What the current (or last failed) request was, so Send retries the right thing."""

    NONE = "none"
    CREATE = "create"
    RESOLVE = "resolve"
    FOLLOW_UP = "follow_up"


class ChatBase(QObject):
    """The chat presenter's state, signals and display plumbing; :class:`ChatPresenter` is the class to use.

    Its docstring lists the constructor's arguments and the signals.
    """

    state_changed = Signal(str)
    transcript_changed = Signal(str)
    notice_changed = Signal(str)
    error_changed = Signal(str)
    field_errors_changed = Signal(dict)
    quota_changed = Signal(object)
    attachments_changed = Signal(list)
    feedback_changed = Signal(str)
    draft_cleared = Signal()
    ticket_changed = Signal(str)
    queued = Signal(object)
    sign_in_required = Signal()
    upgrade_requested = Signal(str)

    def __init__(
        self,
        api: ChatApi | None,
        *,
        queue: OfflineQueue | None = None,
        device_details: Callable[[], dict[str, Any] | None] | None = None,
        analytics: AnalyticsRecorder | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._api = api
        self._queue = queue
        self._device_details = device_details
        self._analytics = analytics
        self._asked_at: float | None = None  # monotonic time of the Send whose answer is awaited (its latency)
        self._pool = WorkerPool(parent=self)
        self._session = ChatSession()
        self._attachments: list[Attachment] = []
        self._pending = Pending.NONE
        self._stream: StreamWorker | None = None
        self._calls: set[CallWorker[Any]] = set()
        self._create_worker: CallWorker[Any] | None = None
        self._history_worker: CallWorker[Any] | None = None
        self._attempt: tuple[str, tuple[Attachment, ...]] | None = None
        self._attempt_key: str | None = None
        self._queued_entry: QueuedQuestion | None = None
        self._error = ""
        self._notice = ""
        self._waiting_for = ""  # the notice a `progress` event set, cleared when the answer starts
        self._feedback = FeedbackState.HIDDEN
        self._feedback_resolved = False
        self._history_html = ""
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(0)  # coalesce a burst of deltas into one render per event-loop pass
        self._render_timer.timeout.connect(self._render)

    @property
    def session(self) -> ChatSession:
        """The conversation's state machine (read it; change it through the slots)."""
        return self._session

    @property
    def state(self) -> ChatState:
        """Shortcut for ``session.state``."""
        return self._session.state

    @property
    def busy(self) -> bool:
        """A question or follow-up is on its way."""
        return self._session.busy

    @property
    def attachments(self) -> list[Attachment]:
        """Screenshots for the next new question (a copy)."""
        return list(self._attachments)

    @property
    def error_text(self) -> str:
        """The failure shown in words ("" when none)."""
        return self._error

    @property
    def notice_text(self) -> str:
        """The fallback-answer notice ("" when none)."""
        return self._notice

    @property
    def feedback_state(self) -> FeedbackState:
        """Where the feedback row is."""
        return self._feedback

    @property
    def queued_entry(self) -> QueuedQuestion | None:
        """This conversation's question waiting in the offline queue, if any."""
        return self._queued_entry

    @property
    def is_follow_up(self) -> bool:
        """The next Send asks a follow-up in the existing ticket (no screenshots then)."""
        return self._session.ticket_id is not None and self._pending is not Pending.RESOLVE

    def transcript_html(self) -> str:
        """The conversation as HTML: untrusted text escaped, Markdown made safe, citations as numbered links."""
        parts = [self._history_html]
        session = self._session
        if session.busy or session.state is ChatState.FAILED:
            parts.append(message_html(ChatMessage("user", session.draft_text, session.draft_attachments)))
            if session.answer or session.citations:
                reply = ChatMessage("assistant", session.answer, citations=tuple(session.citations))
                parts.append(message_html(reply))
            elif session.busy:
                parts.append("<p><i>Tech Pal is thinking…</i></p>")
        return "".join(parts)

    # ------------------------------------------------------------------------------------------ attachments

    # ------------------------------------------------------------------------------------------ plumbing
    def _record(self, name: EventName, value: int | None = None) -> None:
        """Note a usage event (its name and number only: never the text, the ticket or a file name)."""
        if self._analytics is not None:
            self._analytics.record(name, value)

    def _start_clock(self) -> None:
        """The answer awaited from now on: its latency runs from here to its last word."""
        self._asked_at = time.monotonic()

    def _stop_clock(self) -> int | None:
        """Milliseconds since :meth:`_start_clock` (``None`` if it was not started); the clock stops."""
        started, self._asked_at = self._asked_at, None
        return None if started is None else round((time.monotonic() - started) * 1000)

    def _call(
        self,
        work: Callable[[], Any],
        on_success: Callable[[Any], None] | None,
        on_failure: Callable[[ApiError], None] | None,
    ) -> CallWorker[Any]:
        worker: CallWorker[Any] = CallWorker(work, self)
        if on_success is not None:
            worker.succeeded.connect(on_success)  # bound slots of this GUI-thread object: queued
        if on_failure is not None:
            worker.failed.connect(on_failure)
        worker.finished.connect(self._on_call_finished)
        self._calls.add(worker)
        worker.start(self._pool)
        return worker

    @Slot()
    def _on_call_finished(self) -> None:
        worker = self.sender()
        if isinstance(worker, CallWorker):
            self._calls.discard(worker)
            worker.deleteLater()

    def _report(self, error: ApiError) -> None:
        """A failure of the current request, in words; the draft stays."""
        if isinstance(error, ServerUnreachable):
            self._fail(error, OFFLINE_KEPT_TEXT)
        elif isinstance(error, QuotaExceeded):
            self._fail(error, quota_text(error))
            self.quota_changed.emit(error)
        elif isinstance(error, SessionExpired):
            self._fail(error, SIGN_IN_TEXT)
            self.sign_in_required.emit()
        else:
            if error.field_errors:
                self._set_field_errors({e.field: e.message for e in error.field_errors})
            self._fail(error, error.message)

    def _fail(self, error: ApiError, text: str) -> None:
        if self._session.busy:
            self._session.fail(error)
        self._stream = None
        self._set_error(text)
        self._changed()

    def _set_error(self, text: str) -> None:
        if text != self._error:
            self._error = text
            self.error_changed.emit(text)

    def _set_notice(self, text: str) -> None:
        if text != self._notice:
            self._notice = text
            self.notice_changed.emit(text)

    def _set_feedback(self, state: FeedbackState) -> None:
        if state is not self._feedback:
            self._feedback = state
            self.feedback_changed.emit(str(state))

    def _set_field_errors(self, errors: dict[str, str]) -> None:
        self.field_errors_changed.emit(errors)

    def _changed(self) -> None:
        self.state_changed.emit(str(self._session.state))
        self._render_timer.stop()
        self._render()

    def _schedule_render(self) -> None:
        if not self._render_timer.isActive():
            self._render_timer.start()

    @Slot()
    def _render(self) -> None:
        self.transcript_changed.emit(self.transcript_html())
