"""The notice of a changed privacy policy: its summary, a link to the full text when there is one, and "OK"."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from desktop.presenters.policy_presenter import POLICY_TITLE, version_line
from desktop.ui.subscription_window import confirm_and_open_url

if TYPE_CHECKING:
    from collections.abc import Callable

    from desktop.core.api.models import PolicyNotice

__all__ = ["LINK_TEXT", "TITLE", "PolicyDialog"]

TITLE = "Tech Pal"
LINK_TEXT = "Read the full privacy policy"


class PolicyDialog(QDialog):
    """Shows one policy version; accepted by "OK" (which records the acceptance), rejected by closing it.

    Args:
        notice: The policy version to show.
        open_url: Shows and opens a URL (injectable so tests never start a browser).
        parent: Parent widget.
    """

    def __init__(
        self,
        notice: PolicyNotice,
        *,
        open_url: Callable[[QWidget, str, str], bool] = confirm_and_open_url,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.notice = notice
        self._open_url = open_url
        self.setWindowTitle(TITLE)
        self.setMinimumWidth(420)
        self.heading_label = QLabel(f"<b>{html.escape(POLICY_TITLE)}</b>")
        self.version_label = QLabel(version_line(notice))
        self.version_label.setTextFormat(Qt.TextFormat.PlainText)  # the version is the server's text
        self.summary_label = QLabel(notice.summary)
        self.summary_label.setTextFormat(Qt.TextFormat.PlainText)  # the server's words, never markup
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.link_label = QLabel(f'<a href="{html.escape(notice.url or "", quote=True)}">{LINK_TEXT}</a>')
        self.link_label.setTextFormat(Qt.TextFormat.RichText)
        self.link_label.setVisible(bool(notice.url))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading_label)
        layout.addWidget(self.version_label)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.link_label)
        layout.addWidget(buttons)
        self.link_label.linkActivated.connect(self._on_link)
        buttons.accepted.connect(self.accept)

    @Slot(str)
    def _on_link(self, _url: str) -> None:
        if self.notice.url:  # our own copy, not the label's: the address shown is the one opened
            self._open_url(self, self.notice.url, "The full privacy policy.")
