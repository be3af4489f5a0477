"""The capture flow: hide our windows → grab the monitor → (select a region) → redact → encoded bytes and text.

Views come from injected factories, so the flow is tested with fake views and a fake capturer.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, QTimer, Signal, SignalInstance, Slot

from desktop.core.analytics import EventName
from desktop.core.capture import CaptureError, CaptureMode, Screenshot
from desktop.services.capture.main import crop
from desktop.services.capture.windows import hide_own_windows, restore_windows

if TYPE_CHECKING:
    from collections.abc import Callable

    from PIL import Image
    from PySide6.QtGui import QWindow

    from desktop.core.analytics import AnalyticsRecorder
    from desktop.core.geometry import Rect
    from desktop.core.ocr_text import OcrUpload

__all__ = [
    "DEFAULT_SETTLE_MS",
    "CapturePresenter",
    "Capturer",
    "RedactionEditor",
    "RegionSelectionView",
]

logger = logging.getLogger(__name__)

# Time for the window system to unmap our windows and repaint what was under them before the grab.
DEFAULT_SETTLE_MS = 200
CAPTURE_FAILED_TEXT = "The screen could not be captured."


class Capturer(Protocol):
    """Grabs the monitor under the cursor (``ScreenCapturer``)."""

    def capture(self) -> Screenshot:
        """Return the screenshot, or raise ``CaptureError``."""
        ...


class RegionSelectionView(Protocol):
    """The frozen-screen overlay (``RegionOverlay``): ``selected(Rect)`` in physical pixels, or ``cancelled()``."""

    @property
    def selected(self) -> SignalInstance:
        """Emits the chosen region."""
        ...

    @property
    def cancelled(self) -> SignalInstance:
        """Emits when the user gives up."""
        ...

    def present(self) -> None:
        """Cover the screen."""
        ...

    def deleteLater(self) -> None:
        """Free the view once the event loop is back."""
        ...


class RedactionEditor(Protocol):
    """The redaction window (``RedactionView``): ``accepted(bytes, str, object)`` or ``cancelled()``."""

    @property
    def accepted(self) -> SignalInstance:
        """Emits the encoded redacted image, its media type and its text (``OcrUpload`` or ``None``)."""
        ...

    @property
    def cancelled(self) -> SignalInstance:
        """Emits when the user gives up."""
        ...

    def present(self) -> None:
        """Show the window."""
        ...

    def deleteLater(self) -> None:
        """Free the view once the event loop is back."""
        ...


class CapturePresenter(QObject):
    """Runs one capture at a time, from the tray menu or a hotkey, to encoded bytes.

    Signals:
        captured(bytes, str, object): The redacted, encoded screenshot, its media type and the text read on it
            outside every redaction box (:class:`~desktop.core.ocr_text.OcrUpload`, or ``None`` when none was read).
        cancelled(): The user cancelled the region selection or the redaction.
        failed(str): The capture failed; the message is for the user.
    """

    captured = Signal(bytes, str, object)
    cancelled = Signal()
    failed = Signal(str)

    def __init__(
        self,
        capturer: Capturer,
        *,
        overlay_factory: Callable[[Screenshot], RegionSelectionView],
        redaction_factory: Callable[[Image.Image], RedactionEditor],
        hide_windows: Callable[[], list[QWindow]] = hide_own_windows,
        show_windows: Callable[[list[QWindow]], None] = restore_windows,
        settle_ms: int = DEFAULT_SETTLE_MS,
        analytics: AnalyticsRecorder | None = None,
        parent: QObject | None = None,
    ) -> None:
        """Create the presenter.

        Args:
            capturer: Grabs the monitor under the cursor.
            overlay_factory: Builds the region overlay for a screenshot.
            redaction_factory: Builds the redaction window for an image.
            hide_windows: Hides our visible windows before the grab; returns them.
            show_windows: Shows them again afterwards.
            settle_ms: Wait between hiding and grabbing.
            analytics: Records a capture that reached the chat (screen or region; nothing about the image).
            parent: Owning QObject.
        """
        super().__init__(parent)
        self._capturer = capturer
        self._overlay_factory = overlay_factory
        self._redaction_factory = redaction_factory
        self._hide_windows = hide_windows
        self._show_windows = show_windows
        self._analytics = analytics
        self._mode = CaptureMode.SCREEN
        self._busy = False
        self._hidden: list[QWindow] = []
        self._screenshot: Screenshot | None = None
        self._overlay: RegionSelectionView | None = None
        self._editor: RedactionEditor | None = None
        self._settle_timer = QTimer(self)
        self._settle_timer.setSingleShot(True)
        self._settle_timer.setInterval(settle_ms)
        self._settle_timer.timeout.connect(self._grab)

    @property
    def busy(self) -> bool:
        """True from the start of a capture until it ends in a result, a cancel or a failure."""
        return self._busy

    @Slot()
    def capture_screen(self) -> None:
        """Capture the whole monitor under the cursor."""
        self.start(CaptureMode.SCREEN)

    @Slot()
    def capture_region(self) -> None:
        """Capture a region the user selects on the monitor under the cursor."""
        self.start(CaptureMode.REGION)

    def start(self, mode: CaptureMode) -> bool:
        """Begin a capture; returns False (and does nothing) while another one runs."""
        if self._busy:
            return False
        self._busy = True
        self._mode = mode
        self._hidden = self._hide_windows()
        self._settle_timer.start()
        return True

    # ------------------------------------------------------------------------------------------------ slots

    @Slot()
    def _grab(self) -> None:
        try:
            screenshot = self._capturer.capture()
        except CaptureError as exc:
            self._fail(str(exc))
            return
        except Exception:  # a back-end bug must end the flow with words, not leave it hanging
            logger.exception("screen capture crashed")
            self._fail(CAPTURE_FAILED_TEXT)
            return
        finally:
            self._restore_windows()
        if self._mode is CaptureMode.REGION:
            self._screenshot = screenshot
            overlay = self._overlay_factory(screenshot)
            overlay.selected.connect(self._on_region_selected)
            overlay.cancelled.connect(self._on_cancelled)
            self._overlay = overlay
            overlay.present()
        else:
            self._open_editor(screenshot.image)

    @Slot(object)
    def _on_region_selected(self, region: Rect) -> None:
        screenshot, self._screenshot = self._screenshot, None
        self._drop_overlay()
        if screenshot is None:
            return
        try:
            image = crop(screenshot, region)
        except CaptureError as exc:
            self._fail(str(exc))
            return
        self._open_editor(image)

    @Slot(bytes, str, object)
    def _on_redacted(self, data: bytes, media_type: str, ocr: OcrUpload | None) -> None:
        self._drop_editor()
        self._busy = False
        if self._analytics is not None:  # a capture counts once it is attached; a cancelled one does not
            region = self._mode is CaptureMode.REGION
            self._analytics.record(EventName.REGION_CAPTURED if region else EventName.SCREEN_CAPTURED)
        self.captured.emit(data, media_type, ocr)

    @Slot()
    def _on_cancelled(self) -> None:
        self._screenshot = None
        self._drop_overlay()
        self._drop_editor()
        self._busy = False
        self.cancelled.emit()

    # ---------------------------------------------------------------------------------------------- helpers

    def _open_editor(self, image: Image.Image) -> None:
        editor = self._redaction_factory(image)
        editor.accepted.connect(self._on_redacted)
        editor.cancelled.connect(self._on_cancelled)
        self._editor = editor
        editor.present()

    def _restore_windows(self) -> None:
        hidden, self._hidden = self._hidden, []
        self._show_windows(hidden)

    def _fail(self, message: str) -> None:
        self._screenshot = None
        self._busy = False
        self.failed.emit(message)

    def _drop_overlay(self) -> None:
        overlay, self._overlay = self._overlay, None
        if overlay is not None:
            overlay.selected.disconnect(self._on_region_selected)
            overlay.cancelled.disconnect(self._on_cancelled)
            overlay.deleteLater()

    def _drop_editor(self) -> None:
        editor, self._editor = self._editor, None
        if editor is not None:
            editor.accepted.disconnect(self._on_redacted)
            editor.cancelled.disconnect(self._on_cancelled)
            editor.deleteLater()
