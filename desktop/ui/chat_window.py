"""The chat window: describe the problem, attach screenshots, read the streamed answer, give feedback.

Widgets only: every decision is the :class:`ChatPresenter`'s; this binds its signals to widgets and forwards clicks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QCloseEvent, QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.chat import ChatState
from desktop.presenters.chat_presenter import ChatPresenter, FeedbackState, quota_text
from desktop.ui.message_view import MessageView
from desktop.ui.theme import use_danger_color

if TYPE_CHECKING:
    from collections.abc import Callable

    from desktop.core.api import QuotaExceeded
    from desktop.core.ocr_text import OcrUpload
    from desktop.core.question import Attachment

__all__ = ["ChatWindow", "ThumbnailTile"]

WINDOW_TITLE = "Tech Pal — Ask for help"
THUMBNAIL_SIZE = QSize(120, 80)
_NEW_PLACEHOLDER = "Describe the problem: what you did, what you expected, what happened instead."
_FOLLOW_UP_PLACEHOLDER = "Ask a follow-up question…"
# Labels are styled through their font and palette, not a style sheet: a style sheet fixes the palettes of every
# widget under it, and the window would keep the old theme's colours after a theme switch.
_DANGER_ROLES = frozenset({"error", "field-error"})
_FEEDBACK_TEXT = {
    FeedbackState.HIDDEN: "",
    FeedbackState.READY: "Did this fix it?",
    FeedbackState.SENDING: "Sending your feedback…",
    FeedbackState.RESOLVED: "Great — glad it's fixed. The ticket is closed.",
    FeedbackState.ESCALATED: "Thanks — a support agent will look at your ticket.",
}


class ThumbnailTile(QFrame):
    """One attached screenshot: a thumbnail and a remove button.

    Signals:
        remove_requested(int): The user wants the screenshot at this tile's index gone.
    """

    remove_requested = Signal(int)

    def __init__(self, index: int, attachment: Attachment, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.image_label = QLabel(self)
        self.image_label.setFixedSize(THUMBNAIL_SIZE)
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        image = QImage.fromData(attachment.data)
        if image.isNull():
            self.image_label.setText("(preview unavailable)")
        else:
            scaled = image.scaled(
                THUMBNAIL_SIZE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
            self.image_label.setPixmap(QPixmap.fromImage(scaled))
        kib = max(1, round(len(attachment.data) / 1024))
        self.image_label.setToolTip(f"{attachment.filename} — {kib} KB, as it will be sent")
        self.remove_button = QToolButton(self)
        self.remove_button.setText("✕")
        self.remove_button.setToolTip("Remove this screenshot")
        self.remove_button.setAccessibleName(f"Remove screenshot {index + 1}")
        self.remove_button.clicked.connect(self._on_remove)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignRight)
        layout.addWidget(self.image_label)

    @Slot()
    def _on_remove(self) -> None:
        self.remove_requested.emit(self.index)


class ChatWindow(QWidget):
    """The conversation window, bound to a :class:`ChatPresenter`.

    Args:
        presenter: Owns the conversation.
        confirm_link / open_url / refuse_link: Passed to :class:`MessageView` (tests inject them).
        parent: Owning widget.

    Signals:
        capture_requested(): "Add screenshot" was pressed; the shell starts a capture (its result comes back
            through :meth:`attach`).
    """

    capture_requested = Signal()

    def __init__(
        self,
        presenter: ChatPresenter,
        *,
        confirm_link: Callable[[str], bool] | None = None,
        open_url: Callable[[QUrl], Any] | None = None,
        refuse_link: Callable[[str], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.presenter = presenter
        self.setWindowTitle(WINDOW_TITLE)
        self.resize(640, 720)

        self.transcript = MessageView(confirm=confirm_link, open_url=open_url, refuse=refuse_link, parent=self)
        self._build_panels()
        self._build_composer()
        self._bind(presenter)
        self._on_state(str(presenter.state))
        self._on_attachments(presenter.attachments)

    def _build_panels(self) -> None:
        self.transcript.setPlaceholderText("Your conversation with Tech Pal appears here.")
        self.notice_label = _wrapping_label(self, "notice")
        self.error_label = _wrapping_label(self, "error")

        self.quota_panel = QFrame(self)
        self.quota_panel.setFrameShape(QFrame.Shape.StyledPanel)
        self.quota_label = _wrapping_label(self.quota_panel, "quota")
        self.quota_label.show()
        self.upgrade_button = QPushButton("Upgrade", self.quota_panel)
        quota_layout = QHBoxLayout(self.quota_panel)
        quota_layout.addWidget(self.quota_label, 1)
        quota_layout.addWidget(self.upgrade_button)
        self.quota_panel.hide()

        self.feedback_panel = QWidget(self)
        self.feedback_label = QLabel(self.feedback_panel)
        self.fixed_button = QPushButton("Fixed it", self.feedback_panel)
        self.broken_button = QPushButton("Still broken", self.feedback_panel)
        feedback_layout = QHBoxLayout(self.feedback_panel)
        feedback_layout.setContentsMargins(0, 0, 0, 0)
        feedback_layout.addWidget(self.feedback_label, 1)
        feedback_layout.addWidget(self.fixed_button)
        feedback_layout.addWidget(self.broken_button)
        self.feedback_panel.hide()

    def _build_composer(self) -> None:
        self.description = QPlainTextEdit(self)
        self.description.setPlaceholderText(_NEW_PLACEHOLDER)
        self.description.setAccessibleName("Describe the problem")
        self.description.setMaximumHeight(120)
        self.description_error = _wrapping_label(self, "field-error")

        self.attachments_panel = QWidget(self)
        self._tiles_layout = QHBoxLayout(self.attachments_panel)
        self._tiles_layout.setContentsMargins(0, 0, 0, 0)
        self._tiles_layout.addStretch(1)
        self.attachments_scroll = QScrollArea(self)
        self.attachments_scroll.setWidgetResizable(True)
        self.attachments_scroll.setWidget(self.attachments_panel)
        self.attachments_scroll.setFixedHeight(THUMBNAIL_SIZE.height() + 48)
        self.attachments_scroll.hide()
        self.screenshots_error = _wrapping_label(self, "field-error")
        self.tiles: list[ThumbnailTile] = []

        self.capture_button = QPushButton("Add screenshot", self)
        self.new_button = QPushButton("New question", self)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.hide()
        self.send_button = QPushButton("Send", self)
        self.send_button.setDefault(True)
        self.send_button.setToolTip("Send (Ctrl+Enter)")
        buttons = QHBoxLayout()
        buttons.addWidget(self.capture_button)
        buttons.addWidget(self.new_button)
        buttons.addStretch(1)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.send_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.transcript, 1)
        layout.addWidget(self.notice_label)
        layout.addWidget(self.feedback_panel)
        layout.addWidget(self.quota_panel)
        layout.addWidget(self.error_label)
        layout.addWidget(self.description)
        layout.addWidget(self.description_error)
        layout.addWidget(self.attachments_scroll)
        layout.addWidget(self.screenshots_error)
        layout.addLayout(buttons)

    def _bind(self, presenter: ChatPresenter) -> None:
        self.send_button.clicked.connect(self.send)
        QShortcut(QKeySequence("Ctrl+Return"), self, self.send)
        self.stop_button.clicked.connect(presenter.cancel)
        self.new_button.clicked.connect(self._on_new)
        self.capture_button.clicked.connect(self.capture_requested)
        self.fixed_button.clicked.connect(self._on_fixed)
        self.broken_button.clicked.connect(self._on_broken)
        self.upgrade_button.clicked.connect(presenter.request_upgrade)

        presenter.state_changed.connect(self._on_state)
        presenter.transcript_changed.connect(self.transcript.show_html)
        presenter.notice_changed.connect(self._on_notice)
        presenter.error_changed.connect(self._on_error)
        presenter.field_errors_changed.connect(self._on_field_errors)
        presenter.quota_changed.connect(self._on_quota)
        presenter.attachments_changed.connect(self._on_attachments)
        presenter.feedback_changed.connect(self._on_feedback)
        presenter.draft_cleared.connect(self.description.clear)
        presenter.ticket_changed.connect(self._on_ticket)

    # ------------------------------------------------------------------------------------------ actions
    @Slot(bytes, str, object)
    def attach(self, data: bytes, media_type: str, ocr: OcrUpload | None = None) -> None:
        """Add a redacted screenshot and its text (connect ``CapturePresenter.captured`` here); bring the window up."""
        self.presenter.attach(data, media_type, ocr)
        self.present()

    @Slot()
    def send(self) -> None:
        """Send what is in the box (the presenter decides: new question, retry or follow-up)."""
        self.presenter.send(self.description.toPlainText())

    def present(self) -> None:
        """Show, raise and focus the window."""
        self.show()
        self.raise_()
        self.activateWindow()
        self.description.setFocus()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing hides the window: the conversation (and a streaming answer) goes on in the tray app."""
        event.ignore()
        self.hide()

    @Slot()
    def _on_new(self) -> None:
        self.presenter.new_conversation()
        self.description.clear()

    @Slot()
    def _on_fixed(self) -> None:
        self.presenter.give_feedback(True)

    @Slot()
    def _on_broken(self) -> None:
        self.presenter.give_feedback(False)

    # ------------------------------------------------------------------------------------------ bindings
    @Slot(str)
    def _on_state(self, state: str) -> None:
        busy = state in (ChatState.SENDING, ChatState.STREAMING)
        self.send_button.setEnabled(not busy)
        self.send_button.setText("Ask follow-up" if self.presenter.is_follow_up else "Send")
        self.stop_button.setVisible(state == ChatState.STREAMING)
        self.description.setReadOnly(busy)  # what is being sent stays visible and unchanged
        self.capture_button.setEnabled(not busy)
        self.description.setPlaceholderText(_FOLLOW_UP_PLACEHOLDER if self.presenter.is_follow_up else _NEW_PLACEHOLDER)
        for tile in self.tiles:
            tile.remove_button.setEnabled(not busy)

    @Slot(str)
    def _on_ticket(self, ticket_id: str) -> None:
        self.setWindowTitle(f"{WINDOW_TITLE} — ticket {ticket_id[:8]}" if ticket_id else WINDOW_TITLE)
        self._on_state(str(self.presenter.state))

    @Slot(str)
    def _on_notice(self, text: str) -> None:
        self.notice_label.setText(text)
        self.notice_label.setVisible(bool(text))

    @Slot(str)
    def _on_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text) and not self.quota_panel.isVisibleTo(self))

    @Slot(dict)
    def _on_field_errors(self, errors: dict[str, str]) -> None:
        description = errors.get("description", "")
        screenshots = errors.get("screenshots", "")
        others = [message for name, message in errors.items() if name not in ("description", "screenshots")]
        description = " ".join(filter(None, [description, *others]))
        self.description_error.setText(description)
        self.description_error.setVisible(bool(description))
        self.screenshots_error.setText(screenshots)
        self.screenshots_error.setVisible(bool(screenshots))

    @Slot(object)
    def _on_quota(self, error: QuotaExceeded | None) -> None:
        if error is None:
            self.quota_panel.hide()
            self._on_error(self.presenter.error_text)
            return
        self.quota_label.setText(quota_text(error))
        self.upgrade_button.setVisible(error.can_upgrade)
        self.quota_panel.show()
        self.error_label.hide()

    @Slot(list)
    def _on_attachments(self, attachments: list[Attachment]) -> None:
        for tile in self.tiles:
            self._tiles_layout.removeWidget(tile)
            tile.deleteLater()
        self.tiles = []
        for index, attachment in enumerate(attachments):
            tile = ThumbnailTile(index, attachment, self.attachments_panel)
            tile.remove_requested.connect(self.presenter.remove_attachment)
            self._tiles_layout.insertWidget(index, tile)
            self.tiles.append(tile)
        self.attachments_scroll.setVisible(bool(attachments))

    @Slot(str)
    def _on_feedback(self, state: str) -> None:
        feedback = FeedbackState(state)
        self.feedback_panel.setVisible(feedback is not FeedbackState.HIDDEN)
        self.feedback_label.setText(_FEEDBACK_TEXT[feedback])
        choosing = feedback is FeedbackState.READY
        self.fixed_button.setVisible(choosing or feedback is FeedbackState.SENDING)
        self.broken_button.setVisible(choosing or feedback is FeedbackState.SENDING)
        self.fixed_button.setEnabled(choosing)
        self.broken_button.setEnabled(choosing)


def _wrapping_label(parent: QWidget, role: str) -> QLabel:
    """A hidden, word-wrapping label whose ``role`` (notice, error, field-error, quota) sets its look.

    A notice is italic in the theme's own text colour (readable in both themes); errors are bold and danger red.
    """
    label = QLabel(parent)
    label.setWordWrap(True)
    label.setProperty("role", role)
    if role in ("error", "notice"):
        font = label.font()
        font.setBold(role == "error")
        font.setItalic(role == "notice")
        label.setFont(font)
    if role in _DANGER_ROLES:
        use_danger_color(label)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label
