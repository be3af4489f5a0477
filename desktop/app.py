"""Composition root: builds the services, the presenter and the tray, and runs Qt."""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from types import FrameType

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication

from desktop.presenters.tray_presenter import DEFAULT_REFRESH_INTERVAL_MS, TrayPresenter
from desktop.services.health_worker import HealthChecker
from desktop.ui.tray import TrayIcon, make_app_icon

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


class TechPal(QObject):
    """The wired-up desktop app. Create after the QApplication; call :meth:`start`."""

    def __init__(
        self,
        app: QApplication,
        server_url: str,
        *,
        refresh_interval_ms: int = DEFAULT_REFRESH_INTERVAL_MS,
        parent: QObject | None = None,
    ) -> None:
        """Build services, presenter and tray.

        Args:
            app: The running application; "Quit" ends its event loop.
            server_url: Server base URL.
            refresh_interval_ms: Period of automatic health checks.
            parent: Owning QObject.

        Raises:
            ValueError: If ``server_url`` is not a usable http(s) URL.
        """
        super().__init__(parent)
        self._app = app
        self._shut_down = False
        icon = make_app_icon()
        app.setWindowIcon(icon)
        self.checker = HealthChecker(server_url, parent=self)
        self.presenter = TrayPresenter(self.checker, interval_ms=refresh_interval_ms, parent=self)
        self.tray = TrayIcon(self.presenter, icon, parent=self)
        self.tray.quit_requested.connect(self.quit)
        app.aboutToQuit.connect(self.shutdown)

    def start(self) -> None:
        """Show the tray icon first, then start the (asynchronous) health checks."""
        self.tray.show()
        self.presenter.start()

    @Slot()
    def quit(self) -> None:
        """Leave the event loop; :meth:`shutdown` runs from ``aboutToQuit``."""
        self._app.quit()

    @Slot()
    def shutdown(self) -> None:
        """Stop timers, hide the icon and wait for a running check. Idempotent."""
        if self._shut_down:
            return
        self._shut_down = True
        self.presenter.stop()
        self.tray.hide()
        self.checker.shutdown()


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


def run(server_url: str, *, smoke_test: bool = False, argv: Sequence[str] | None = None) -> int:
    """Run the desktop app until the user quits.

    Args:
        server_url: Server base URL.
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
        techpal.start()
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
