"""The privacy-policy notice, offscreen: summary as plain text, a link only when there is one, the exact URL opened."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from desktop.core.api.models import PolicyNotice
from desktop.ui.policy_dialog import LINK_TEXT, PolicyDialog

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget
    from pytestqt.qtbot import QtBot

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)\(\)")

NOW = datetime.datetime(2026, 12, 7, tzinfo=datetime.UTC)


def notice(url: str | None) -> PolicyNotice:
    return PolicyNotice(version="2026-12", summary="<b>Logs</b> are kept 90 days.", url=url, published_at=NOW)


def test_the_summary_is_plain_text_and_the_link_opens_the_policys_own_address(qtbot: QtBot) -> None:
    opened: list[str] = []

    def open_url(_parent: QWidget, url: str, _purpose: str) -> bool:
        opened.append(url)
        return True

    dialog = PolicyDialog(notice("https://example.com/privacy?v=2026-12"), open_url=open_url)
    qtbot.addWidget(dialog)

    assert dialog.windowTitle() == "Tech Pal"
    assert dialog.summary_label.textFormat() == Qt.TextFormat.PlainText
    assert dialog.summary_label.text() == "<b>Logs</b> are kept 90 days."
    assert LINK_TEXT in dialog.link_label.text()
    dialog.link_label.linkActivated.emit("https://elsewhere.example")
    assert opened == ["https://example.com/privacy?v=2026-12"]


def test_without_a_url_there_is_no_link_and_ok_accepts(qtbot: QtBot) -> None:
    dialog = PolicyDialog(notice(None))
    qtbot.addWidget(dialog)
    dialog.show()

    with qtbot.wait_signal(dialog.finished, timeout=1000) as finished:
        dialog.ok_button.click()

    assert dialog.link_label.isHidden()
    assert finished.args == [QDialog.DialogCode.Accepted.value]


def test_the_title_names_the_app_and_the_heading_says_which_version_changed_when(qtbot: QtBot) -> None:
    dialog = PolicyDialog(notice(None))
    qtbot.addWidget(dialog)

    assert dialog.windowTitle() == "Tech Pal"
    assert dialog.heading_label.text() == "<b>Our privacy policy changed</b>"
    published = NOW.astimezone().strftime("%d %B %Y").lstrip("0")  # 7 December 2026 in most time zones
    assert dialog.version_label.text() == f"Version 2026-12, published {published}"


def test_without_a_publication_date_only_the_version_is_shown(qtbot: QtBot) -> None:
    dialog = PolicyDialog(PolicyNotice(version="2027-01", summary="Shorter logs."))
    qtbot.addWidget(dialog)

    assert dialog.version_label.text() == "Version 2027-01"
