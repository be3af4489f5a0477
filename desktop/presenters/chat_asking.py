"""Asking a new question: create the ticket with an ``Idempotency-Key``, or queue it on disk when offline.

A retry after a lost answer reuses the key, and so does a question the offline queue already holds: the server then
answers both with one ticket. The ``OfflineSender`` reports queued questions sent or refused through
:meth:`ChatAsking.on_queued_sent` and :meth:`ChatAsking.on_queued_refused`.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from PySide6.QtCore import Slot

from desktop.core.analytics import EventName
from desktop.core.api import (
    ApiError,
    ServerUnreachable,
    Ticket,
)
from desktop.core.question import Question
from desktop.presenters.chat_answers import ChatAnswers
from desktop.presenters.chat_base import Pending
from desktop.presenters.chat_text import (
    OFFLINE_QUEUED_TEXT,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from desktop.core.offline_queue import QueuedQuestion

logger = logging.getLogger(__name__)

__all__ = ["ChatAsking"]


class ChatAsking(ChatAnswers):
    """Creates the ticket for a new question (then streams its answer), or queues the question offline."""

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
        self._start_clock()  # the wait for this answer starts when the question finally got through
        self._resolve()

    @Slot(object)
    def on_queued_refused(self, entry: QueuedQuestion) -> None:
        """Connect to ``OfflineSender.refused``: this conversation's queued question was refused for good; say why.

        The text and screenshots stay in the draft, to change and send again; the queued copy, which would never be sent
        again, is deleted (so going offline once more queues the new attempt, not a dead one).
        """
        mine = self._queued_entry
        if mine is None or mine.entry_id != entry.entry_id or self.busy:
            return
        self._discard_queued(entry)
        self._set_error(entry.refusal_text)
        self._changed()

    def _create(self, text: str) -> None:
        self._pending = Pending.CREATE
        attempt = (text, tuple(self._attachments))
        queued = self._queued_entry
        if queued is not None and (queued.question.description, queued.question.attachments) == attempt:
            key = queued.idempotency_key  # the drain may send it meanwhile: the server answers both with one ticket
        elif attempt == self._attempt and self._attempt_key is not None:
            key = self._attempt_key  # a retry after a lost answer must not make a second ticket
        else:
            key = str(uuid.uuid4())  # a new question, not a retry: counted once, whatever happens to it
            self._record(EventName.QUESTION_ASKED)
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
        self._record(EventName.OFFLINE_QUEUED)
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
