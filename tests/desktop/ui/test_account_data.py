"""The Account window's "Your data" tab, offscreen, against the fake server: download my data, delete my account."""

from __future__ import annotations

import datetime
import os
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog

from desktop.presenters.account_presenter import AccountPresenter
from desktop.presenters.devices_presenter import DevicesPresenter
from desktop.presenters.export_presenter import ExportPresenter
from desktop.services.tasks import TaskRunner
from desktop.ui.account_window import AccountWindow

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from PySide6.QtWidgets import QWidget
    from pytestqt.qtbot import QtBot

    from desktop.core.api import ApiClient
    from desktop.ui.account_panes import DataPane
    from desktop.ui.delete_account_dialog import DeleteAccountDialog
    from tests.fixtures.fake_server import FakeServer

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)\(\)")

TIMEOUT_MS = 5000
PASSWORD = "correct horse battery"
ZIP = b"PK\x03\x04" + os.urandom(400_000) + b"PK\x05\x06"


class Harness:
    """The window with its presenters; records notifications and the file dialog's questions."""

    def __init__(self, client: ApiClient, save_to: Path) -> None:
        self.runner = TaskRunner()
        self.account = AccountPresenter(lambda: client, runner=self.runner)
        self.export = ExportPresenter(lambda: client, runner=self.runner, poll_interval_ms=50)
        devices = DevicesPresenter(lambda: client, runner=self.runner)
        self.asked: list[str] = []
        self.save_to = save_to
        self.window = AccountWindow(self.account, devices, self.export, choose_path=self.choose)
        self.notifications: list[tuple[str, str]] = []
        self.export.notify.connect(lambda title, text: self.notifications.append((title, text)))
        self.deleted: list[str] = []
        self.account.deleted.connect(self.deleted.append)

    def choose(self, _parent: QWidget, default_name: str) -> str | None:
        self.asked.append(default_name)
        return str(self.save_to)

    @property
    def pane(self) -> DataPane:
        return self.window.data_pane


@pytest.fixture
def harness(qtbot: QtBot, signed_in_client: ApiClient, tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(signed_in_client, tmp_path / "downloads" / "my-data.zip")
    (tmp_path / "downloads").mkdir()
    qtbot.addWidget(harness.window)
    harness.window.present()
    harness.window.tabs.setCurrentWidget(harness.pane)
    QApplication.processEvents()
    qtbot.waitUntil(lambda: harness.window.name_edit.text() == "Ada", timeout=TIMEOUT_MS)
    yield harness
    harness.runner.shutdown()


def click(button: QWidget) -> None:
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


# ---------------------------------------------------------------------------------------------- download my data
def test_an_export_is_followed_until_ready_then_saved_byte_for_byte(
    qtbot: QtBot, harness: Harness, fake_server: FakeServer
) -> None:
    pane = harness.pane
    assert pane.save_button.isHidden()
    # WHEN the user asks for their data
    click(pane.start_button)
    # THEN the window says it is being prepared, and the app asks again and again while it is
    qtbot.waitUntil(lambda: fake_server.hits("export") >= 2, timeout=TIMEOUT_MS)
    assert pane.export_status.text().startswith("Your data is being prepared.")
    assert not pane.start_button.isEnabled()
    assert harness.notifications == []
    # WHEN the server has it ready
    fake_server.finish_exports(ZIP)
    # THEN a notification says so, once, and "Save…" appears with the size
    qtbot.waitUntil(lambda: bool(harness.notifications), timeout=TIMEOUT_MS)
    assert harness.notifications == [
        ("Your data is ready", "Open Account in the Tech Pal menu and choose “Save…” to keep the ZIP file.")
    ]
    assert pane.export_status.text().startswith("Your data is ready (390.6 KB). You can download it until ")
    assert not pane.save_button.isHidden()
    polls = fake_server.hits("export")
    qtbot.wait(200)
    assert fake_server.hits("export") == polls  # no more asking once ready
    # WHEN the user saves it
    click(pane.save_button)
    # THEN it was asked where, with a dated name, and the file holds exactly the served bytes
    qtbot.waitUntil(lambda: pane.export_message.text().startswith("Saved to"), timeout=TIMEOUT_MS)
    today = datetime.datetime.now().astimezone().date().isoformat()
    assert harness.asked == [f"techpal-data-{today}.zip"]
    assert harness.save_to.read_bytes() == ZIP
    assert sorted(p.name for p in harness.save_to.parent.iterdir()) == ["my-data.zip"]
    assert pane.export_message.text() == f"Saved to {harness.save_to} (390.6 KB)."
    assert len(harness.notifications) == 1


def test_an_export_started_earlier_shows_when_the_window_opens(
    qtbot: QtBot, signed_in_client: ApiClient, fake_server: FakeServer, tmp_path: Path
) -> None:
    fake_server.add_export(fake_server.account("ada@example.com"), age=datetime.timedelta(hours=3), content=b"PK..")
    harness = Harness(signed_in_client, tmp_path / "data.zip")
    qtbot.addWidget(harness.window)
    try:
        harness.window.present()

        qtbot.waitUntil(lambda: not harness.pane.save_button.isHidden(), timeout=TIMEOUT_MS)
        assert harness.pane.export_status.text().startswith("Your data is ready (4 bytes).")
        assert harness.notifications == []  # it was ready before: nothing new to announce
    finally:
        harness.runner.shutdown()


def test_while_a_ready_copy_is_less_than_a_day_old_no_new_one_can_be_asked_for(
    qtbot: QtBot, harness: Harness, fake_server: FakeServer
) -> None:
    # GIVEN a copy made 5 hours ago, ready to save
    export_id = fake_server.add_export(
        fake_server.account("ada@example.com"), age=datetime.timedelta(hours=5), content=ZIP
    )
    harness.export.refresh()
    qtbot.waitUntil(lambda: not harness.pane.save_button.isHidden(), timeout=TIMEOUT_MS)
    made = datetime.datetime.fromisoformat(next(e for e in fake_server.exports if e["id"] == export_id)["created_at"])
    allowed = (made + datetime.timedelta(days=1)).astimezone()
    when = f"{allowed.strftime('%d %B %Y').lstrip('0')}, {allowed:%H:%M}"
    # THEN the button next to "Save…" asks for a new copy, cannot be clicked yet, and says from when it can
    start = harness.pane.start_button
    assert start.text() == "Ask for a new copy"
    assert not start.isEnabled()
    assert start.toolTip() == f"You can ask for a new copy from {when} (one a day)."
    assert harness.pane.export_status.text().endswith(f" You can ask for a new copy from {when} (one a day).")
    assert harness.pane.save_button.isEnabled()
    # WHEN the user clicks it anyway
    click(start)
    qtbot.wait(100)
    # THEN nothing is asked of the server, and nothing refused
    assert len(fake_server.exports) == 1
    assert harness.pane.export_message.isHidden()


def test_a_ready_copy_a_day_old_can_be_replaced_by_a_new_one(
    qtbot: QtBot, harness: Harness, fake_server: FakeServer
) -> None:
    fake_server.add_export(fake_server.account("ada@example.com"), age=datetime.timedelta(hours=25), content=ZIP)
    harness.export.refresh()
    qtbot.waitUntil(lambda: not harness.pane.save_button.isHidden(), timeout=TIMEOUT_MS)
    assert "new copy" not in harness.pane.export_status.text()
    assert harness.pane.start_button.toolTip() == ""

    click(harness.pane.start_button)

    qtbot.waitUntil(lambda: len(fake_server.exports) == 2, timeout=TIMEOUT_MS)
    qtbot.waitUntil(
        lambda: harness.pane.export_status.text().startswith("Your data is being prepared."), timeout=TIMEOUT_MS
    )


# ---------------------------------------------------------------------------------------------- delete my account
def open_delete_dialog(harness: Harness) -> DeleteAccountDialog:
    click(harness.pane.delete_button)
    dialog = harness.pane.delete_dialog
    assert dialog is not None
    assert dialog.isVisible()
    return dialog


def test_the_deletion_dialog_says_what_goes_when_what_stays_and_how_to_undo(harness: Harness) -> None:
    dialog = open_delete_dialog(harness)

    assert dialog.text().splitlines() == [
        "What is removed: your profile, tickets, conversations, screenshots, signed-in devices, exports and billing "
        "history, and your billing records at our payment provider (Stripe). Any subscription is cancelled now, with "
        "no further charge.",
        "When: your account is closed at once — you are signed out everywhere — and everything is removed for good "
        "30 days from now. We tell you the exact date when you confirm.",
        "What stays: knowledge-base articles grown from your confirmed fixes stay, because they were anonymized when "
        "they were made and hold nothing that identifies you.",
        "How to undo it: within 30 days, sign in and choose “Restore my account”: your profile, tickets and "
        "conversations come back. A cancelled subscription does not restart (subscribe again from Subscription), "
        "and you sign in again on each device.",
    ]
    assert "everything comes back" not in dialog.text()


def test_enter_in_the_password_field_neither_deletes_nor_closes(
    qtbot: QtBot, harness: Harness, fake_server: FakeServer
) -> None:
    dialog = open_delete_dialog(harness)
    QTest.keyClicks(dialog.password_edit, PASSWORD)

    QTest.keyClick(dialog.password_edit, Qt.Key.Key_Return)
    qtbot.wait(100)

    assert dialog.isVisible()
    assert dialog.password_edit.text() == PASSWORD
    assert fake_server.hits("delete_me") == 0


def test_a_wrong_password_keeps_the_dialog_open_with_what_was_typed(
    qtbot: QtBot, harness: Harness, fake_server: FakeServer
) -> None:
    dialog = open_delete_dialog(harness)
    QTest.keyClicks(dialog.password_edit, "not my password")

    click(dialog.delete_button)

    qtbot.waitUntil(lambda: not dialog.error_label.isHidden(), timeout=TIMEOUT_MS)
    assert dialog.error_label.text() == "That password is wrong. Your account was not deleted."
    field = dialog.password_edit.mapTo(dialog, QPoint(0, 0))
    error = dialog.error_label.mapTo(dialog, QPoint(0, 0))
    assert error.x() == field.x()  # under the field, not under its label
    assert 0 <= error.y() - (field.y() + dialog.password_edit.height()) <= 3  # right under it
    assert dialog.isVisible()
    assert dialog.password_edit.text() == "not my password"
    assert harness.deleted == []
    assert fake_server.account("ada@example.com").purge_after is None


def test_the_right_password_deletes_and_says_until_when_it_can_be_undone(
    qtbot: QtBot, harness: Harness, fake_server: FakeServer
) -> None:
    dialog = open_delete_dialog(harness)
    QTest.keyClicks(dialog.password_edit, PASSWORD)

    with qtbot.wait_signal(dialog.finished, timeout=TIMEOUT_MS) as finished:
        click(dialog.delete_button)

    assert finished.args == [QDialog.DialogCode.Accepted.value]
    purge_after = fake_server.account("ada@example.com").purge_after
    assert purge_after is not None
    day = datetime.datetime.fromisoformat(purge_after).astimezone().strftime("%d %B %Y").lstrip("0")
    assert harness.deleted == [
        f"Your account is closed and will be removed for good on {day}. Changed your mind? Sign in again before "
        "then and choose “Restore my account”."
    ]
    assert fake_server.requests_to("DELETE", "/api/v1/me")[0].json() == {"password": PASSWORD}
