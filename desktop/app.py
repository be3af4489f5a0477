"""Composition root: builds the services, presenters and views, wires their signals, and runs Qt.

Order matters for the user: the tray icon is shown first; the keyring, the server and the optional hotkey are
probed afterwards, off the GUI thread, so nothing they do can delay or prevent the icon.
Windows are built on first use (the idle tray stays small).
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, QTimer, Signal, SignalInstance, Slot
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QWidget

from desktop.core.auth import TokenStore
from desktop.core.health import normalize_server_url
from desktop.core.question import Question
from desktop.core.settings import SettingsStore
from desktop.presenters.session_presenter import SessionPresenter, SessionState
from desktop.presenters.tray_presenter import DEFAULT_REFRESH_INTERVAL_MS, TrayAction, TrayPresenter
from desktop.services.autostart import Autostart, make_autostart
from desktop.services.events_worker import EventsWorker
from desktop.services.health_worker import HealthChecker
from desktop.services.hotkey import GlobalHotkey, HotkeySupport, hotkey_support
from desktop.services.settings_store import QtSettingsStore
from desktop.services.tasks import TaskRunner
from desktop.ui.theme import ThemeController
from desktop.ui.tray import TrayIcon, make_app_icon

if TYPE_CHECKING:  # windows are imported when first opened: the idle tray stays small and starts fast
    from desktop.core.api.models import Ticket
    from desktop.core.offline_queue import QueuedQuestion
    from desktop.presenters.chat_presenter import ChatPresenter
    from desktop.presenters.settings_presenter import SettingsPresenter
    from desktop.presenters.subscription_presenter import SubscriptionPresenter
    from desktop.presenters.tickets_presenter import TicketsPresenter
    from desktop.services.offline_sender import OfflineSender
    from desktop.ui.settings_dialog import SettingsDialog
    from desktop.ui.sign_in_dialog import SignInDialog
    from desktop.ui.subscription_window import SubscriptionWindow

__all__ = [
    "APP_NAME",
    "CaptureFlow",
    "ChatWindowLike",
    "TechPal",
    "WindowLike",
    "ensure_application",
    "run",
]

logger = logging.getLogger(__name__)

APP_NAME = "Tech Pal"
ORG_NAME = "Tech Pal"
SMOKE_TEST_DEADLINE_MS = 8_000
# Python runs signal handlers only between bytecodes; while Qt's C++ loop
# sleeps, a periodic no-op timer gives it that chance so Ctrl+C/SIGTERM quit.
_SIGNAL_POLL_MS = 250
FIRST_RUN_TITLE = "Tech Pal is ready"
FIRST_RUN_TEXT = "Click the Tech Pal icon to sign in and ask for help."
KEYRING_TITLE = "Sign-in kept in memory only"
SIGNED_OUT_TITLE = "Signed out"
CHAT_PENDING_TEXT = "The chat window is not part of this build yet."
TICKETS_PENDING_TEXT = "The list of your tickets is not part of this build yet."
CAPTURE_PENDING_TEXT = "Screen capture is not part of this build yet."


class WindowLike(Protocol):
    """A window the tray opens (tickets)."""

    def present(self) -> None:
        """Show and raise it."""
        ...


class ChatWindowLike(WindowLike, Protocol):
    """The chat window: the tray opens it and hands it captured screenshots."""

    def attach(self, data: bytes, media_type: str) -> None:
        """Attach one redacted, encoded screenshot to the draft question (and show the window)."""
        ...


class CaptureFlow(Protocol):
    """The capture presenter: ``captured(bytes, str)`` with the redacted image, ``failed(str)`` in words."""

    @property
    def captured(self) -> SignalInstance:
        """Emits the encoded redacted image and its media type."""
        ...

    @property
    def failed(self) -> SignalInstance:
        """Emits a message for the user."""
        ...

    def capture_screen(self) -> None:
        """Capture the monitor under the cursor."""
        ...

    def capture_region(self) -> None:
        """Capture a region the user selects."""
        ...


ChatFactory = Callable[["TechPal"], ChatWindowLike]
TicketsFactory = Callable[["TechPal"], WindowLike]
CaptureFactory = Callable[["TechPal"], CaptureFlow]
AskUser = Callable[[str, str], bool]


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


class _NotInThisBuild(QObject):
    """Stands in for a window that is not wired yet: says so instead of doing nothing."""

    def __init__(self, text: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._text = text
        self.box: QMessageBox | None = None

    def present(self) -> None:
        if self.box is None:
            self.box = QMessageBox(QMessageBox.Icon.Information, APP_NAME, self._text, QMessageBox.StandardButton.Ok)
            self.box.setModal(False)
        self.box.show()
        self.box.raise_()

    def attach(self, data: bytes, media_type: str) -> None:
        self.present()


class _PendingCapture(QObject):
    captured = Signal(bytes, str)
    failed = Signal(str)

    def capture_screen(self) -> None:
        self.failed.emit(CAPTURE_PENDING_TEXT)

    def capture_region(self) -> None:
        self.failed.emit(CAPTURE_PENDING_TEXT)


def default_capture_factory(techpal: TechPal) -> CaptureFlow:
    """The capture presenter with the mss capturer, the region overlay and the redaction window (imported lazily)."""
    from desktop.presenters.capture_presenter import CapturePresenter  # noqa: PLC0415 - Pillow etc. on first use
    from desktop.services.capture.main import ScreenCapturer  # noqa: PLC0415
    from desktop.services.capture.qimage import to_qimage  # noqa: PLC0415
    from desktop.services.capture.workers import ImageEncoder, SuggestionFinder  # noqa: PLC0415
    from desktop.ui.redaction_view import RedactionView  # noqa: PLC0415
    from desktop.ui.region_overlay import RegionOverlay  # noqa: PLC0415

    encoder = ImageEncoder(parent=techpal)
    finder = SuggestionFinder(parent=techpal)
    techpal.add_shutdown_hook(encoder.shutdown)
    techpal.add_shutdown_hook(finder.shutdown)
    return CapturePresenter(
        ScreenCapturer(),
        overlay_factory=lambda shot: RegionOverlay(
            to_qimage(shot.image), shot.device_pixel_ratio, monitor=shot.monitor
        ),
        redaction_factory=lambda image: RedactionView(image, encoder, finder),
        parent=techpal,
    )


class _WidgetHandle:
    """Gives a plain top-level widget the ``present()`` the tray calls."""

    def __init__(self, widget: QWidget) -> None:
        self.widget = widget

    def present(self) -> None:
        self.widget.show()
        self.widget.raise_()
        self.widget.activateWindow()


def default_chat_factory(techpal: TechPal) -> ChatWindowLike:
    """The chat window on its presenter, connected to the session (imported on first use)."""
    from desktop.presenters.chat_presenter import ChatPresenter  # noqa: PLC0415 - Markdown etc. on first use
    from desktop.ui.chat_window import ChatWindow  # noqa: PLC0415

    presenter = ChatPresenter(None, device_details=techpal.device_payload, parent=techpal)
    window = ChatWindow(presenter)
    techpal.connect_chat(presenter, window.capture_requested)
    return window


def default_tickets_factory(techpal: TechPal) -> WindowLike:
    """The list of my tickets, connected to the session and the chat (imported on first use)."""
    from desktop.presenters.tickets_presenter import TicketsPresenter  # noqa: PLC0415
    from desktop.ui.tickets_window import TicketsWindow  # noqa: PLC0415

    presenter = TicketsPresenter(None, parent=techpal)
    techpal.connect_tickets(presenter)
    return _WidgetHandle(TicketsWindow(presenter))


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
        chat_factory: ChatFactory | None = default_chat_factory,
        tickets_factory: TicketsFactory | None = default_tickets_factory,
        capture_factory: CaptureFactory | None = default_capture_factory,
        ask_user: AskUser = _ask_yes_no,
        probe_hotkey: Callable[[], HotkeySupport] = hotkey_support,
        refresh_interval_ms: int = DEFAULT_REFRESH_INTERVAL_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._app = app
        self._shut_down = False
        self._shutdown_hooks: list[Callable[[], None]] = []
        self._ask_user = ask_user
        self._probe_hotkey = probe_hotkey
        self._chat_factory = chat_factory
        self._tickets_factory = tickets_factory
        self._capture_factory = capture_factory
        self._server_override = normalize_server_url(server_url) if server_url else None

        self.settings = QtSettingsStore(settings_store or SettingsStore(), parent=self)
        self._ask_server = self.settings.first_run and self._server_override is None
        if self._server_override is not None and self._server_override != self.settings.settings.server_url:
            self.settings.override(server_url=self._server_override, account_id=None)
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
        self.hotkey = GlobalHotkey(parent=self)
        self._autostart = autostart or make_autostart()

        self._chat: ChatWindowLike | None = None
        self._tickets: WindowLike | None = None
        self._capture: CaptureFlow | None = None
        self._sign_in: SignInDialog | None = None
        self._settings_presenter: SettingsPresenter | None = None
        self._settings_dialog: SettingsDialog | None = None
        self._subscription_presenter: SubscriptionPresenter | None = None
        self._subscription_window: SubscriptionWindow | None = None
        self._events: EventsWorker | None = None
        self._chat_presenter: ChatPresenter | None = None
        self._tickets_presenter: TicketsPresenter | None = None
        self._sender: OfflineSender | None = None
        self._retired_events: list[EventsWorker] = []

        self._bind_tray()
        self.tray.quit_requested.connect(self.quit)
        self.session.state_changed.connect(self._on_session_state)
        self.session.warning.connect(self._on_keyring_warning)
        self.session.signed_out.connect(self._on_signed_out)
        self.session.sign_out_needs_confirmation.connect(self._confirm_sign_out)
        self.settings.changed.connect(self._on_setting_changed)
        self.hotkey.triggered.connect(self._on_hotkey)
        app.aboutToQuit.connect(self.shutdown)

    def _bind_tray(self) -> None:
        bind = self.presenter.bind
        bind(TrayAction.ASK, self.open_chat, needs_account=True)
        bind(TrayAction.CAPTURE_SCREEN, self.capture_screen, needs_account=True)
        bind(TrayAction.CAPTURE_REGION, self.capture_region, needs_account=True)
        bind(TrayAction.TICKETS, self.open_tickets, needs_account=True)
        bind(TrayAction.SUBSCRIPTION, self.open_subscription, needs_account=True)
        bind(TrayAction.SETTINGS, self.open_settings)
        bind(TrayAction.SIGN_OUT, self.session.request_sign_out)
        self.presenter.set_sign_in_handler(self.open_sign_in)

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
        self.session.start()
        if self.settings.settings.capture_hotkey:
            self.runner.run(self._probe_hotkey, self._on_hotkey_support)

    def add_shutdown_hook(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` at shutdown (e.g. wait for a window's worker threads)."""
        self._shutdown_hooks.append(hook)

    @Slot()
    def quit(self) -> None:
        """Leave the event loop; :meth:`shutdown` runs from ``aboutToQuit``."""
        self._app.quit()

    @Slot()
    def shutdown(self) -> None:
        """Stop timers and workers, hide the icon. Idempotent."""
        if self._shut_down:
            return
        self._shut_down = True
        self.presenter.stop()
        self.tray.hide()
        self.hotkey.unregister()
        for worker in [*self._retired_events, *([self._events] if self._events else [])]:
            worker.stop()
        self._stop_sender()
        for hook in self._shutdown_hooks:
            try:
                hook()
            except Exception:
                logger.exception("shutdown hook failed")
        self.runner.shutdown()
        self.session.shutdown()
        self.checker.shutdown()
        self._dispose_windows()

    def _dispose_windows(self) -> None:
        """Delete our top-level widgets on the GUI thread now.

        They have no parent, so Python owns them; left to the garbage collector, one could be destroyed on whatever
        thread happens to run a collection, and Qt widgets must only be destroyed on the GUI thread.
        """
        windows: list[object] = [self._sign_in, self._settings_dialog, self._subscription_window, self._chat]
        windows += [self._tickets, self.tray.menu, getattr(self._tickets, "widget", None)]
        windows += [w.box for w in (self._chat, self._tickets) if isinstance(w, _NotInThisBuild)]
        self._sign_in = self._settings_dialog = self._subscription_window = None
        self._chat = self._tickets = None
        for window in windows:
            if isinstance(window, QWidget):
                window.close()
            if isinstance(window, QObject):
                window.deleteLater()

    # ------------------------------------------------------------------------------------------------ windows
    @Slot()
    def open_sign_in(self) -> None:
        """Show the sign-in dialog (one at a time)."""
        if self._sign_in is None:
            from desktop.ui.sign_in_dialog import SignInDialog  # noqa: PLC0415 - see TYPE_CHECKING above

            dialog = SignInDialog(self.session, ask_server=self._ask_server)
            dialog.finished.connect(self._on_sign_in_finished)
            self._sign_in = dialog
        self._sign_in.show()
        self._sign_in.raise_()
        self._sign_in.activateWindow()

    @Slot(int)
    def _on_sign_in_finished(self, result: int) -> None:
        dialog, self._sign_in = self._sign_in, None
        self._ask_server = False
        if result != QDialog.DialogCode.Accepted:
            self.presenter.cancel_pending()
        if dialog is not None:
            dialog.deleteLater()

    @property
    def sign_in_dialog(self) -> SignInDialog | None:
        """The open sign-in dialog, if any."""
        return self._sign_in

    def chat(self) -> ChatWindowLike:
        """The chat window, built on first use."""
        if self._chat is None:
            factory = self._chat_factory
            self._chat = factory(self) if factory is not None else _NotInThisBuild(CHAT_PENDING_TEXT, parent=self)
        return self._chat

    @Slot()
    def open_chat(self) -> None:
        """Ask for help."""
        self.chat().present()

    @Slot()
    def open_tickets(self) -> None:
        """My tickets."""
        if self._tickets is None:
            factory = self._tickets_factory
            self._tickets = factory(self) if factory is not None else _NotInThisBuild(TICKETS_PENDING_TEXT, self)
        self._tickets.present()

    def _capture_flow(self) -> CaptureFlow:
        if self._capture is None:
            factory = self._capture_factory
            flow = factory(self) if factory is not None else _PendingCapture(self)
            flow.captured.connect(self._on_captured)
            flow.failed.connect(self._on_capture_failed)
            self._capture = flow
        return self._capture

    @Slot()
    def capture_screen(self) -> None:
        """Capture screen & ask."""
        self._capture_flow().capture_screen()

    @Slot()
    def capture_region(self) -> None:
        """Capture region & ask."""
        self._capture_flow().capture_region()

    @Slot(bytes, str)
    def _on_captured(self, data: bytes, media_type: str) -> None:
        self.chat().attach(data, media_type)

    @Slot(str)
    def _on_capture_failed(self, message: str) -> None:
        self.presenter.notify("Capture failed", message)

    @Slot()
    def open_subscription(self) -> None:
        """Plan, usage, Upgrade and Manage billing."""
        if self._subscription_window is None:
            from desktop.presenters.subscription_presenter import SubscriptionPresenter  # noqa: PLC0415
            from desktop.ui.subscription_window import SubscriptionWindow  # noqa: PLC0415

            presenter = SubscriptionPresenter(lambda: self.session.client, runner=self.runner, parent=self)
            presenter.session_expired.connect(self.session.handle_session_expired)
            self._subscription_presenter = presenter
            self._subscription_window = SubscriptionWindow(presenter)
        self._subscription_window.present()

    @property
    def subscription_window(self) -> SubscriptionWindow | None:
        """The subscription window once opened."""
        return self._subscription_window

    @Slot()
    def open_settings(self) -> None:
        """The settings dialog (a fresh one, showing the current values)."""
        from desktop.presenters.settings_presenter import SettingsPresenter  # noqa: PLC0415
        from desktop.ui.settings_dialog import SettingsDialog  # noqa: PLC0415

        if self._settings_presenter is None:
            self._settings_presenter = SettingsPresenter(
                self.settings,
                self.session,
                autostart=self._autostart,
                hotkey=self.hotkey,
                runner=self.runner,
                network_state=lambda: self.presenter.network_state,
                probe_hotkey=self._probe_hotkey,
                parent=self,
            )
        if self._settings_dialog is not None:
            self._settings_dialog.raise_()
            self._settings_dialog.activateWindow()
            return
        dialog = SettingsDialog(self._settings_presenter)
        dialog.finished.connect(self._on_settings_finished)
        self._settings_dialog = dialog
        dialog.show()

    @Slot(int)
    def _on_settings_finished(self, _result: int) -> None:
        dialog, self._settings_dialog = self._settings_dialog, None
        if dialog is not None:
            dialog.deleteLater()

    @property
    def settings_dialog(self) -> SettingsDialog | None:
        """The open settings dialog, if any."""
        return self._settings_dialog

    # ------------------------------------------------------------------------------------------------ session
    @Slot(str)
    def _on_session_state(self, state: str) -> None:
        signed_in = state == SessionState.SIGNED_IN.value
        self._update_connections()
        self.presenter.set_signed_in(signed_in)
        if signed_in:
            self._start_events()
            self._start_sender()
        else:
            self._stop_events()
            self._stop_sender()
            if state == SessionState.SIGNED_OUT.value and self.settings.first_run:
                self.presenter.notify(FIRST_RUN_TITLE, FIRST_RUN_TEXT)

    @Slot(str)
    def _on_keyring_warning(self, text: str) -> None:
        self.presenter.notify(KEYRING_TITLE, text)

    @Slot(str)
    def _on_signed_out(self, reason: str) -> None:
        if reason:  # revoked or expired: straight back to sign-in
            self.presenter.notify(SIGNED_OUT_TITLE, reason)
            self.open_sign_in()

    @Slot(int)
    def _confirm_sign_out(self, count: int) -> None:
        questions = "question is" if count == 1 else "questions are"
        text = (
            f"{count} {questions} still waiting to be sent. Signing out deletes them from this computer.\n\n"
            "Sign out anyway?"
        )
        if self._ask_user("Sign out?", text):
            self.session.sign_out(clear_queue=True)

    # ------------------------------------------------------------------------------------------------ chat wiring
    def connect_chat(self, presenter: ChatPresenter, capture_requested: SignalInstance) -> None:
        """Wire the chat presenter to the session, capture, billing and the offline sender."""
        self._chat_presenter = presenter
        presenter.sign_in_required.connect(self._on_sign_in_required)
        presenter.upgrade_requested.connect(self._on_upgrade_requested)
        capture_requested.connect(self.capture_region)
        self.add_shutdown_hook(presenter.shutdown)
        self._update_connections()

    def connect_tickets(self, presenter: TicketsPresenter) -> None:
        """Wire the tickets list to the session and the chat."""
        self._tickets_presenter = presenter
        presenter.sign_in_required.connect(self._on_sign_in_required)
        presenter.ticket_opened.connect(self._on_ticket_opened)
        self._update_connections()

    def device_payload(self) -> dict[str, object] | None:
        """The ``device`` part of a question when the user shares device details; called in a worker."""
        if not self.settings.settings.share_device_details:
            return None
        from desktop.core.device import collect_device_details  # noqa: PLC0415

        return collect_device_details(self.presenter.network_state).as_payload()

    def _update_connections(self) -> None:
        client = self.session.client if self.session.is_signed_in else None
        if self._chat_presenter is not None:
            self._chat_presenter.set_connection(client, self.session.offline_queue())
        if self._tickets_presenter is not None:
            self._tickets_presenter.set_api(client)

    @Slot()
    def _on_sign_in_required(self) -> None:
        if self.session.is_signed_in:
            self.session.handle_session_expired()  # opens sign-in through signed_out
        else:
            self.open_sign_in()

    @Slot(str)
    def _on_upgrade_requested(self, plan: str) -> None:
        self.open_subscription()
        if self._subscription_presenter is not None:
            self._subscription_presenter.upgrade(plan)

    @Slot(str)
    def _on_ticket_opened(self, ticket_id: str) -> None:
        self.chat().present()
        if self._chat_presenter is not None:
            self._chat_presenter.open_ticket(ticket_id)

    def _start_sender(self) -> None:
        client, queue = self.session.client, self.session.offline_queue()
        if client is None or queue is None or self._sender is not None:
            return
        from desktop.services.offline_sender import OfflineSender  # noqa: PLC0415 - only once signed in

        def send(question: Question, key: str) -> Ticket:
            return client.create_ticket(question, idempotency_key=key)

        sender = OfflineSender(queue, send, parent=self)
        sender.sent.connect(self._on_queued_sent)
        sender.refused.connect(self._on_queued_refused)
        sender.failed.connect(lambda text: self.presenter.notify("Questions not sent", text))
        sender.sign_in_required.connect(self._on_sign_in_required)
        self.checker.checked.connect(sender.on_health)
        self._sender = sender
        sender.start()

    def _stop_sender(self) -> None:
        sender, self._sender = self._sender, None
        if sender is not None:
            sender.stop()
            sender.deleteLater()

    @Slot(object, object)
    def _on_queued_sent(self, entry: QueuedQuestion, ticket: Ticket) -> None:
        if self._chat_presenter is not None:
            self._chat_presenter.on_queued_sent(entry, ticket)
        self.presenter.notify("Question sent", "A question you asked while offline has reached support.")

    @Slot(object)
    def _on_queued_refused(self, entry: QueuedQuestion) -> None:
        if self._chat_presenter is not None:
            self._chat_presenter.on_queued_refused(entry)
        self.presenter.notify("Question not sent", entry.refusal_text)

    def _start_events(self) -> None:
        client = self.session.client
        if client is None or self._events is not None:
            return
        worker = EventsWorker(client, parent=self)
        worker.notify.connect(self.presenter.notify)
        worker.session_expired.connect(self.session.handle_session_expired)
        self._events = worker
        worker.start()

    def _stop_events(self) -> None:
        worker, self._events = self._events, None
        if worker is not None:
            worker.stop(timeout_ms=0)  # never block the GUI thread; shutdown waits for it
            self._retired_events.append(worker)

    @property
    def events_worker(self) -> EventsWorker | None:
        """The running events stream, while signed in."""
        return self._events

    # ------------------------------------------------------------------------------------------------ settings
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
        app.quit()

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
