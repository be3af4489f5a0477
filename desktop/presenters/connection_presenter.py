"""What being signed in switches on: the events stream, the offline sender, the chat's and tickets' connection.

It follows the :class:`~desktop.presenters.session_presenter.SessionPresenter`'s state: signing in starts the
``/api/v1/events`` stream (desktop notifications) and the sender of questions queued while offline, and hands the
signed-in client to the chat and tickets presenters; signing out stops both and takes the client back. It also asks
before a sign-out deletes queued questions, and turns session warnings and a restored account into notifications.
Windows are not its job: it asks for the sign-in dialog through ``sign_in_requested``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QObject, Signal, Slot

from desktop.presenters.session_presenter import SessionPresenter, SessionState
from desktop.services.events_worker import EventsWorker

if TYPE_CHECKING:  # the chat, tickets and sender modules load once their windows or a session need them
    from desktop.core.api.models import Ticket
    from desktop.core.offline_queue import QueuedQuestion
    from desktop.core.question import Question
    from desktop.presenters.chat_presenter import ChatPresenter
    from desktop.presenters.tickets_presenter import TicketsPresenter
    from desktop.presenters.tray_presenter import TrayPresenter
    from desktop.services.health_worker import HealthChecker
    from desktop.services.offline_sender import OfflineSender
    from desktop.services.settings_store import QtSettingsStore

__all__ = ["FIRST_RUN_TEXT", "FIRST_RUN_TITLE", "RESTORED_TITLE", "AskUser", "ConnectionPresenter"]

FIRST_RUN_TITLE: Final = "Tech Pal is ready"
FIRST_RUN_TEXT: Final = "Click the Tech Pal icon to sign in and ask for help."
KEYRING_TITLE: Final = "Sign-in kept in memory only"
SIGNED_OUT_TITLE: Final = "Signed out"
RESTORED_TITLE: Final = "Your account is restored"
RESTORED_TEXT: Final = (
    "Your profile, tickets and conversations are back. A cancelled subscription does not restart; sign in again on "
    "your other devices."
)

AskUser = Callable[[str, str], bool]


class ConnectionPresenter(QObject):
    """The signed-in connection and what hangs on it.

    Args:
        settings: The desktop settings (device-details consent, first run).
        session: The sign-in session.
        tray: The tray presenter: notifications, the signed-in menu state, the network state.
        checker: Returns the current health checker (the offline sender drains when the server comes back).
        ask_user: Yes/no question to the user (sign-out with queued questions).
        parent: Owning QObject.

    Signals:
        sign_in_requested(): Show the sign-in dialog (the session ended, or an action needs an account).
    """

    sign_in_requested = Signal()

    def __init__(
        self,
        settings: QtSettingsStore,
        session: SessionPresenter,
        tray: TrayPresenter,
        *,
        checker: Callable[[], HealthChecker],
        ask_user: AskUser,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._session = session
        self._tray = tray
        self._checker = checker
        self._ask_user = ask_user
        self._events: EventsWorker | None = None
        self._retired_events: list[EventsWorker] = []
        self._sender: OfflineSender | None = None
        self._chat: ChatPresenter | None = None
        self._tickets: TicketsPresenter | None = None
        session.state_changed.connect(self._on_session_state)
        session.warning.connect(self._on_keyring_warning)
        session.signed_out.connect(self._on_signed_out)
        session.account_restored.connect(self._on_account_restored)
        session.sign_out_needs_confirmation.connect(self._confirm_sign_out)

    @property
    def events_worker(self) -> EventsWorker | None:
        """The running events stream, while signed in."""
        return self._events

    @property
    def offline_sender(self) -> OfflineSender | None:
        """The offline sender, while signed in."""
        return self._sender

    @property
    def chat_presenter(self) -> ChatPresenter | None:
        """The chat presenter once the chat window exists."""
        return self._chat

    @property
    def tickets_presenter(self) -> TicketsPresenter | None:
        """The tickets presenter once the tickets window exists."""
        return self._tickets

    def attach_chat(self, presenter: ChatPresenter) -> None:
        """Give the chat the signed-in client and queue, now and at every change; route its sign-in requests."""
        self._chat = presenter
        presenter.sign_in_required.connect(self.request_sign_in)
        self._update_connections()

    def attach_tickets(self, presenter: TicketsPresenter) -> None:
        """Give the tickets list the signed-in client, now and at every change; route its sign-in requests.

        Only the list is given the client now: the chat keeps its open conversation.
        """
        self._tickets = presenter
        presenter.sign_in_required.connect(self.request_sign_in)
        presenter.set_api(self._session.client if self._session.is_signed_in else None)

    def device_payload(self) -> dict[str, object] | None:
        """The ``device`` part of a question when the user shares device details; called in a worker."""
        if not self._settings.settings.share_device_details:
            return None
        from desktop.core.device import collect_device_details  # noqa: PLC0415 - reads system files, on demand

        return collect_device_details(self._tray.network_state).as_payload()

    @Slot()
    def request_sign_in(self) -> None:
        """An action needs an account: an ended session is forgotten first (which then asks for sign-in)."""
        if self._session.is_signed_in:
            self._session.handle_session_expired()  # opens sign-in through signed_out
        else:
            self.sign_in_requested.emit()

    def shutdown(self) -> None:
        """Stop the events stream (waiting for it) and the offline sender."""
        for worker in [*self._retired_events, *([self._events] if self._events else [])]:
            worker.stop()
        self._stop_sender()

    # ------------------------------------------------------------------------------------------------ session
    @Slot(str)
    def _on_session_state(self, state: str) -> None:
        signed_in = state == SessionState.SIGNED_IN.value
        self._update_connections()
        self._tray.set_signed_in(signed_in)
        if signed_in:
            self._start_events()
            self._start_sender()
        else:
            self._stop_events()
            self._stop_sender()
            if state == SessionState.SIGNED_OUT.value and self._settings.first_run:
                self._tray.notify(FIRST_RUN_TITLE, FIRST_RUN_TEXT)

    @Slot(str)
    def _on_keyring_warning(self, text: str) -> None:
        self._tray.notify(KEYRING_TITLE, text)

    @Slot(str)
    def _on_signed_out(self, reason: str) -> None:
        if reason:  # revoked or expired: straight back to sign-in
            self._tray.notify(SIGNED_OUT_TITLE, reason)
            self.sign_in_requested.emit()

    @Slot()
    def _on_account_restored(self) -> None:
        self._tray.notify(RESTORED_TITLE, RESTORED_TEXT)

    @Slot(int)
    def _confirm_sign_out(self, count: int) -> None:
        questions = "question is" if count == 1 else "questions are"
        text = (
            f"{count} {questions} still waiting to be sent. Signing out deletes them from this computer.\n\n"
            "Sign out anyway?"
        )
        if self._ask_user("Sign out?", text):
            self._session.sign_out(clear_queue=True)

    def _update_connections(self) -> None:
        client = self._session.client if self._session.is_signed_in else None
        if self._chat is not None:
            self._chat.set_connection(client, self._session.offline_queue())
        if self._tickets is not None:
            self._tickets.set_api(client)

    # ------------------------------------------------------------------------------------------------ sender
    def _start_sender(self) -> None:
        client, queue = self._session.client, self._session.offline_queue()
        if client is None or queue is None or self._sender is not None:
            return
        from desktop.services.offline_sender import OfflineSender  # noqa: PLC0415 - only once signed in

        def send(question: Question, key: str) -> Ticket:
            return client.create_ticket(question, idempotency_key=key)

        sender = OfflineSender(queue, send, parent=self)
        sender.sent.connect(self._on_queued_sent)
        sender.refused.connect(self._on_queued_refused)
        sender.failed.connect(self._on_sender_failed)
        sender.sign_in_required.connect(self.request_sign_in)
        self._checker().checked.connect(sender.on_health)
        self._sender = sender
        sender.start()

    def _stop_sender(self) -> None:
        sender, self._sender = self._sender, None
        if sender is not None:
            sender.stop()
            sender.deleteLater()

    @Slot(object, object)
    def _on_queued_sent(self, entry: QueuedQuestion, ticket: Ticket) -> None:
        if self._chat is not None:
            self._chat.on_queued_sent(entry, ticket)
        self._tray.notify("Question sent", "A question you asked while offline has reached support.")

    @Slot(object)
    def _on_queued_refused(self, entry: QueuedQuestion) -> None:
        if self._chat is not None:
            self._chat.on_queued_refused(entry)
        self._tray.notify("Question not sent", entry.refusal_text)

    @Slot(str)
    def _on_sender_failed(self, text: str) -> None:
        self._tray.notify("Questions not sent", text)

    # ------------------------------------------------------------------------------------------------ events
    def _start_events(self) -> None:
        client = self._session.client
        if client is None or self._events is not None:
            return
        worker = EventsWorker(client, parent=self)
        worker.notify.connect(self._tray.notify)
        worker.session_expired.connect(self._session.handle_session_expired)
        self._events = worker
        worker.start()

    def _stop_events(self) -> None:
        worker, self._events = self._events, None
        if worker is not None:
            worker.stop(timeout_ms=0)  # never block the GUI thread; shutdown waits for it
            self._retired_events.append(worker)
