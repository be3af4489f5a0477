"""The chat window offscreen against the fake tickets API: streaming, safe links, no remote images, failures kept."""

from __future__ import annotations

import io
import re
import threading
from typing import TYPE_CHECKING

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt, QTimer, QUrl
from PySide6.QtGui import QTextCursor, QTextDocument
from PySide6.QtTest import QTest

from desktop.core.chat import ChatState
from desktop.core.offline_queue import OfflineQueue
from desktop.presenters.chat_presenter import NOTICE_TEXT, OFFLINE_QUEUED_TEXT, SEED_ATTRIBUTION, ChatPresenter
from desktop.ui.chat_window import ChatWindow
from tests.fixtures.fake_server import ACCOUNT, FakeServer, Gate, Sse, answer_script

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pytestqt.qtbot import QtBot

    from desktop.core.api import ApiClient
    from desktop.ui.message_view import MessageView

# The offscreen platform cannot resize or raise windows; it says so, and that is not our warning to fix.
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)\(\)")

WAIT_MS = 5000
SOURCE_URL = "https://github.com/MicrosoftDocs/SupportArticles-docs/blob/main/support/wifi.md"
CITATION = {"number": 1, "article_id": "a1", "source_id": "sa-1", "title": "Fix Wi-Fi drops", "source_url": SOURCE_URL}


def png(color: tuple[int, int, int] = (10, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buffer, format="PNG")
    return buffer.getvalue()


class LinkSpy:
    """Stands in for the confirmation dialog and the browser, recording what they were asked."""

    def __init__(self, answer: bool = True) -> None:
        self.answer = answer
        self.confirmed: list[str] = []
        self.opened: list[str] = []
        self.refused: list[str] = []

    def confirm(self, url: str) -> bool:
        self.confirmed.append(url)
        return self.answer

    def open_url(self, url: QUrl) -> bool:
        self.opened.append(url.toString())
        return True

    def refuse(self, reason: str) -> None:
        self.refused.append(reason)


@pytest.fixture
def links() -> LinkSpy:
    return LinkSpy()


@pytest.fixture
def window(
    qtbot: QtBot, signed_in_client: ApiClient, fake_server: FakeServer, tmp_path: Path, links: LinkSpy
) -> Iterator[ChatWindow]:
    queue = OfflineQueue(tmp_path / "outbox", fake_server.url, ACCOUNT)
    presenter = ChatPresenter(signed_in_client, queue=queue)
    window = ChatWindow(presenter, confirm_link=links.confirm, open_url=links.open_url, refuse_link=links.refuse)
    qtbot.addWidget(window)
    window.resize(700, 800)
    window.show()
    try:
        yield window
    finally:
        presenter.shutdown()


def ask(qtbot: QtBot, window: ChatWindow, text: str) -> None:
    window.description.setPlainText(text)
    QTest.mouseClick(window.send_button, Qt.MouseButton.LeftButton)


def wait_done(qtbot: QtBot, window: ChatWindow) -> None:
    qtbot.waitUntil(lambda: window.presenter.state is ChatState.DONE, timeout=WAIT_MS)


def click_text(qtbot: QtBot, view: MessageView, text: str) -> None:
    """Click the middle of ``text`` in the view, as a user would."""
    found = view.document().find(text)
    assert not found.isNull(), f"{text!r} is not in the view"
    cursor = QTextCursor(view.document())
    cursor.setPosition((found.selectionStart() + found.selectionEnd()) // 2)
    view.setTextCursor(cursor)
    view.ensureCursorVisible()
    point = view.cursorRect(cursor).center() + QPoint(0, 0)
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)


def test_the_answer_streams_in_progressively_while_the_gui_keeps_running(
    qtbot: QtBot, window: ChatWindow, fake_server: FakeServer
) -> None:
    # GIVEN a server that sends the first part, then holds the stream open
    gate = threading.Event()
    fake_server.script_resolve(
        [Sse("delta", {"text": "First part."}), Gate(gate), Sse("delta", {"text": " Second part."}), Sse("done", {})]
    )
    ticks: list[int] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()

    # WHEN the user asks
    ask(qtbot, window, "Screen flickers")

    # THEN the first part shows while the stream is still open, and the event loop keeps ticking
    qtbot.waitUntil(lambda: "First part." in window.transcript.toPlainText(), timeout=WAIT_MS)
    assert "Second part." not in window.transcript.toPlainText()
    assert window.presenter.state is ChatState.STREAMING
    assert not window.send_button.isEnabled()
    assert window.description.isReadOnly()
    ticks_before = len(ticks)
    qtbot.wait(200)
    assert len(ticks) - ticks_before >= 5  # ~20 expected; a blocked GUI thread would give 0
    gate.set()
    wait_done(qtbot, window)
    timer.stop()
    text = window.transcript.toPlainText()
    assert text.index("Screen flickers") < text.index("First part.") < text.index("Second part.")
    assert window.description.toPlainText() == ""  # cleared only now that the answer is complete


def test_a_model_failure_shows_the_notice_line_above_the_knowledge_base_answer(
    qtbot: QtBot, window: ChatWindow, fake_server: FakeServer
) -> None:
    fake_server.script_resolve(answer_script("Article [1] says: reboot.", citations=[CITATION], notice="down"))
    assert not window.notice_label.isVisible()

    ask(qtbot, window, "Blue screen")
    wait_done(qtbot, window)

    assert window.notice_label.isVisible()
    assert window.notice_label.text() == NOTICE_TEXT
    assert "Article [1] says: reboot." in window.transcript.toPlainText()
    assert not window.error_label.isVisible()


def test_citations_are_numbered_links_that_open_only_after_confirmation(
    qtbot: QtBot, window: ChatWindow, fake_server: FakeServer, links: LinkSpy
) -> None:
    fake_server.script_resolve(answer_script("See [1].", citations=[CITATION]))
    ask(qtbot, window, "Wi-Fi drops")
    wait_done(qtbot, window)
    text = window.transcript.toPlainText()
    assert "[1] Fix Wi-Fi drops" in text
    assert SOURCE_URL in text
    assert SEED_ATTRIBUTION in text

    # WHEN the user clicks the source but cancels the confirmation THEN nothing opens
    links.answer = False
    click_text(qtbot, window.transcript, "Fix Wi-Fi drops")
    assert links.confirmed == [SOURCE_URL]
    assert links.opened == []

    # WHEN they confirm THEN the browser gets exactly that URL
    links.answer = True
    with qtbot.wait_signal(window.transcript.link_opened, timeout=WAIT_MS):
        click_text(qtbot, window.transcript, "Fix Wi-Fi drops")
    assert links.opened == [SOURCE_URL]


def test_javascript_and_file_links_are_refused(
    qtbot: QtBot, window: ChatWindow, fake_server: FakeServer, links: LinkSpy
) -> None:
    fake_server.script_resolve(
        answer_script("[run](javascript:alert(1)) [read](file:///etc/passwd) [data](data:text/html,hi)")
    )
    ask(qtbot, window, "Help")
    wait_done(qtbot, window)

    hrefs = re.findall(r'href="([^"]*)"', window.transcript.toHtml())
    assert hrefs == []  # the links are shown as plain text, never as anchors
    assert "[run](javascript:alert(1))" in window.transcript.toPlainText()
    for url in ("javascript:alert(1)", "file:///etc/passwd", "data:text/html,hi", "https://user:pw@evil.example/"):
        window.transcript.anchorClicked.emit(QUrl(url))  # even a link that slipped through is refused
    assert links.confirmed == []
    assert links.opened == []
    assert len(links.refused) == 4


def test_remote_images_are_never_requested(
    qtbot: QtBot, window: ChatWindow, fake_server: FakeServer, tmp_path: Path
) -> None:
    pixel = f"{fake_server.url}/pixel.png"
    secret = tmp_path / "secret.png"
    secret.write_bytes(png())
    fake_server.script_resolve(answer_script(f'![tracker]({pixel}) <img src="{fake_server.url}/raw.png">'))

    ask(qtbot, window, "Help")
    wait_done(qtbot, window)
    # and even HTML that bypassed the Markdown renderer loads nothing, remote or local
    window.transcript.show_html(f'<img src="{fake_server.url}/direct.png"><img src="{secret.as_uri()}">')
    window.transcript.viewport().repaint()
    qtbot.wait(100)

    assert "[image: tracker]" in window.presenter.transcript_html()
    assert [r.path for r in fake_server.requests if r.method == "GET"] == []
    assert f"{fake_server.url}/direct.png" in window.transcript.blocked_resources
    assert secret.as_uri() in window.transcript.blocked_resources
    loaded = window.transcript.document().resource(QTextDocument.ResourceType.ImageResource, QUrl(secret.as_uri()))
    assert loaded.size().width() <= 1  # the local file's pixels never entered the document: a blank stand-in


def test_an_exhausted_quota_shows_the_panel_and_keeps_text_and_screenshots(
    qtbot: QtBot, window: ChatWindow, fake_server: FakeServer
) -> None:
    fake_server.fail(
        "resolve", 402, "quota_exceeded", plan="free", quota=10, resets_at="2026-12-01T12:00:00Z", upgrade_plans=["pro"]
    )
    window.attach(png(), "image/png")
    ask(qtbot, window, "Keyboard dead")

    qtbot.waitUntil(window.quota_panel.isVisible, timeout=WAIT_MS)
    assert "December 1, 2026" in window.quota_label.text()
    assert window.description.toPlainText() == "Keyboard dead"
    assert not window.description.isReadOnly()
    assert len(window.tiles) == 1
    assert window.upgrade_button.isVisible()
    with qtbot.wait_signal(window.presenter.upgrade_requested, timeout=WAIT_MS) as upgrade:
        QTest.mouseClick(window.upgrade_button, Qt.MouseButton.LeftButton)
    assert upgrade.args == ["pro"]


def test_offline_says_so_in_words_and_keeps_everything(
    qtbot: QtBot, window: ChatWindow, fake_server: FakeServer
) -> None:
    fake_server.stop()
    window.attach(png(), "image/png")
    ask(qtbot, window, "No internet")

    qtbot.waitUntil(lambda: window.error_label.text() == OFFLINE_QUEUED_TEXT, timeout=WAIT_MS)
    assert window.error_label.isVisible()
    assert window.description.toPlainText() == "No internet"
    assert len(window.tiles) == 1
    assert window.send_button.isEnabled()


def test_an_empty_question_gets_a_field_message(qtbot: QtBot, window: ChatWindow) -> None:
    ask(qtbot, window, "  ")

    assert window.description_error.isVisible()
    assert window.description_error.text() == "Describe the problem first."


def test_screenshots_show_as_thumbnails_and_can_be_removed(qtbot: QtBot, window: ChatWindow) -> None:
    first, second = png((255, 0, 0)), png((0, 255, 0))
    window.attach(first, "image/png")
    window.attach(second, "image/png")

    assert len(window.tiles) == 2
    assert all(not tile.image_label.pixmap().isNull() for tile in window.tiles)
    assert window.attachments_scroll.isVisible()

    QTest.mouseClick(window.tiles[0].remove_button, Qt.MouseButton.LeftButton)

    assert [a.data for a in window.presenter.attachments] == [second]
    assert len(window.tiles) == 1
    QTest.mouseClick(window.tiles[0].remove_button, Qt.MouseButton.LeftButton)
    assert window.presenter.attachments == []
    assert not window.attachments_scroll.isVisible()


def test_feedback_buttons_appear_after_the_answer_and_send_feedback(
    qtbot: QtBot, window: ChatWindow, fake_server: FakeServer
) -> None:
    assert not window.feedback_panel.isVisible()
    ask(qtbot, window, "Mouse lags")
    wait_done(qtbot, window)
    assert window.feedback_panel.isVisible()

    QTest.mouseClick(window.fixed_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: "glad it's fixed" in window.feedback_label.text(), timeout=WAIT_MS)
    assert not window.fixed_button.isVisible()
    (ticket,) = fake_server.tickets
    assert ticket.feedback == [{"resolved": True}]


def test_a_follow_up_uses_the_same_box_and_the_messages_api(
    qtbot: QtBot, window: ChatWindow, fake_server: FakeServer
) -> None:
    ask(qtbot, window, "Printer jams")
    wait_done(qtbot, window)
    assert window.send_button.text() == "Ask follow-up"

    ask(qtbot, window, "Which tray?")
    qtbot.waitUntil(lambda: "Then check the cable." in window.transcript.toPlainText(), timeout=WAIT_MS)

    assert len(fake_server.requests_to("POST", "/messages")) == 1
    assert len(fake_server.tickets) == 1
