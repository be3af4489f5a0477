"""View-model behind the tray icon: what the status line says, and when to re-check."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop.core.health import ServerStatus
from desktop.services.health_worker import HealthChecker

DEFAULT_REFRESH_INTERVAL_MS = 30_000
CHECKING_TEXT = "Server: Checking…"


class TrayPresenter(QObject):
    """Keeps the server status fresh and exposes it as display text.

    Signals:
        status_changed(str): The new ``status_text``; emitted when the status
            (state or message) differs from the previous one.
    """

    status_changed = Signal(str)

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

    @property
    def status_text(self) -> str:
        """One line for the menu, e.g. "Server: Connected"."""
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
