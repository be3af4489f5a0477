"""Signing out: ask first when unsent questions would be deleted, end the session on the server, forget the tokens.

A part of :class:`~desktop.presenters.session_presenter.SessionPresenter` (a mixin: the presenter provides the
attributes declared here).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from desktop.presenters.session_state import error_message

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance

    from desktop.core.api.client import ApiClient
    from desktop.core.offline_queue import OfflineQueue
    from desktop.services.tasks import TaskRunner

__all__ = ["SignOutRequests"]

logger = logging.getLogger(__name__)


class SignOutRequests:
    """Sign-out of the session presenter."""

    _client: ApiClient | None
    _runner: TaskRunner
    sign_out_needs_confirmation: SignalInstance

    @property
    def is_signed_in(self) -> bool:
        """Provided by the presenter."""
        raise NotImplementedError

    def offline_queue(self) -> OfflineQueue | None:
        """Provided by the presenter."""
        raise NotImplementedError

    def _forget_session(self, reason: str) -> None:
        raise NotImplementedError

    def request_sign_out(self) -> None:
        """Sign out, asking first (``sign_out_needs_confirmation``) when unsent questions would be deleted."""
        if not self.is_signed_in:
            return
        queue = self.offline_queue()
        if queue is None:
            self.sign_out(clear_queue=False)
            return
        self._runner.run(lambda: len(queue), self._on_queue_counted, lambda _exc: self.sign_out(clear_queue=True))

    def _on_queue_counted(self, count: int) -> None:
        if count:
            self.sign_out_needs_confirmation.emit(count)
        else:
            self.sign_out(clear_queue=True)

    def sign_out(self, *, clear_queue: bool, on_server: bool = True) -> None:
        """End the session on the server (unless it ended it itself) and forget the tokens; optionally the outbox."""
        client = self._client
        if client is None or not self.is_signed_in:
            return
        queue = self.offline_queue() if clear_queue else None

        def call() -> None:
            # logout forgets the tokens locally even when the server cannot be reached
            (client.logout if on_server else client.forget)()
            if queue is not None:
                queue.clear()

        self._forget_session("")
        self._runner.run(call, _ignore, lambda exc: logger.warning("sign-out: %s", error_message(exc)))


def _ignore(_value: object) -> None:
    """Callback for results nobody needs."""
