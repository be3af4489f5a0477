"""View-model of the chat window: one conversation (a ticket), its streamed answers, feedback and failures in words.

The conversation's rules live in the Qt-free :class:`~desktop.core.chat.ChatSession`; this presenter runs the
network calls in workers (``desktop.services.workers``), feeds their events to the session in the GUI thread, and
publishes display state through signals. Widgets only bind to it.

Failures keep the user's text and screenshots: an unreachable server queues a new question on disk (sent later by
the ``OfflineSender`` with the same ``Idempotency-Key``), an exhausted quota shows the reset date and an Upgrade
button, a 422 shows the field's message, an ended session asks for sign-in.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import Slot

from desktop.core.analytics import EventName
from desktop.core.chat import ChatSession
from desktop.core.question import ALLOWED_MEDIA_TYPES, MAX_SCREENSHOTS, Attachment
from desktop.presenters.chat_asking import ChatAsking
from desktop.presenters.chat_base import ChatApi, FeedbackState, Pending
from desktop.presenters.chat_text import (
    EMPTY_QUESTION_TEXT,
    NOTICE_TEXT,
    OFFLINE_QUEUED_TEXT,
    SEED_ATTRIBUTION,
    SIGN_IN_TEXT,
    STOPPED_TEXT,
    citation_attribution,
    quota_text,
)

if TYPE_CHECKING:
    from desktop.core.ocr_text import OcrUpload
    from desktop.core.offline_queue import OfflineQueue

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

_EXTENSIONS: Final = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


class ChatPresenter(ChatAsking):
    """One conversation at a time: a new question (→ ticket → streamed answer), follow-ups, feedback, history.

    Args:
        api: The signed-in API client (``None`` until sign-in; sending then asks for sign-in).
        queue: The signed-in account's offline queue; ``None`` disables queuing.
        device_details: Returns the ``device`` payload when the user shares device details, else ``None``;
            called in a worker thread (it reads system files).
        analytics: Records usage events (a question, a follow-up, an answer's latency, feedback, queuing).
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

    def set_connection(self, api: ChatApi | None, queue: OfflineQueue | None) -> None:
        """Sign-in or sign-out: the next requests use ``api`` and ``queue``; the open conversation is reset."""
        self.new_conversation()
        self._api = api
        self._queue = queue

    # ------------------------------------------------------------------------------------------ attachments
    @Slot(bytes, str, object)
    def attach(self, data: bytes, media_type: str, ocr: OcrUpload | None = None) -> None:
        """Add a redacted screenshot (connect ``CapturePresenter.captured`` here).

        ``ocr`` is the text read on it outside every redaction box; it goes with the screenshot as its ``ocr_<n>``
        part, also from the offline queue. A screenshot starts a new question when the open conversation already has
        a ticket (follow-ups carry text only); the text the user typed stays in the box.
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
        self._attachments.append(Attachment(name, bytes(data), media_type, ocr))
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
        self._start_clock()
        if session.ticket_id is None:
            self._create(text)
        elif follow_up:
            self._record(EventName.FOLLOW_UP)
            self._pending = Pending.FOLLOW_UP
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
        self._asked_at = None
        self._session = ChatSession()
        self._pending = Pending.NONE
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
        """Send "Fixed it" (``True``) or "Still broken" (``False``) for the open ticket."""
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

    def shutdown(self) -> None:
        """Cancel a running answer and wait for the workers (on quit)."""
        if self._stream is not None:
            self._stream.cancel()
        self._pool.wait()

    # ------------------------------------------------------------------------------------------ create
