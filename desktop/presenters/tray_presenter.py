"""View-model behind the tray icon: what each menu entry does, the server status, and notifications.

Menu entries are routed to handlers the composition root binds (chat, capture, tickets, subscription, account,
settings, sign-out). Entries that need an account ask for sign-in first and run once the user is signed in.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop.core.health import ServerState, ServerStatus

if TYPE_CHECKING:
    from collections.abc import Callable

    from desktop.core.device import NetworkState
    from desktop.services.health_worker import HealthChecker

__all__ = ["CHECKING_TEXT", "DEFAULT_REFRESH_INTERVAL_MS", "TrayAction", "TrayPresenter"]

DEFAULT_REFRESH_INTERVAL_MS = 30_000
CHECKING_TEXT = "Server: Checking…"


class TrayAction(StrEnum):
    """The tray menu's entries, in menu order."""

    ASK = "Ask for help"
    CAPTURE_SCREEN = "Capture screen & ask"
    CAPTURE_REGION = "Capture region & ask"
    TICKETS = "My tickets"
    SUBSCRIPTION = "Subscription"
    ACCOUNT = "Account"
    SETTINGS = "Settings"
    SIGN_OUT = "Sign out"
    QUIT = "Quit"


class TrayPresenter(QObject):
    """Keeps the server status fresh and routes menu entries.

    Signals:
        status_changed(str): The new ``status_text``; emitted when the status (state or message) changes.
        notification(str, str): Title and text of a desktop notification to show.
        signed_in_changed(bool): Whether an account is signed in (the tray enables "Sign out").
    """

    status_changed = Signal(str)
    notification = Signal(str, str)
    signed_in_changed = Signal(bool)

    def __init__(
        self,
        checker: HealthChecker,
        *,
        interval_ms: int = DEFAULT_REFRESH_INTERVAL_MS,
        parent: QObject | None = None,
    ) -> None:
        """Create the presenter; nothing happens until :meth:`start`.

        Args:
            checker: Runs the health checks off the GUI thread.
            interval_ms: Period of automatic re-checks.
            parent: Owning QObject.
        """
        super().__init__(parent)
        self._checker = checker
        self._status: ServerStatus | None = None
        self._text = CHECKING_TEXT
        self._in_flight = False
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.refresh)
        # A bound slot of a GUI-thread QObject, so Qt queues the worker's emit.
        checker.checked.connect(self._on_checked)
        self._handlers: dict[TrayAction, tuple[Callable[[], None], bool]] = {}
        self._signed_in = False
        self._request_sign_in: Callable[[], None] | None = None
        self._pending: TrayAction | None = None
        self._on_notification_click: Callable[[], None] | None = None

    # ------------------------------------------------------------------------------------------------ status
    @property
    def status_text(self) -> str:
        """One line, e.g. "Server: Connected"."""
        return self._text

    @property
    def status_detail(self) -> str:
        """The full sentence behind ``status_text``."""
        return self._status.message if self._status else f"Checking {self._checker.server_url}…"

    @property
    def status(self) -> ServerStatus | None:
        """The last check result, or ``None`` before the first one."""
        return self._status

    @property
    def network_state(self) -> NetworkState | None:
        """For device details: ``online``/``limited``/``offline`` from the last check, ``None`` before it."""
        if self._status is None:
            return None
        states: dict[ServerState, NetworkState] = {
            ServerState.ONLINE: "online",
            ServerState.DEGRADED: "limited",
            ServerState.UNREACHABLE: "offline",
        }
        return states[self._status.state]

    @property
    def server_url(self) -> str:
        """The server being watched."""
        return self._checker.server_url

    def start(self) -> None:
        """Check now, then every interval."""
        self._timer.start()
        self.refresh()

    def stop(self) -> None:
        """Stop periodic checks; a running one still reports."""
        self._timer.stop()

    def set_checker(self, checker: HealthChecker) -> None:
        """Watch another server (the settings changed); checks it at once when running."""
        self._checker.checked.disconnect(self._on_checked)
        self._checker = checker
        checker.checked.connect(self._on_checked)
        self._in_flight = False
        self._status = None
        self._text = CHECKING_TEXT
        self.status_changed.emit(self._text)
        if self._timer.isActive():
            self.refresh()

    @Slot()
    def refresh(self) -> None:
        """Start a check unless one is already running (clicks must not pile up)."""
        if self._in_flight:
            return
        self._in_flight = True
        self._checker.check()

    @Slot(object)
    def _on_checked(self, status: ServerStatus) -> None:
        self._in_flight = False
        if status == self._status:
            return
        self._status = status
        self._text = f"Server: {status.label}"
        self.status_changed.emit(self._text)

    # ------------------------------------------------------------------------------------------------ routing
    def bind(self, action: TrayAction, handler: Callable[[], None], *, needs_account: bool = False) -> None:
        """Run ``handler`` when ``action`` is chosen; with ``needs_account``, only once signed in."""
        self._handlers[action] = (handler, needs_account)

    def set_sign_in_handler(self, request_sign_in: Callable[[], None]) -> None:
        """What to do when an entry needs an account and nobody is signed in (open the sign-in dialog)."""
        self._request_sign_in = request_sign_in

    @property
    def signed_in(self) -> bool:
        """Whether an account is signed in."""
        return self._signed_in

    @Slot(bool)
    def set_signed_in(self, signed_in: bool) -> None:
        """Record the session state; signing in runs the entry that asked for it."""
        changed = signed_in != self._signed_in
        self._signed_in = signed_in
        if changed:
            self.signed_in_changed.emit(signed_in)
        if signed_in and self._pending is not None:
            pending, self._pending = self._pending, None
            self.trigger(pending)

    @Slot()
    def cancel_pending(self) -> None:
        """The user closed the sign-in dialog: forget the entry that was waiting for it."""
        self._pending = None

    def trigger(self, action: TrayAction) -> None:
        """Run the handler bound to ``action`` (asking for sign-in first if it needs an account)."""
        bound = self._handlers.get(action)
        if bound is None:
            return
        handler, needs_account = bound
        if needs_account and not self._signed_in:
            self._pending = action
            if self._request_sign_in is not None:
                self._request_sign_in()
            return
        handler()

    @Slot(str, str)
    def notify(self, title: str, text: str, *, on_click: Callable[[], None] | None = None) -> None:
        """Show a desktop notification from the tray icon; clicking it runs ``on_click`` (without one, nothing)."""
        self._on_notification_click = on_click  # the tray shows one message at a time: a click is on the latest
        self.notification.emit(title, text)

    @Slot()
    def notification_clicked(self) -> None:
        """The user clicked the notification on show: do what it offers, once."""
        on_click, self._on_notification_click = self._on_notification_click, None
        if on_click is not None:
            on_click()
