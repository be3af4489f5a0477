"""The chat's streamed answers (a new question's resolve, a follow-up), a ticket's history, and feedback."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot

from desktop.core.analytics import EventName
from desktop.core.api import (
    ApiError,
    Citation,
    DeltaEvent,
    DoneEvent,
    ErrorEvent,
    EventStream,
    NoteEvent,
    ProgressEvent,
    SessionExpired,
    StreamEvent,
    TicketDetail,
    TriageEvent,
)
from desktop.core.chat import ChatMessage
from desktop.presenters.chat_base import ChatBase, FeedbackState, Pending
from desktop.presenters.chat_text import (
    NOTICE_TEXT,
    message_html,
)
from desktop.services.workers import StreamWorker

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["ChatAnswers"]


class ChatAnswers(ChatBase):
    """Streams an answer into the conversation event by event; loads history; sends feedback."""

    def _resolve(self) -> None:
        self._pending = Pending.RESOLVE
        api, ticket_id = self._api, self._session.ticket_id
        assert api is not None
        assert ticket_id is not None
        self._start_stream(lambda: api.resolve(ticket_id))

    def _start_stream(self, open_stream: Callable[[], EventStream[StreamEvent]]) -> None:
        worker = StreamWorker(open_stream, self)
        worker.triage.connect(self._on_triage)
        worker.citation.connect(self._on_citation)
        worker.delta.connect(self._on_delta)
        worker.notice.connect(self._on_notice)
        worker.note.connect(self._on_note)
        worker.progress.connect(self._on_progress)
        worker.done.connect(self._on_done)
        worker.failed.connect(self._on_stream_failed)
        worker.finished.connect(self._on_stream_finished)
        self._stream = worker
        worker.start(self._pool)

    def _current_stream(self) -> bool:
        return self._stream is not None and self.sender() is self._stream and self._session.busy

    def _apply(self, event: StreamEvent) -> None:
        before = self._session.state
        self._session.apply(event)
        if self._session.state is not before:
            self.state_changed.emit(str(self._session.state))

    def _apply_answer(self, event: StreamEvent) -> None:
        """Apply a part of the answer itself: the wait it may have announced (``progress``) is over."""
        if self._waiting_for:
            if self._notice == self._waiting_for:
                self._set_notice("")
            self._waiting_for = ""
        self._apply(event)

    @Slot(object)
    def _on_progress(self, event: ProgressEvent) -> None:
        if self._current_stream() and event.message:  # "Reading your screenshot…", until the answer starts
            self._waiting_for = event.message
            self._set_notice(event.message)

    @Slot(object)
    def _on_triage(self, event: TriageEvent) -> None:
        if self._current_stream():
            self._apply_answer(event)

    @Slot(object)
    def _on_citation(self, event: Citation) -> None:
        if self._current_stream():
            self._apply_answer(event)
            self._schedule_render()

    @Slot(str)
    def _on_delta(self, text: str) -> None:
        if self._current_stream():
            self._apply_answer(DeltaEvent(text=text))
            self._schedule_render()

    @Slot(object)
    def _on_notice(self, event: ErrorEvent) -> None:
        if self._current_stream():
            self._apply(event)
            self._set_notice(NOTICE_TEXT)

    @Slot(object)
    def _on_note(self, event: NoteEvent) -> None:
        if self._current_stream() and event.message:  # shown above the answer; the answer goes on
            self._set_notice(event.message)

    @Slot(object)
    def _on_done(self, event: DoneEvent) -> None:
        if not self._current_stream():
            return
        self._session.apply(event)
        latency_ms = self._stop_clock()
        if latency_ms is not None:
            self._record(EventName.ANSWER_RECEIVED, latency_ms)
        self._pending = Pending.NONE
        self._attempt = None
        self._attempt_key = None
        self._history_html = "".join(message_html(m) for m in self._session.messages)
        self._attachments = []
        self.attachments_changed.emit([])
        self._set_feedback(FeedbackState.READY)
        self.draft_cleared.emit()
        self._changed()

    @Slot(object)
    def _on_stream_failed(self, error: ApiError) -> None:
        if self._current_stream():
            self._report(error)

    @Slot()
    def _on_stream_finished(self) -> None:
        worker = self.sender()
        if worker is not self._stream:
            if isinstance(worker, QObject):
                worker.deleteLater()
            return
        self._stream = None
        if self._session.busy:  # ended without done: the server's notice (or "incomplete") says why
            self._session.end_of_stream()
            self._set_error(self._session.error or "")
            self._changed()
        if isinstance(worker, QObject):
            worker.deleteLater()

    # ------------------------------------------------------------------------------------------ history, feedback

    @Slot(object)
    def _on_history(self, detail: TicketDetail) -> None:
        if self.sender() is not self._history_worker:
            return
        self._history_worker = None
        messages = [
            ChatMessage(m.role, m.content, citations=tuple(m.citations), message_id=str(m.id)) for m in detail.messages
        ]
        if not messages:
            messages = [ChatMessage("user", detail.description)]
        self._session.messages = messages
        self._history_html = "".join(message_html(m) for m in messages)
        if detail.status not in ("resolved", "closed", "escalated") and any(m.role == "assistant" for m in messages):
            self._set_feedback(FeedbackState.READY)
        self._changed()

    @Slot(object)
    def _on_history_failed(self, error: ApiError) -> None:
        if self.sender() is not self._history_worker:
            return
        self._history_worker = None
        self._history_html = ""
        if isinstance(error, SessionExpired):
            self.sign_in_required.emit()
        self._set_error(f"The conversation could not be loaded: {error.message}")
        self._changed()

    @Slot(object)
    def _on_feedback_sent(self, _result: object) -> None:
        self._record(EventName.FIXED if self._feedback_resolved else EventName.STILL_BROKEN)
        self._set_feedback(FeedbackState.RESOLVED if self._feedback_resolved else FeedbackState.ESCALATED)

    @Slot(object)
    def _on_feedback_failed(self, error: ApiError) -> None:
        self._set_feedback(FeedbackState.READY)
        if isinstance(error, SessionExpired):
            self.sign_in_required.emit()
        self._set_error(f"Your feedback was not sent: {error.message}")

    # ------------------------------------------------------------------------------------------ plumbing
