"""Composition root: builds the services, presenters and views, wires their signals, and runs Qt.

Order matters for the user: the tray icon is shown first; the keyring, the server and the optional hotkey are
probed afterwards, off the GUI thread, so nothing they do can delay or prevent the icon. The windows live in the
:class:`~desktop.windows.WindowRegistry`; what a signed-in session switches on lives in the
:class:`~desktop.presenters.connection_presenter.ConnectionPresenter`.
"""

from __future__ import annotations

import logging
import signal
import sys
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, SignalInstance, Slot
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop.core.analytics import EventName
from desktop.core.health import normalize_server_url
from desktop.core.settings import SettingsStore
from desktop.presenters.analytics_presenter import AnalyticsPresenter
from desktop.presenters.connection_presenter import AskUser, ConnectionPresenter
from desktop.presenters.session_presenter import SessionPresenter
from desktop.presenters.tray_presenter import DEFAULT_REFRESH_INTERVAL_MS, TrayAction, TrayPresenter
from desktop.services.autostart import Autostart, make_autostart
from desktop.services.health_worker import HealthChecker
from desktop.services.hotkey import GlobalHotkey, HotkeySupport, hotkey_support
from desktop.services.settings_store import QtSettingsStore
from desktop.services.tasks import TaskRunner
from desktop.ui.theme import ThemeController
from desktop.ui.tray import TrayIcon, make_app_icon
from desktop.windows import (
    CaptureFactory,
    ChatFactory,
    ChatWindowLike,
    TicketsFactory,
    WindowRegistry,
    default_capture_factory,
    default_chat_factory,
    default_tickets_factory,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path
    from types import FrameType

    from PySide6.QtGui import QIcon

    from desktop.core.auth import TokenStore
    from desktop.presenters.chat_presenter import ChatPresenter
    from desktop.presenters.tickets_presenter import TicketsPresenter
    from desktop.ui.settings_dialog import SettingsDialog
    from desktop.ui.sign_in_dialog import SignInDialog

__all__ = ["APP_NAME", "TechPal", "ensure_application", "run"]

logger = logging.getLogger(__name__)

APP_NAME = "Tech Pal"
ORG_NAME = "Tech Pal"
SMOKE_TEST_DEADLINE_MS = 8_000
# Python runs signal handlers only between bytecodes; while Qt's C++ loop
# sleeps, a periodic no-op timer gives it that chance so Ctrl+C/SIGTERM quit.
_SIGNAL_POLL_MS = 250


def ensure_application(argv: Sequence[str] | None = None) -> QApplication:
    """Return the process's QApplication, creating it if needed, configured for a tray app.

    Reusing an existing instance lets tests (pytest-qt's ``qapp``) and
    embedding code own the QApplication.

    Args:
        argv: Arguments for a new QApplication; ignored when one exists.

    Returns:
        The application object.

    Raises:
        RuntimeError: If a non-widget QCoreApplication/QGuiApplication already exists.
    """
    existing = QApplication.instance()
    if existing is None:
        app = QApplication(list(argv) if argv else [sys.argv[0] if sys.argv else "techpal"])
    elif isinstance(existing, QApplication):
        app = existing
    else:
        raise RuntimeError(f"Tech Pal needs a QApplication, found {type(existing).__name__}")
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORG_NAME)
    # A tray app lives on with no window open.
    app.setQuitOnLastWindowClosed(False)
    return app


def keyring_token_store() -> TokenStore:
    """The OS keyring store; ``keyring`` is imported here, in the worker that first needs it (it is heavy)."""
    from desktop.services.secrets import KeyringTokenStore  # noqa: PLC0415

    return KeyringTokenStore()


def _ask_yes_no(title: str, text: str) -> bool:
    answer = QMessageBox.question(None, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
    return answer == QMessageBox.StandardButton.Yes


class TechPal(QObject):
    """The wired-up desktop app. Create after the QApplication; call :meth:`start`.

    Args:
        app: The running application; "Quit" ends its event loop.
        server_url: ``--server``: overrides the saved server for this run (saved at the next sign-in).
        settings_store: Where settings live (the platform config dir by default).
        token_store_factory: Opens the token store; called in a worker (the keyring may block).
        queue_root: Root of the offline queues.
        autostart: The OS's start-at-login mechanism.
        chat_factory: Builds the chat window (first use).
        tickets_factory: Builds the tickets window (first use).
        capture_factory: Builds the capture flow (first use).
        ask_user: Yes/no question to the user (tests answer it).
        probe_hotkey: Whether global shortcuts work here (imports pynput lazily, in a worker).
        refresh_interval_ms: Period of automatic health checks.
        parent: Owning QObject.

    Raises:
        ValueError: If ``server_url`` is not a usable http(s) URL.
    """

    def __init__(
        self,
        app: QApplication,
        server_url: str | None = None,
        *,
        settings_store: SettingsStore | None = None,
        token_store_factory: Callable[[], TokenStore] = keyring_token_store,
        queue_root: Path | None = None,
        autostart: Autostart | None = None,
        chat_factory: ChatFactory = default_chat_factory,
        tickets_factory: TicketsFactory = default_tickets_factory,
        capture_factory: CaptureFactory = default_capture_factory,
        ask_user: AskUser = _ask_yes_no,
        probe_hotkey: Callable[[], HotkeySupport] = hotkey_support,
        refresh_interval_ms: int = DEFAULT_REFRESH_INTERVAL_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._app = app
        self._shut_down = False
        self._shutdown_hooks: list[Callable[[], None]] = []
        self.probe_hotkey = probe_hotkey
        server_override = normalize_server_url(server_url) if server_url else None

        self.settings = QtSettingsStore(settings_store or SettingsStore(), parent=self)
        ask_server = self.settings.first_run and server_override is None
        if server_override is not None and server_override != self.settings.settings.server_url:
            self.settings.override(server_url=server_override, account_id=None)
        self.theme = ThemeController(app, self.settings.settings.theme, parent=self)
        self.icon: QIcon = make_app_icon()
        app.setWindowIcon(self.icon)

        self.runner = TaskRunner(max_threads=2, parent=self)
        self.checker = HealthChecker(self.settings.settings.server_url, parent=self)
        self.presenter = TrayPresenter(self.checker, interval_ms=refresh_interval_ms, parent=self)
        self.tray = TrayIcon(self.presenter, self.icon, parent=self)
        self.session = SessionPresenter(
            self.settings, token_store_factory=token_store_factory, queue_root=queue_root, parent=self
        )
        # Before the windows: their presenters record into this run's recorder.
        self.analytics = AnalyticsPresenter(self.session, parent=self)
        self.hotkey = GlobalHotkey(parent=self)
        self.autostart = autostart or make_autostart()
        self.connection = ConnectionPresenter(
            self.settings, self.session, self.presenter, checker=lambda: self.checker, ask_user=ask_user, parent=self
        )
        self.windows = WindowRegistry(
            self,
            chat_factory=chat_factory,
            tickets_factory=tickets_factory,
            capture_factory=capture_factory,
            ask_server=ask_server,
        )

        self._bind_tray()
        self.tray.quit_requested.connect(self.quit)
        self.connection.sign_in_requested.connect(self.windows.open_sign_in)
        self.settings.changed.connect(self._on_setting_changed)
        self.hotkey.triggered.connect(self._on_hotkey)
        app.aboutToQuit.connect(self.shutdown)

    def _bind_tray(self) -> None:
        bind, windows = self.presenter.bind, self.windows
        bind(TrayAction.ASK, windows.open_chat, needs_account=True)
        bind(TrayAction.CAPTURE_SCREEN, windows.capture_screen, needs_account=True)
        bind(TrayAction.CAPTURE_REGION, windows.capture_region, needs_account=True)
        bind(TrayAction.TICKETS, windows.open_tickets, needs_account=True)
        bind(TrayAction.SUBSCRIPTION, windows.open_subscription, needs_account=True)
        bind(TrayAction.ACCOUNT, windows.open_account, needs_account=True)
        bind(TrayAction.SETTINGS, windows.open_settings)
        bind(TrayAction.SIGN_OUT, self.session.request_sign_out)
        self.presenter.set_sign_in_handler(windows.open_sign_in)

    # ------------------------------------------------------------------------------------------------ life cycle
    def start(self, *, with_session: bool = True) -> None:
        """Show the tray icon first; then start the (asynchronous) health checks, keyring and hotkey probes.

        Args:
            with_session: Open the keyring and restore the session (the smoke test checks only tray and network).
        """
        self.tray.show()
        self.presenter.start()
        if not with_session:
            return
        self.analytics.record(EventName.APP_STARTED)
        self.session.start()
        if self.settings.settings.capture_hotkey:
            self.runner.run(self.probe_hotkey, self._on_hotkey_support)

    def add_shutdown_hook(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` at shutdown (e.g. wait for a window's worker threads)."""
        self._shutdown_hooks.append(hook)

    @Slot()
    def quit(self) -> None:
        """Leave the event loop; :meth:`shutdown` runs from ``aboutToQuit``.

        ``exit``, not ``quit``: Qt's ``quit`` first asks every window to close and gives up when one refuses, and the
        chat window refuses (closing it only hides it, so the conversation goes on in the tray).
        """
        self._app.exit(0)

    @Slot()
    def shutdown(self) -> None:
        """Stop timers and workers, hide the icon. Idempotent."""
        if self._shut_down:
            return
        self._shut_down = True
        self.presenter.stop()
        self.tray.hide()
        self.hotkey.unregister()
        self.connection.shutdown()
        for hook in self._shutdown_hooks:
            try:
                hook()
            except Exception:
                logger.exception("shutdown hook failed")
        self.analytics.shutdown()  # while the session's client still holds its token; waits 1.5 s at most
        self.runner.shutdown()
        self.session.shutdown()
        self.checker.shutdown()
        self.windows.dispose()

    # ------------------------------------------------------------------------------------------------ wiring
    def connect_chat(self, presenter: ChatPresenter, capture_requested: SignalInstance) -> None:
        """Wire the chat presenter to the session, capture, billing and the offline sender."""
        self.windows.attach_chat(presenter, capture_requested)
        self.add_shutdown_hook(presenter.shutdown)
        self.connection.attach_chat(presenter)

    def connect_tickets(self, presenter: TicketsPresenter) -> None:
        """Wire the tickets list to the session and the chat."""
        presenter.ticket_opened.connect(self.windows.open_ticket)
        self.connection.attach_tickets(presenter)

    def chat(self) -> ChatWindowLike:
        """The chat window, built on first use."""
        return self.windows.chat()

    @property
    def sign_in_dialog(self) -> SignInDialog | None:
        """The open sign-in dialog, if any."""
        return self.windows.sign_in_dialog

    @property
    def settings_dialog(self) -> SettingsDialog | None:
        """The open settings dialog, if any."""
        return self.windows.settings_dialog

    @Slot(str)
    def _on_setting_changed(self, name: str) -> None:
        current = self.settings.settings
        if name == "theme":
            self.theme.apply(current.theme)
        elif name == "server_url":
            old = self.checker
            self.checker = HealthChecker(current.server_url, parent=self)
            self.presenter.set_checker(self.checker)
            old.shutdown()
            old.deleteLater()

    def _on_hotkey_support(self, support: HotkeySupport) -> None:
        spec = self.settings.settings.capture_hotkey
        if support.available and spec:
            problem = self.hotkey.register(spec)
            if problem:
                logger.warning("capture shortcut not registered: %s", problem)
        elif spec:
            logger.info("capture shortcut %r not registered: %s", spec, support.reason)

    @Slot()
    def _on_hotkey(self) -> None:
        self.presenter.trigger(TrayAction.CAPTURE_REGION)


class _SmokeTest(QObject):
    """Ends the event loop after the first health result, or fails after a deadline."""

    def __init__(self, app: QApplication, techpal: TechPal) -> None:
        super().__init__(techpal)
        self._app = app
        techpal.presenter.status_changed.connect(self._on_status)
        self._deadline = QTimer(self)
        self._deadline.setSingleShot(True)
        self._deadline.timeout.connect(self._on_deadline)
        self._deadline.start(SMOKE_TEST_DEADLINE_MS)

    def stop(self) -> None:
        """Cancel the deadline: QApplication.exit() would end whatever event loop runs later."""
        self._deadline.stop()

    @Slot(str)
    def _on_status(self, text: str) -> None:
        print(f"smoke-test ok: {text}")  # stdout is the smoke test's report
        self._app.exit(0)

    @Slot()
    def _on_deadline(self) -> None:
        print("smoke-test failed: no health-check result in time", file=sys.stderr)
        self._app.exit(1)


def _install_signal_handlers(app: QApplication) -> QTimer:
    """Make SIGINT/SIGTERM end the event loop cleanly; returns the keep-alive timer."""

    def handle(_signum: int, _frame: FrameType | None) -> None:
        app.exit(0)  # not quit(): a window that refuses to close must not keep the process alive

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    timer = QTimer(app)
    timer.setInterval(_SIGNAL_POLL_MS)
    timer.timeout.connect(_noop)
    timer.start()
    return timer


def _noop() -> None:
    """Timer target that only lets the interpreter run pending signal handlers."""


def run(server_url: str | None = None, *, smoke_test: bool = False, argv: Sequence[str] | None = None) -> int:
    """Run the desktop app until the user quits.

    Args:
        server_url: ``--server``: use this server instead of the saved one.
        smoke_test: Start, show the tray icon, wait for the first health result, then exit.
        argv: Arguments for the QApplication.

    Returns:
        The process exit code.
    """
    app = ensure_application(argv)
    techpal = TechPal(app, server_url)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    keep_alive = _install_signal_handlers(app)
    smoke = _SmokeTest(app, techpal) if smoke_test else None
    try:
        techpal.start(with_session=not smoke_test)
        return app.exec()
    finally:
        if smoke is not None:
            smoke.stop()
        keep_alive.stop()
        keep_alive.deleteLater()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        techpal.shutdown()
        techpal.deleteLater()
