"""View-model of the chat window: one conversation (a ticket), its streamed answers, feedback and failures in words.

The conversation's rules live in the Qt-free :class:`~desktop.core.chat.ChatSession`; this presenter runs the
network calls in workers (``desktop.services.workers``), feeds their events to the session in the GUI thread, and
publishes display state through signals. Widgets only bind to it.

Failures keep the user's text and screenshots: an unreachable server queues a new question on disk (sent later by
the ``OfflineSender`` with the same ``Idempotency-Key``), an exhausted quota shows the reset date and an Upgrade
button, a 422 shows the field's message, an ended session asks for sign-in.
"""

from __future__ import annotations

import html
import logging
import uuid
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any, Final, Protocol

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop.core.api import (
    ApiError,
    Citation,
    DeltaEvent,
    DoneEvent,
    ErrorEvent,
    EventStream,
    QuotaExceeded,
    ServerUnreachable,
    SessionExpired,
    StreamEvent,
    Ticket,
    TicketDetail,
    TriageEvent,
)
from desktop.core.chat import ChatMessage, ChatSession, ChatState
from desktop.core.links import answer_to_html, check_link
from desktop.core.offline_queue import OfflineQueue, QueuedQuestion
from desktop.core.question import ALLOWED_MEDIA_TYPES, MAX_SCREENSHOTS, Attachment, Question
from desktop.services.workers import CallWorker, StreamWorker, WorkerPool

__all__ = [
    "NOTICE_TEXT",
    "OFFLINE_QUEUED_TEXT",
    "SEED_ATTRIBUTION",
    "ChatApi",
    "ChatPresenter",
    "FeedbackState",
    "citation_attribution",
    "quota_text",
]

logger = logging.getLogger(__name__)

OFFLINE_QUEUED_TEXT: Final = "You're offline — your question is saved and will be sent when the server is back."
OFFLINE_KEPT_TEXT: Final = "You're offline — your text is kept. Send it again when the server is back."
NOTICE_TEXT: Final = "The AI model could not answer; here is what the knowledge base suggests."
STOPPED_TEXT: Final = "Stopped. Your question is kept; press Send to ask again."
SIGN_IN_TEXT: Final = "Your session has ended. Please sign in again — your question is kept."
EMPTY_QUESTION_TEXT: Final = "Describe the problem first."
SEED_ATTRIBUTION: Final = "Microsoft support articles, CC BY 4.0, modified"
CC_BY_URL: Final = "https://creativecommons.org/licenses/by/4.0/"
# Seed articles link to their source file in these repositories (server/domain/knowledge/importer.py).
_SEED_SOURCE_PREFIX: Final = "https://github.com/MicrosoftDocs/"
_EXTENSIONS: Final = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
_ROLE_NAMES: Final = {"user": "You", "assistant": "Tech Pal", "agent": "Support agent"}


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


class _Pending(StrEnum):
    """What the current (or last failed) request was, so Send retries the right thing."""

    NONE = "none"
    CREATE = "create"
    RESOLVE = "resolve"
    FOLLOW_UP = "follow_up"


def citation_attribution(citation: Citation) -> str | None:
    """The licence line a cited seed article needs (CC BY 4.0), or ``None`` for our own articles."""
    if (citation.source_url or "").startswith(_SEED_SOURCE_PREFIX):
        return SEED_ATTRIBUTION
    return None


def quota_text(error: QuotaExceeded) -> str:
    """The quota panel's sentence, e.g. "You've used all 10 answers of the free plan. It resets on June 1, 2026."."""
    if error.quota is not None and error.plan:
        first = f"You've used all {error.quota} answers of the {error.plan} plan for this period."
    else:
        first = error.message
    if error.resets_at is None:
        return first
    local = error.resets_at.astimezone()
    return f"{first} It resets on {local:%B} {local.day}, {local.year}."


class ChatPresenter(QObject):
    """One conversation at a time: a new question (→ ticket → streamed answer), follow-ups, feedback, history.

    Args:
        api: The signed-in API client (``None`` until sign-in; sending then asks for sign-in).
        queue: The signed-in account's offline queue; ``None`` disables queuing.
        device_details: Returns the ``device`` payload when the user shares device details, else ``None``;
            called in a worker thread (it reads system files).
        parent: Owning QObject.

    Signals:
        state_changed(str): The :class:`ChatState` (``busy`` disables Send and locks the text box).
        transcript_changed(str): The conversation as safe HTML (finished messages + the answer so far).
        notice_changed(str): The line above a fallback answer ("" hides it).
        error_changed(str): The current failure in words ("" hides it).
        field_errors_changed(dict): ``{field: message}`` of a refused input (e.g. ``description``).
        quota_changed(object): The :class:`QuotaExceeded` to show in the quota panel, or ``None``.
        attachments_changed(list): The screenshots (:class:`Attachment`) that go with the next new question.
        feedback_changed(str): The :class:`FeedbackState`.
        draft_cleared(): The answer is complete: the text box may be emptied.
        ticket_changed(str): The conversation's ticket id ("" for a new question).
        queued(object): The question was saved in the offline queue (:class:`QueuedQuestion`).
        sign_in_required(): The session ended; the shell shows sign-in (the draft stays).
        upgrade_requested(str): The user pressed Upgrade; the plan key to check out.
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
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._api = api
        self._queue = queue
        self._device_details = device_details
        self._pool = WorkerPool(parent=self)
        self._session = ChatSession()
        self._attachments: list[Attachment] = []
        self._pending = _Pending.NONE
        self._stream: StreamWorker | None = None
        self._calls: set[CallWorker[Any]] = set()
        self._create_worker: CallWorker[Any] | None = None
        self._history_worker: CallWorker[Any] | None = None
        self._attempt: tuple[str, tuple[Attachment, ...]] | None = None
        self._attempt_key: str | None = None
        self._queued_entry: QueuedQuestion | None = None
        self._error = ""
        self._notice = ""
        self._feedback = FeedbackState.HIDDEN
        self._feedback_resolved = False
        self._history_html = ""
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(0)  # coalesce a burst of deltas into one render per event-loop pass
        self._render_timer.timeout.connect(self._render)

    # ------------------------------------------------------------------------------------------ state
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
        return self._session.ticket_id is not None and self._pending is not _Pending.RESOLVE

    def set_connection(self, api: ChatApi | None, queue: OfflineQueue | None) -> None:
        """Sign-in or sign-out: the next requests use ``api`` and ``queue``; the open conversation is reset."""
        self.new_conversation()
        self._api = api
        self._queue = queue

    def transcript_html(self) -> str:
        """The conversation as HTML: untrusted text escaped, Markdown made safe, citations as numbered links."""
        parts = [self._history_html]
        session = self._session
        if session.busy or session.state is ChatState.FAILED:
            parts.append(_message_html(ChatMessage("user", session.draft_text, session.draft_attachments)))
            if session.answer or session.citations:
                reply = ChatMessage("assistant", session.answer, citations=tuple(session.citations))
                parts.append(_message_html(reply))
            elif session.busy:
                parts.append("<p><i>Tech Pal is thinking…</i></p>")
        return "".join(parts)

    # ------------------------------------------------------------------------------------------ attachments
    @Slot(bytes, str)
    def attach(self, data: bytes, media_type: str) -> None:
        """Add a redacted screenshot (connect ``CapturePresenter.captured`` here).

        A screenshot starts a new question when the open conversation already has a ticket (follow-ups carry
        text only); the text the user typed stays in the box.
        """
        if self.busy:
            self._set_field_errors({"screenshots": "Wait for the answer before adding a screenshot."})
            return
        if self._session.ticket_id is not None:
            self.new_conversation()
        if media_type not in ALLOWED_MEDIA_TYPES:
            self._set_field_errors({"screenshots": "Screenshots must be PNG, JPEG or WebP images."})
            return
        if len(self._attachments) >= MAX_SCREENSHOTS:
            self._set_field_errors({"screenshots": f"At most {MAX_SCREENSHOTS} screenshots fit in one question."})
            return
        name = f"screenshot-{uuid.uuid4().hex[:8]}.{_EXTENSIONS[media_type]}"
        self._attachments.append(Attachment(name, bytes(data), media_type))
        self._set_field_errors({})
        self.attachments_changed.emit(self.attachments)

    @Slot(int)
    def remove_attachment(self, index: int) -> None:
        """Drop the screenshot at ``index`` (not while it is being sent)."""
        if self.busy or not 0 <= index < len(self._attachments):
            return
        del self._attachments[index]
        self.attachments_changed.emit(self.attachments)

    # ------------------------------------------------------------------------------------------ sending
    @Slot(str)
    def send(self, text: str) -> None:
        """Send a new question, retry a failed one, or ask a follow-up; never blocks."""
        if self.busy:
            return
        if not text.strip():
            self._set_field_errors({"description": EMPTY_QUESTION_TEXT})
            return
        self._set_field_errors({})
        if self._api is None:
            self._set_error(SIGN_IN_TEXT)
            self.sign_in_required.emit()
            return
        session = self._session
        follow_up = self.is_follow_up
        session.send(text, () if follow_up else self._attachments)
        self._set_error("")
        self._set_notice("")
        self.quota_changed.emit(None)
        self._set_feedback(FeedbackState.HIDDEN)
        self._changed()
        if session.ticket_id is None:
            self._create(text)
        elif follow_up:
            self._pending = _Pending.FOLLOW_UP
            api, ticket_id = self._api, session.ticket_id
            self._start_stream(lambda: api.send_message(ticket_id, text))
        else:
            self._resolve()

    @Slot()
    def cancel(self) -> None:
        """Stop the answer being streamed; the question stays for another try."""
        if self._stream is not None and self._session.busy:
            self._stream.cancel()
            self._stream = None
            self._session.fail(STOPPED_TEXT)
            self._set_error(STOPPED_TEXT)
            self._changed()

    @Slot()
    def new_conversation(self) -> None:
        """Forget the open conversation (a new question comes next). A queued question stays queued."""
        if self._stream is not None:
            self._stream.cancel()
            self._stream = None
        self._create_worker = None
        self._history_worker = None
        self._session = ChatSession()
        self._pending = _Pending.NONE
        self._attempt = None
        self._attempt_key = None
        self._queued_entry = None
        self._history_html = ""
        if self._attachments:
            self._attachments = []
            self.attachments_changed.emit([])
        self._set_error("")
        self._set_notice("")
        self._set_field_errors({})
        self.quota_changed.emit(None)
        self._set_feedback(FeedbackState.HIDDEN)
        self.ticket_changed.emit("")
        self._changed()

    @Slot(str)
    def open_ticket(self, ticket_id: str) -> None:
        """Show a ticket's conversation (read-only history); Send then asks a follow-up."""
        self.new_conversation()
        if self._api is None:
            self._set_error(SIGN_IN_TEXT)
            self.sign_in_required.emit()
            return
        self._session.ticket_id = ticket_id
        self._history_html = "<p><i>Loading the conversation…</i></p>"
        self.ticket_changed.emit(ticket_id)
        self._changed()
        api = self._api
        worker = self._call(lambda: api.get_ticket(ticket_id), self._on_history, self._on_history_failed)
        self._history_worker = worker

    @Slot(bool)
    def give_feedback(self, resolved: bool) -> None:
        """ "Fixed it" (``True``) or "Still broken" (``False``) for the open ticket."""
        ticket_id = self._session.ticket_id
        if self._api is None or ticket_id is None or self._feedback is not FeedbackState.READY:
            return
        self._set_feedback(FeedbackState.SENDING)
        self._feedback_resolved = resolved
        api = self._api
        self._call(
            lambda: api.send_feedback(ticket_id, resolved=resolved), self._on_feedback_sent, self._on_feedback_failed
        )

    @Slot()
    def request_upgrade(self) -> None:
        """The quota panel's Upgrade button: asks the shell to open checkout for the first larger plan."""
        quota = self._session.quota
        if quota is not None and quota.upgrade_plans:
            self.upgrade_requested.emit(quota.upgrade_plans[0])

    @Slot(object, object)
    def on_queued_sent(self, entry: QueuedQuestion, ticket: Ticket) -> None:
        """Connect to ``OfflineSender.sent``: when this conversation's queued question arrives, stream its answer."""
        mine = self._queued_entry
        if mine is None or mine.entry_id != entry.entry_id or self.busy:
            return
        self._queued_entry = None
        self._session.retry()
        self._session.ticket_created(str(ticket.id))
        self._set_error("")
        self.ticket_changed.emit(str(ticket.id))
        self._changed()
        self._resolve()

    @Slot(object)
    def on_queued_refused(self, entry: QueuedQuestion) -> None:
        """Connect to ``OfflineSender.refused``: this conversation's queued question was refused for good; say why.
        The text and screenshots stay in the draft, to change and send again; the queued copy, which would never be
        sent again, is deleted (so going offline once more queues the new attempt, not a dead one)."""
        mine = self._queued_entry
        if mine is None or mine.entry_id != entry.entry_id or self.busy:
            return
        self._discard_queued(entry)
        self._set_error(entry.refusal_text)
        self._changed()

    def shutdown(self) -> None:
        """Cancel a running answer and wait for the workers (on quit)."""
        if self._stream is not None:
            self._stream.cancel()
        self._pool.wait()

    # ------------------------------------------------------------------------------------------ create
    def _create(self, text: str) -> None:
        self._pending = _Pending.CREATE
        attempt = (text, tuple(self._attachments))
        queued = self._queued_entry
        if queued is not None and (queued.question.description, queued.question.attachments) == attempt:
            key = queued.idempotency_key  # the drain may send it meanwhile: the server answers both with one ticket
        elif attempt == self._attempt and self._attempt_key is not None:
            key = self._attempt_key  # a retry after a lost answer must not make a second ticket
        else:
            key = str(uuid.uuid4())
            if queued is not None:  # the user changed the queued question: the new one replaces it
                self._discard_queued(queued)
        self._attempt, self._attempt_key = attempt, key
        api, compose = self._api, self._composer(text)
        assert api is not None
        self._create_worker = self._call(
            lambda: api.create_ticket(compose(), idempotency_key=key), self._on_created, self._on_create_failed
        )

    def _composer(self, text: str) -> Callable[[], Question]:
        attachments, device_details = tuple(self._attachments), self._device_details

        def compose() -> Question:  # runs in the worker: collecting device details reads system files
            return Question(text, attachments, device=device_details() if device_details is not None else None)

        return compose

    @Slot(object)
    def _on_created(self, ticket: Ticket) -> None:
        if self.sender() is not self._create_worker:
            return
        self._create_worker = None
        if self._queued_entry is not None:
            self._discard_queued(self._queued_entry)
        self._session.ticket_created(str(ticket.id))
        self.ticket_changed.emit(str(ticket.id))
        self._resolve()

    @Slot(object)
    def _on_create_failed(self, error: ApiError) -> None:
        if self.sender() is not self._create_worker:
            return
        self._create_worker = None
        if isinstance(error, ServerUnreachable) and self._queue is not None:
            if self._queued_entry is not None:  # already saved: nothing more to write
                self._fail(error, OFFLINE_QUEUED_TEXT)
                return
            queue, compose = self._queue, self._composer(self._session.draft_text)
            self._create_worker = self._call(lambda: queue.enqueue(compose()), self._on_queued, self._on_queue_failed)
            return
        self._report(error)

    @Slot(object)
    def _on_queued(self, entry: QueuedQuestion) -> None:
        if self.sender() is not self._create_worker:
            return
        self._create_worker = None
        self._queued_entry = entry
        self._fail(ServerUnreachable(), OFFLINE_QUEUED_TEXT)
        self.queued.emit(entry)

    @Slot(object)
    def _on_queue_failed(self, error: ApiError) -> None:
        if self.sender() is not self._create_worker:
            return
        self._create_worker = None
        logger.warning("could not save the question in the offline queue: %s", error.detail)
        self._fail(error, f"You're offline, and the question could not be saved for later: {error.message}")

    def _discard_queued(self, entry: QueuedQuestion) -> None:
        queue = self._queue
        self._queued_entry = None
        if queue is not None:
            self._call(lambda: queue.discard(entry.entry_id), None, None)

    # ------------------------------------------------------------------------------------------ streams
    def _resolve(self) -> None:
        self._pending = _Pending.RESOLVE
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

    @Slot(object)
    def _on_triage(self, event: TriageEvent) -> None:
        if self._current_stream():
            self._apply(event)

    @Slot(object)
    def _on_citation(self, event: Citation) -> None:
        if self._current_stream():
            self._apply(event)
            self._schedule_render()

    @Slot(str)
    def _on_delta(self, text: str) -> None:
        if self._current_stream():
            self._apply(DeltaEvent(text=text))
            self._schedule_render()

    @Slot(object)
    def _on_notice(self, event: ErrorEvent) -> None:
        if self._current_stream():
            self._apply(event)
            self._set_notice(NOTICE_TEXT)

    @Slot(object)
    def _on_done(self, event: DoneEvent) -> None:
        if not self._current_stream():
            return
        self._session.apply(event)
        self._pending = _Pending.NONE
        self._attempt = None
        self._attempt_key = None
        self._history_html = "".join(_message_html(m) for m in self._session.messages)
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
        self._history_html = "".join(_message_html(m) for m in messages)
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
        self._set_feedback(FeedbackState.RESOLVED if self._feedback_resolved else FeedbackState.ESCALATED)

    @Slot(object)
    def _on_feedback_failed(self, error: ApiError) -> None:
        self._set_feedback(FeedbackState.READY)
        if isinstance(error, SessionExpired):
            self.sign_in_required.emit()
        self._set_error(f"Your feedback was not sent: {error.message}")

    # ------------------------------------------------------------------------------------------ plumbing
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


def _message_html(message: ChatMessage) -> str:
    who = html.escape(_ROLE_NAMES.get(message.role, message.role.title()))
    header = f'<p style="margin-top:12px"><b>{who}</b></p>'
    if message.role == "user":
        body = "<p>" + html.escape(message.text).replace("\n", "<br/>") + "</p>"
        if message.attachments:
            count = len(message.attachments)
            body += f"<p><i>{count} screenshot{'s' if count != 1 else ''} attached</i></p>"
    else:
        body = answer_to_html(message.text)
    return header + body + _citations_html(message.citations)


def _citations_html(citations: Sequence[Citation]) -> str:
    """Numbered sources; a link only where :func:`check_link` allows it, with CC BY attribution for seed articles."""
    if not citations:
        return ""
    rows = []
    for position, citation in enumerate(citations, start=1):
        number = citation.number or position
        title = html.escape(citation.title or "Untitled article")
        link = check_link(citation.source_url) if citation.source_url else None
        if link is not None and link.allowed:
            href = html.escape(link.url, quote=True)
            row = f'[{number}] <a href="{href}">{title}</a><br/><small>{html.escape(link.url)}</small>'
        else:
            row = f"[{number}] {title}"
        attribution = citation_attribution(citation)
        if attribution is not None:
            row += f'<br/><small>{html.escape(attribution)} — <a href="{CC_BY_URL}">licence</a></small>'
        rows.append(f'<p style="margin-left:12px">{row}</p>')
    return "<p><b>Sources</b></p>" + "".join(rows)
