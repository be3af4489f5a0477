"""The conversation as rich text that cannot reach out by itself.

Answers are untrusted. The view never follows a link on its own (``setOpenLinks(False)``), opens only http(s)
links after the user saw the full URL and confirmed, and loads no resources at all: :meth:`MessageView.loadResource`
returns nothing, so an ``<img>`` (remote or ``file:``) in an answer never causes a request or a disk read.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QImage, QTextDocument
from PySide6.QtWidgets import QMessageBox, QTextBrowser, QWidget

from desktop.core.links import check_link

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["MessageView", "confirm_open", "show_refusal"]

logger = logging.getLogger(__name__)

CONFIRM_TITLE = "Open link?"


def confirm_open(parent: QWidget | None, url: str) -> bool:
    """Ask before opening, showing the whole address (punycode host, so look-alike letters show)."""
    answer = QMessageBox.question(
        parent,
        CONFIRM_TITLE,
        f"This link from the answer opens in your browser:\n\n{url}\n\nOpen it?",
        QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Open


def show_refusal(parent: QWidget | None, reason: str) -> None:
    """Say why a link was not opened."""
    QMessageBox.information(parent, "Link blocked", reason)


def _blank_image() -> QImage:
    """A 1×1 transparent pixel standing in for every image an answer asks for."""
    image = QImage(1, 1, QImage.Format.Format_ARGB32)
    image.fill(0)
    return image


class MessageView(QTextBrowser):
    """Read-only rich text of the conversation with a safe link policy.

    Args:
        confirm: ``confirm(url) -> bool`` asks the user; defaults to a dialog showing the full URL.
        open_url: Opens an approved URL; defaults to :meth:`QDesktopServices.openUrl`.
        refuse: Tells the user why a link was refused; defaults to a dialog.
        parent: Owning widget.

    Signals:
        link_opened(str): An approved URL was handed to the browser.
        link_refused(str): Why a clicked link was not opened (scheme, credentials, or the user said no).
    """

    link_opened = Signal(str)
    link_refused = Signal(str)

    def __init__(
        self,
        *,
        confirm: Callable[[str], bool] | None = None,
        open_url: Callable[[QUrl], Any] | None = None,
        refuse: Callable[[str], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._confirm = confirm or (lambda url: confirm_open(self, url))
        self._open_url = open_url or QDesktopServices.openUrl
        self._refuse = refuse or (lambda reason: show_refusal(self, reason))
        self.blocked_resources: list[str] = []
        self.setReadOnly(True)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(self._on_anchor_clicked)

    def show_html(self, html: str) -> None:
        """Replace the content, staying at the bottom if the reader was there (a streaming answer grows)."""
        bar = self.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 4
        position = bar.value()
        self.setHtml(html)
        bar.setValue(bar.maximum() if at_bottom else position)

    def loadResource(self, type: int, name: QUrl | str) -> Any:
        """Load nothing: no remote images, no ``file:`` reads (the answer's HTML has no local resources).

        The answer is a placeholder, never a null value: for a null answer ``QTextDocument`` falls back to reading
        ``file:`` URLs itself.
        """
        address = name.toString() if isinstance(name, QUrl) else str(name)
        self.blocked_resources.append(address)
        logger.debug("blocked a resource in an answer: %s", address)
        if type == QTextDocument.ResourceType.ImageResource.value:
            return _blank_image()
        return QByteArray(b" ")

    @Slot(QUrl)
    def _on_anchor_clicked(self, url: QUrl) -> None:
        href = bytes(url.toEncoded().data()).decode("ascii", errors="replace")
        verdict = check_link(href)
        if not verdict.allowed:
            self._refuse(verdict.reason)
            self.link_refused.emit(verdict.reason)
            return
        if not self._confirm(verdict.url):
            self.link_refused.emit("You chose not to open the link.")
            return
        self._open_url(QUrl.fromEncoded(verdict.url.encode("ascii")))
        self.link_opened.emit(verdict.url)
