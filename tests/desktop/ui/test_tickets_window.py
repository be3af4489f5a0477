"""The tickets window offscreen: the table fills from the fake API, double-click opens the conversation in the chat."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop.presenters.chat_presenter import ChatPresenter
from desktop.presenters.tickets_presenter import TicketsPresenter
from desktop.ui.chat_window import ChatWindow
from desktop.ui.tickets_window import COLUMNS, TicketsWindow

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pytestqt.qtbot import QtBot

    from desktop.core.api import ApiClient
    from tests.fixtures.fake_server import FakeServer

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)\(\)")

WAIT_MS = 5000


def cell_text(window: TicketsWindow, row: int, column: int) -> str:
    """A cell's text; row -1 is the header."""
    item = window.table.horizontalHeaderItem(column) if row < 0 else window.table.item(row, column)
    assert item is not None
    return item.text()


@pytest.fixture
def presenters(signed_in_client: ApiClient) -> Iterator[tuple[TicketsPresenter, ChatPresenter]]:
    tickets, chat = TicketsPresenter(signed_in_client), ChatPresenter(signed_in_client)
    try:
        yield tickets, chat
    finally:
        tickets.shutdown()
        chat.shutdown()


def test_showing_the_window_lists_tickets_and_double_click_opens_the_conversation(
    qtbot: QtBot, fake_server: FakeServer, presenters: tuple[TicketsPresenter, ChatPresenter]
) -> None:
    tickets, chat = presenters
    ticket_id = fake_server.add_ticket(
        "Outlook asks for password", [("user", "Outlook asks for password"), ("assistant", "Clear the **cache**.")]
    )
    fake_server.add_ticket("Monitor flickers", status="resolved")
    window = TicketsWindow(tickets)
    chat_window = ChatWindow(chat)
    qtbot.addWidget(window)
    qtbot.addWidget(chat_window)
    tickets.ticket_opened.connect(chat.open_ticket)  # what the shell wires

    # WHEN the window opens THEN it loads the list by itself
    window.show()
    qtbot.waitUntil(lambda: window.table.rowCount() == 2, timeout=WAIT_MS)
    assert [cell_text(window, -1, c) for c in range(len(COLUMNS))] == list(COLUMNS)
    assert [cell_text(window, 1, c) for c in range(4)] == ["Outlook asks for password", "Open", "Normal", "Network"]
    assert cell_text(window, 0, 1) == "Resolved"

    # WHEN the user double-clicks the ticket THEN its conversation appears in the chat window, ready for a follow-up
    item = window.table.item(1, 0)
    assert item is not None
    rect = window.table.visualItemRect(item)
    viewport, left, plain = window.table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QTest.mouseClick(viewport, left, plain, rect.center())  # a real double-click starts with a click
    QTest.mouseDClick(viewport, left, plain, rect.center())
    qtbot.waitUntil(lambda: "Clear the cache." in chat_window.transcript.toPlainText(), timeout=WAIT_MS)
    assert chat.session.ticket_id == ticket_id
    assert chat_window.send_button.text() == "Ask follow-up"


def test_refresh_failure_is_shown_in_words(
    qtbot: QtBot, fake_server: FakeServer, presenters: tuple[TicketsPresenter, ChatPresenter]
) -> None:
    tickets, _ = presenters
    fake_server.fail("list", 500, "internal_error")
    window = TicketsWindow(tickets)
    qtbot.addWidget(window)

    window.show()

    qtbot.waitUntil(lambda: "could not be loaded" in window.status_label.text(), timeout=WAIT_MS)
    fake_server.heal("list")
    fake_server.add_ticket("Keyboard")
    QTest.mouseClick(window.refresh_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.table.rowCount() == 1, timeout=WAIT_MS)
    assert window.status_label.text() == ""
