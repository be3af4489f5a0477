"""The Account window, offscreen, driven like a user against the fake server: profile, password, devices, privacy."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from desktop.presenters.account_presenter import PRIVACY_SWITCHES, AccountPresenter
from desktop.presenters.devices_presenter import DevicesPresenter
from desktop.presenters.export_presenter import ExportPresenter
from desktop.services.tasks import TaskRunner
from desktop.ui.account_window import AccountWindow

if TYPE_CHECKING:
    from collections.abc import Iterator

    from PySide6.QtWidgets import QCheckBox, QLineEdit, QWidget
    from pytestqt.qtbot import QtBot

    from desktop.core.api import ApiClient
    from tests.fixtures.fake_server import FakeServer

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)\(\)")

TIMEOUT_MS = 5000
PASSWORD = "correct horse battery"


@pytest.fixture
def window(qtbot: QtBot, signed_in_client: ApiClient) -> Iterator[AccountWindow]:
    """The window, presented and loaded."""
    runner = TaskRunner()
    account = AccountPresenter(lambda: signed_in_client, runner=runner)
    devices = DevicesPresenter(lambda: signed_in_client, runner=runner)
    export = ExportPresenter(lambda: signed_in_client, runner=runner, poll_interval_ms=50)
    window = AccountWindow(account, devices, export, choose_path=lambda _parent, _name: None)
    qtbot.addWidget(window)
    window.present()
    qtbot.waitUntil(lambda: window.name_edit.text() == "Ada" and not devices.busy, timeout=TIMEOUT_MS)
    yield window
    runner.shutdown()


def type_into(widget: QLineEdit, text: str) -> None:
    widget.clear()
    QTest.keyClicks(widget, text)


def click(button: QWidget) -> None:
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def tick(box: QCheckBox) -> None:
    """Click the check box's square (its middle may be empty space right of a short label)."""
    QTest.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))


def open_tab(window: AccountWindow, title: str) -> None:
    """Choose a tab like a user: widgets on a tab never shown are not laid out, so clicks would miss them."""
    titles = [window.tabs.tabText(index) for index in range(window.tabs.count())]
    window.tabs.setCurrentIndex(titles.index(title))
    QApplication.processEvents()  # the layout of the newly shown tab


def shown(label: QWidget) -> bool:
    """Visible once its tab is: offscreen tabs other than the current one are never "visible"."""
    return not label.isHidden()


# ---------------------------------------------------------------------------------------------- profile
def test_the_profile_is_shown_and_only_the_changed_field_is_sent(
    qtbot: QtBot, window: AccountWindow, fake_server: FakeServer
) -> None:
    assert (window.name_edit.text(), window.email_edit.text(), window.username_edit.text()) == (
        "Ada",
        "ada@example.com",
        "ada",
    )
    type_into(window.name_edit, "Ada Lovelace")

    click(window.save_button)

    qtbot.waitUntil(lambda: shown(window.profile_notice), timeout=TIMEOUT_MS)
    assert window.profile_notice.text() == "Your profile is saved."
    assert fake_server.requests_to("PATCH", "/api/v1/me")[0].json() == {"name": "Ada Lovelace"}
    assert fake_server.account("ada@example.com").name == "Ada Lovelace"


def test_a_new_email_says_a_confirmation_mail_was_sent(
    qtbot: QtBot, window: AccountWindow, fake_server: FakeServer
) -> None:
    open_tab(window, "Profile")
    assert window.email_password_row.isHidden()  # asked for only when the address changes
    type_into(window.email_edit, "ada@new.example")
    assert not window.email_password_row.isHidden()
    type_into(window.email_password_edit, PASSWORD)

    click(window.save_button)

    qtbot.waitUntil(lambda: shown(window.profile_notice), timeout=TIMEOUT_MS)
    assert window.profile_notice.text() == (
        "We sent a confirmation mail to ada@new.example; the new address takes effect once you confirm it."
    )
    sent = fake_server.requests_to("PATCH", "/api/v1/me")[0].json()
    assert sent == {"email": "ada@new.example", "current_password": PASSWORD}


def test_a_new_email_needs_the_right_password_and_nothing_is_lost_without_it(
    qtbot: QtBot, window: AccountWindow, fake_server: FakeServer
) -> None:
    open_tab(window, "Profile")
    type_into(window.email_edit, "ada@new.example")

    click(window.save_button)  # no password typed: refused here, nothing sent
    assert window.field_errors["current_password"].text() == "Enter your password to change the e-mail address."
    assert fake_server.requests_to("PATCH", "/api/v1/me") == []
    type_into(window.email_password_edit, "not my password")
    click(window.save_button)

    qtbot.waitUntil(lambda: len(fake_server.requests_to("PATCH", "/api/v1/me")) == 1, timeout=TIMEOUT_MS)
    qtbot.waitUntil(
        lambda: window.field_errors["current_password"].text().startswith("That password is wrong"), timeout=TIMEOUT_MS
    )
    assert window.email_edit.text() == "ada@new.example"  # what was typed stays
    assert fake_server.account("ada@example.com").pending_email is None


def test_a_field_error_shows_next_to_its_field_and_the_typed_values_stay(
    qtbot: QtBot, window: AccountWindow, fake_server: FakeServer
) -> None:
    type_into(window.name_edit, "Ada L.")
    type_into(window.username_edit, "ada lovelace")

    click(window.save_button)

    qtbot.waitUntil(lambda: shown(window.field_errors["username"]), timeout=TIMEOUT_MS)
    assert window.field_errors["username"].text() == "Use letters, digits, dots, dashes or underscores."
    assert window.field_errors["name"].isHidden()
    assert (window.name_edit.text(), window.username_edit.text()) == ("Ada L.", "ada lovelace")
    assert fake_server.account("ada@example.com").name == "Ada"  # nothing was saved


def test_a_taken_email_shows_next_to_the_email_field(
    qtbot: QtBot, window: AccountWindow, fake_server: FakeServer
) -> None:
    fake_server.add_account("grace@example.com")
    open_tab(window, "Profile")
    type_into(window.email_edit, "grace@example.com")
    type_into(window.email_password_edit, PASSWORD)

    click(window.save_button)

    qtbot.waitUntil(lambda: shown(window.field_errors["email"]), timeout=TIMEOUT_MS)
    assert window.field_errors["email"].text() == "Another account uses this e-mail address."
    assert window.email_edit.text() == "grace@example.com"
    assert window.profile_notice.isHidden()


# ---------------------------------------------------------------------------------------------- password
def fill_passwords(window: AccountWindow, current: str, new: str, repeated: str) -> None:
    type_into(window.current_password_edit, current)
    type_into(window.new_password_edit, new)
    type_into(window.repeat_password_edit, repeated)


def test_a_wrong_current_password_says_so(qtbot: QtBot, window: AccountWindow, fake_server: FakeServer) -> None:
    fill_passwords(window, "not my password", "a brand new passphrase", "a brand new passphrase")

    click(window.password_button)

    qtbot.waitUntil(lambda: shown(window.password_error), timeout=TIMEOUT_MS)
    assert window.password_error.text() == "The current password is wrong."
    assert fake_server.account("ada@example.com").password == PASSWORD


def test_a_weak_password_shows_the_servers_rule_next_to_the_field(qtbot: QtBot, window: AccountWindow) -> None:
    fill_passwords(window, PASSWORD, "password123", "password123")

    click(window.password_button)

    qtbot.waitUntil(lambda: shown(window.security_pane.new_password_error), timeout=TIMEOUT_MS)
    assert window.security_pane.new_password_error.text() == (
        "This password is one of the most common ones; choose another."
    )
    assert window.password_error.isHidden()
    assert window.new_password_edit.text() == "password123"  # kept, to correct


def test_the_repeated_password_is_checked_here_first(
    qtbot: QtBot, window: AccountWindow, fake_server: FakeServer
) -> None:
    fill_passwords(window, PASSWORD, "a brand new passphrase", "a brand new passphrase!")

    click(window.password_button)

    assert window.password_error.text() == "The two new passwords are not the same. Type the new one again."
    assert shown(window.password_error)
    assert fake_server.hits("change_password") == 0


def test_a_changed_password_signs_out_the_other_devices(
    qtbot: QtBot, window: AccountWindow, fake_server: FakeServer
) -> None:
    fake_server.add_session(fake_server.account("ada@example.com"), "ada-phone")
    fill_passwords(window, PASSWORD, "a brand new passphrase", "a brand new passphrase")

    click(window.password_button)

    qtbot.waitUntil(lambda: shown(window.password_notice), timeout=TIMEOUT_MS)
    assert window.password_notice.text() == "Your password is changed. Every other device was signed out."
    assert window.current_password_edit.text() == ""
    qtbot.waitUntil(lambda: window.devices_pane.device_names() == ["Tech Pal (this computer)"], timeout=TIMEOUT_MS)
    assert fake_server.account("ada@example.com").password == "a brand new passphrase"


# ---------------------------------------------------------------------------------------------- devices
def test_devices_are_listed_and_one_is_signed_out(
    qtbot: QtBot, qapp: object, signed_in_client: ApiClient, fake_server: FakeServer
) -> None:
    account = fake_server.account("ada@example.com")
    phone = fake_server.add_session(account, "ada-phone")
    fake_server.add_session(account, "ada-tablet")
    runner = TaskRunner()
    window = AccountWindow(
        AccountPresenter(lambda: signed_in_client, runner=runner),
        DevicesPresenter(lambda: signed_in_client, runner=runner),
        ExportPresenter(lambda: signed_in_client, runner=runner),
    )
    qtbot.addWidget(window)
    pane = window.devices_pane
    try:
        window.present()
        open_tab(window, "Devices")
        qtbot.waitUntil(lambda: len(pane.device_names()) == 3, timeout=TIMEOUT_MS)
        assert pane.device_names() == ["Tech Pal (this computer)", "ada-phone", "ada-tablet"]
        assert len(pane.sign_out_buttons) == 2  # none for this computer

        click(pane.sign_out_buttons[phone])

        qtbot.waitUntil(lambda: len(pane.device_names()) == 2, timeout=TIMEOUT_MS)
        assert pane.device_names() == ["Tech Pal (this computer)", "ada-tablet"]
        assert pane.message_label.text() == "That device is signed out."
        assert fake_server.session_devices(account) == ["Tech Pal", "ada-tablet"]

        click(pane.sign_out_others_button)

        qtbot.waitUntil(lambda: len(pane.device_names()) == 1, timeout=TIMEOUT_MS)
        assert pane.message_label.text() == "Every other device is signed out."
        assert fake_server.session_devices(account) == ["Tech Pal"]
        assert not pane.sign_out_others_button.isEnabled()
    finally:
        runner.shutdown()


# ---------------------------------------------------------------------------------------------- privacy
def test_each_switch_has_its_plain_sentence(window: AccountWindow) -> None:
    texts = {key: (box.text(), window.switch_notes[key].text()) for key, box in window.switches.items()}

    assert texts == {s.key: (s.label, s.explanation) for s in PRIVACY_SWITCHES}
    assert texts["ai_processing"] == (
        "AI processing",
        "Your descriptions and screenshots are sent to the AI model to write answers. Off: answers come only from "
        "the knowledge base, and nothing of yours reaches the AI.",
    )
    assert all(box.isChecked() and box.isEnabled() for box in window.switches.values())


@pytest.mark.parametrize("key", [s.key for s in PRIVACY_SWITCHES])
def test_a_switch_is_sent_at_once(qtbot: QtBot, window: AccountWindow, fake_server: FakeServer, key: str) -> None:
    box = window.switches[key]
    open_tab(window, "Privacy")

    tick(box)

    assert not box.isChecked()
    qtbot.waitUntil(lambda: fake_server.hits("update_me") == 1 and box.isEnabled(), timeout=TIMEOUT_MS)
    assert fake_server.requests_to("PATCH", "/api/v1/me")[0].json() == {key: False}
    assert getattr(fake_server.account("ada@example.com"), key) is False
    assert not box.isChecked()
    assert window.privacy_error.isHidden()


@pytest.mark.parametrize("key", [s.key for s in PRIVACY_SWITCHES])
def test_a_switch_the_server_refuses_flips_back(
    qtbot: QtBot, window: AccountWindow, fake_server: FakeServer, key: str
) -> None:
    fake_server.fail("update_me", 503, "service_unavailable")
    box = window.switches[key]
    open_tab(window, "Privacy")

    tick(box)

    qtbot.waitUntil(lambda: shown(window.privacy_error), timeout=TIMEOUT_MS)
    assert box.isChecked()  # back to what the server holds
    assert box.isEnabled()
    assert window.privacy_error.text() == "Not saved: The server is busy or starting up. Please try again in a moment."
    assert getattr(fake_server.account("ada@example.com"), key) is True
