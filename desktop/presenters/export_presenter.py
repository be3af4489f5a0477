"""The data export ("Download my data"): start it, follow it until ready, say so, save the ZIP where the user picks.

The server builds an export in the background, so this presenter asks for its state every few seconds with a
:class:`QTimer` (the next question only once the previous answer is in) until it is ``ready``. It lives as long as the
app, not the Account window: an export started and left behind still ends in a tray notification. Saving streams
the ZIP to disk in a worker (see :meth:`ApiClient.download_export`).
"""

from __future__ import annotations

import datetime
import math
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop.core.api.errors import ApiError, SessionExpired
from desktop.presenters.remote_presenter import RemotePresenter
from desktop.presenters.session_state import error_message, long_date

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from desktop.core.api.client import ApiClient
    from desktop.core.api.models import ExportInfo
    from desktop.services.tasks import TaskRunner

__all__ = [
    "DEFAULT_POLL_MS",
    "NEW_COPY_TEXT",
    "READY_TITLE",
    "START_TEXT",
    "ExportPresenter",
    "ExportState",
    "human_size",
    "limited_text",
]

DEFAULT_POLL_MS: Final = 3_000
# The server makes one export per account per 24 hours.
EXPORT_INTERVAL: Final = datetime.timedelta(days=1)
START_TEXT: Final = "Download my data"
NEW_COPY_TEXT: Final = "Ask for a new copy"
READY_TITLE: Final = "Your data is ready"
READY_TEXT: Final = "Open Account in the Tech Pal menu and choose “Save…” to keep the ZIP file."
NONE_TEXT: Final = "Get a copy of everything Tech Pal holds about you, as a ZIP file. Preparing it can take a while."
STARTING_TEXT: Final = "Asking for your data…"
PENDING_TEXT: Final = "Your data is being prepared. We'll tell you when it is ready — you can close this window."
EXPIRED_TEXT: Final = "Your last export has expired. Ask for a new copy."
SAVING_TEXT: Final = "Saving…"


class ExportState(StrEnum):
    """Where the latest export is."""

    NONE = "none"
    STARTING = "starting"
    PENDING = "pending"
    READY = "ready"
    EXPIRED = "expired"


def human_size(size: int) -> str:
    """``2.4 MB``: bytes in the largest unit that keeps the number at least 1."""
    value, unit = float(size), "bytes"
    for bigger in ("KB", "MB", "GB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def limited_text(retry_after: float | None) -> str:
    """429 ``export_limited``: one export a day, and when the next one is possible."""
    if retry_after is None:
        return "You can ask for one export a day."
    hours = max(1, math.ceil(retry_after / 3600))
    return f"You can ask for one export a day; the next one is possible in {hours} hour{'s' if hours > 1 else ''}."


class ExportPresenter(RemotePresenter):
    """The latest export of my data: start, poll until ready, notify, save.

    Args:
        client: Returns the signed-in API client, or ``None`` when signed out.
        runner: Where requests and the download run.
        poll_interval_ms: Pause between two questions about a pending export.
        clock: The current time (when a new copy may be asked for).
        parent: Owning QObject (the app's: polling goes on while the window is closed).

    Signals:
        changed(): ``state``, ``status_text``, ``message`` or ``saving`` changed.
        notify(str, str): Title and text of a tray notification (the export is ready).
        saved(str): The ZIP was saved to this path.
        session_expired(): A request found the session revoked.
    """

    changed = Signal()
    notify = Signal(str, str)
    saved = Signal(str)

    def __init__(
        self,
        client: Callable[[], ApiClient | None],
        *,
        runner: TaskRunner,
        poll_interval_ms: int = DEFAULT_POLL_MS,
        clock: Callable[[], datetime.datetime] = _now,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(client, runner=runner, parent=parent)
        self._clock = clock
        self._export: ExportInfo | None = None
        self._state = ExportState.NONE
        self._message = ""
        self._saving = False
        self._generation = 0  # answers from before a reset (sign-out) are dropped
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(poll_interval_ms)
        self._timer.timeout.connect(self._poll)

    # ------------------------------------------------------------------------------------------------ state
    @property
    def state(self) -> ExportState:
        """Where the latest export is."""
        return self._state

    @property
    def status_text(self) -> str:
        """The sentence about the latest export (with its size and expiry once ready)."""
        export = self._export
        if self._state is ExportState.READY and export is not None:
            size = f" ({human_size(export.size_bytes)})" if export.size_bytes is not None else ""
            until = f" You can download it until {long_date(export.expires_at)}." if export.expires_at else ""
            wait = f" {self.new_copy_wait}" if self.new_copy_wait else ""
            return f"Your data is ready{size}.{until}{wait}"
        texts = {
            ExportState.NONE: NONE_TEXT,
            ExportState.STARTING: STARTING_TEXT,
            ExportState.PENDING: PENDING_TEXT,
            ExportState.EXPIRED: EXPIRED_TEXT,
        }
        return texts.get(self._state, NONE_TEXT)

    @property
    def message(self) -> str:
        """The outcome of the last action (a refusal, a failure, a saved file), or ``""``."""
        return self._message

    @property
    def saving(self) -> bool:
        """The ZIP is being downloaded."""
        return self._saving

    @property
    def start_text(self) -> str:
        """The start button's words: a copy is there already once one was made."""
        return NEW_COPY_TEXT if self._state in (ExportState.READY, ExportState.EXPIRED) else START_TEXT

    @property
    def new_copy_wait(self) -> str:
        """While the ready export is less than a day old: from when a new copy can be asked for; else ``""``."""
        if self._state is not ExportState.READY or self._export is None or self._export.created_at is None:
            return ""
        allowed = self._export.created_at + EXPORT_INTERVAL
        if self._clock() >= allowed:
            return ""
        local = allowed.astimezone()
        return f"You can ask for a new copy from {long_date(local)}, {local:%H:%M} (one a day)."

    @property
    def can_start(self) -> bool:
        """A new export may be asked for: none is under way, and the ready one is at least a day old."""
        idle = self._state in (ExportState.NONE, ExportState.READY, ExportState.EXPIRED)
        return idle and not self.new_copy_wait

    @property
    def can_save(self) -> bool:
        """The latest export is ready and not being saved already."""
        return self._state is ExportState.READY and not self._saving

    @property
    def polling(self) -> bool:
        """A question about the pending export is scheduled."""
        return self._timer.isActive()

    def default_filename(self) -> str:
        """``techpal-data-YYYY-MM-DD.zip``, dated the day the export was made."""
        made = self._export.created_at if self._export is not None else None
        day = made.astimezone().date() if made is not None else datetime.date.today()
        return f"techpal-data-{day.isoformat()}.zip"

    # ------------------------------------------------------------------------------------------------ actions
    @Slot()
    def refresh(self) -> None:
        """Load the latest export (one started earlier shows, and is followed while pending)."""
        client = self._client()
        if client is None or self._state is ExportState.STARTING:
            return
        generation = self._generation
        self._runner.run(client.exports, lambda items: self._on_listed(generation, items), self._on_poll_failed)

    @Slot()
    def start(self) -> None:
        """Ask for a new export; it is followed until ready."""
        client = self._client()
        if client is None or not self.can_start:
            return
        generation, before = self._generation, self._state
        self._set(ExportState.STARTING, "")
        self._runner.run(
            client.start_export,
            lambda export: self._on_export(generation, export),
            lambda exc: self._on_start_failed(generation, before, exc),
        )

    def save(self, destination: Path) -> None:
        """Download the ready ZIP to ``destination`` (streamed); ``saved(path)`` follows, or a message."""
        client, export = self._client(), self._export
        if client is None or export is None or not self.can_save:
            return
        self._saving = True
        self._message = SAVING_TEXT
        self.changed.emit()
        export_id = str(export.id)
        self._runner.run(
            lambda: client.download_export(export_id, destination),
            lambda size: self._on_saved(destination, size),
            self._on_save_failed,
        )

    @Slot()
    def reset(self) -> None:
        """Forget the export and stop following it (signed out: the next account has its own)."""
        self._generation += 1
        self._timer.stop()
        self._export, self._saving = None, False
        self._set(ExportState.NONE, "")

    # ------------------------------------------------------------------------------------------------ answers
    def _on_listed(self, generation: int, items: list[ExportInfo]) -> None:
        if generation == self._generation and items:
            self._on_export(generation, items[0])

    def _on_export(self, generation: int, export: ExportInfo) -> None:
        if generation != self._generation:
            return
        was_pending = self._state in (ExportState.STARTING, ExportState.PENDING)
        self._export = export
        state = {"pending": ExportState.PENDING, "ready": ExportState.READY}.get(export.status, ExportState.EXPIRED)
        self._set(state, "" if state is not self._state else self._message)
        if state is ExportState.PENDING:
            self._timer.start()
        elif state is ExportState.READY and was_pending:
            self.notify.emit(READY_TITLE, READY_TEXT)

    @Slot()
    def _poll(self) -> None:
        client, export = self._client(), self._export
        if client is None or export is None:
            return
        generation, export_id = self._generation, str(export.id)
        self._runner.run(
            lambda: client.export(export_id),
            lambda info: self._on_export(generation, info),
            lambda exc: self._on_poll_failed(exc, generation),
        )

    def _on_poll_failed(self, exc: BaseException, generation: int | None = None) -> None:
        if generation is not None and generation != self._generation:
            return
        if isinstance(exc, ApiError) and exc.is_transient and self._state is ExportState.PENDING:
            self._timer.start()  # the server is away for a moment: keep following the export
            return
        if isinstance(exc, SessionExpired):
            self.session_expired.emit()
        self._message = error_message(exc)
        self.changed.emit()

    def _on_start_failed(self, generation: int, before: ExportState, exc: BaseException) -> None:
        if generation != self._generation:
            return
        if isinstance(exc, ApiError) and exc.code == "export_limited":
            text = limited_text(exc.retry_after)
        else:
            if isinstance(exc, SessionExpired):
                self.session_expired.emit()
            text = error_message(exc)
        self._set(before, text)  # the export shown before (a ready one can still be saved)

    def _on_saved(self, destination: Path, size: int) -> None:
        self._saving = False
        self._message = f"Saved to {destination} ({human_size(size)})."
        self.changed.emit()
        self.saved.emit(str(destination))

    def _on_save_failed(self, exc: BaseException) -> None:
        self._saving = False
        if isinstance(exc, OSError):
            self._message = f"The file could not be saved there: {exc.strerror or exc}. Choose another place."
        else:
            if isinstance(exc, SessionExpired):
                self.session_expired.emit()
            self._message = error_message(exc)
        self.changed.emit()

    def _set(self, state: ExportState, message: str) -> None:
        self._state = state
        self._message = message
        self.changed.emit()
