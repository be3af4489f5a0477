"""The Account window's "Sign-in" tab, offscreen, against the fake server.

Two-step sign-in on and off (the QR code painted here, the recovery codes copied and saved), the password rules
shown before anything is sent, and an account made by Google sign-in, which has no password.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pyotp
import pytest
import segno
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from desktop.core.password_rules import PASSWORD_RULES
from desktop.core.two_factor import group_secret, qr_matrix
from desktop.presenters.account_presenter import AccountPresenter
from desktop.presenters.devices_presenter import DevicesPresenter
from desktop.presenters.export_presenter import ExportPresenter
from desktop.presenters.two_factor_presenter import (
    CONFIRM_NEEDS_IT_TEXT,
    CONFIRM_WRONG_CREDENTIALS_TEXT,
    CONFIRM_WRONG_TEXT,
    OFF_WRONG_CREDENTIALS_TEXT,
    TURNED_OFF_TEXT,
)
from desktop.services.tasks import TaskRunner
from desktop.ui.account_security import TWO_FACTOR_OFF_TEXT, TWO_FACTOR_ON_TEXT
from desktop.ui.account_window import AccountWindow
from desktop.ui.qr_code import QUIET_ZONE, QrCodeWidget
from desktop.ui.two_factor_dialogs import COPIED_TEXT, TwoFactorOffDialog, TwoFactorSetupDialog

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from PySide6.QtWidgets import QLineEdit, QWidget
    from pytestqt.qtbot import QtBot

    from desktop.core.api import ApiClient
    from tests.fixtures.fake_server import FakeServer

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)\(\)")

TIMEOUT_MS = 5000
PASSWORD = "correct horse battery"
URI = "otpauth://totp/Tech%20Pal:ada%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Tech%20Pal"
RECOVERY_CODE = re.compile(r"[a-z]{5}-[a-z]{5}")


class Saved:
    """Answers the save dialog with a path in ``tmp_path`` and remembers what it was asked."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.asked: list[str] = []

    def __call__(self, _parent: QWidget, default_name: str) -> str:
        self.asked.append(default_name)
        return str(self.path)


@pytest.fixture
def saved(tmp_path: Path) -> Saved:
    return Saved(tmp_path / "codes.txt")


@pytest.fixture
def make_window(qtbot: QtBot, signed_in_client: ApiClient, saved: Saved) -> Iterator[Callable[[], AccountWindow]]:
    """Build the window on the "Sign-in" tab, presented and loaded (call after arranging the fake server)."""
    runner = TaskRunner()

    def make() -> AccountWindow:
        account = AccountPresenter(lambda: signed_in_client, runner=runner)
        devices = DevicesPresenter(lambda: signed_in_client, runner=runner)
        export = ExportPresenter(lambda: signed_in_client, runner=runner)
        window = AccountWindow(account, devices, export, choose_codes_path=saved)
        qtbot.addWidget(window)
        window.present()
        qtbot.waitUntil(lambda: account.profile is not None and not devices.busy, timeout=TIMEOUT_MS)
        window.tabs.setCurrentWidget(window.security_pane)
        QApplication.processEvents()
        return window

    yield make
    runner.shutdown()


def type_into(widget: QLineEdit, text: str) -> None:
    widget.clear()
    QTest.keyClicks(widget, text)


def click(button: QWidget) -> None:
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def now(secret: str) -> str:
    return pyotp.TOTP(secret).now()


def refused(secret: str) -> str:
    totp = pyotp.TOTP(secret)
    return next(code for code in (f"{n:06d}" for n in range(1000)) if not totp.verify(code, valid_window=1))


def is_dark(color: QColor) -> bool:
    return color.lightness() < 64


# ---------------------------------------------------------------------------------------------- the QR code
def test_the_qr_widget_paints_exactly_segnos_dark_modules(qtbot: QtBot) -> None:
    expected = segno.make(URI, error="m").matrix
    widget = QrCodeWidget()
    qtbot.addWidget(widget)
    widget.set_matrix(qr_matrix(URI))
    widget.resize(widget.sizeHint())

    image = widget.grab().toImage()

    size = widget.module_px()
    assert size >= 3
    painted = [
        [int(is_dark(image.pixelColor(widget.module_rect(row, column).center()))) for column in range(len(line))]
        for row, line in enumerate(expected)
    ]
    assert painted == [list(line) for line in expected]
    corner = widget.symbol_rect().topLeft()
    quiet = [image.pixelColor(corner.x() + size * i + size // 2, corner.y() + size // 2) for i in range(QUIET_ZONE)]
    assert all(not is_dark(color) for color in quiet)


def test_the_qr_code_stays_black_on_white_in_the_dark_theme(qtbot: QtBot, qapp: QApplication) -> None:
    from desktop.ui.theme import dark_palette, light_palette

    qapp.setPalette(dark_palette())
    try:
        widget = QrCodeWidget()
        qtbot.addWidget(widget)
        widget.set_matrix(qr_matrix(URI))
        widget.resize(widget.sizeHint())
        image = widget.grab().toImage()
        light_module = next((r, c) for r, line in enumerate(qr_matrix(URI)) for c, dark in enumerate(line) if not dark)
        assert image.pixelColor(widget.module_rect(*light_module).center()) == QColor("#ffffff")
        assert image.pixelColor(widget.module_rect(0, 0).center()) == QColor("#000000")
    finally:
        qapp.setPalette(light_palette())


# ---------------------------------------------------------------------------------------------- turning it on
def test_turning_two_step_on_shows_the_code_takes_a_code_and_shows_the_recovery_codes(
    qtbot: QtBot, make_window: Callable[[], AccountWindow], fake_server: FakeServer, saved: Saved
) -> None:
    # GIVEN two-step sign-in is off
    window = make_window()
    pane = window.security_pane
    assert pane.two_factor_status.text() == TWO_FACTOR_OFF_TEXT
    assert pane.turn_off_button.isHidden()
    # WHEN the user turns it on
    click(pane.turn_on_button)
    dialog = pane.setup_dialog
    assert isinstance(dialog, TwoFactorSetupDialog)
    qtbot.waitUntil(lambda: bool(dialog.qr.matrix), timeout=TIMEOUT_MS)
    # THEN the dialog shows the pending secret as a QR code of its URI and as grouped text
    account = fake_server.account("ada@example.com")
    secret = account.pending_totp_secret
    assert secret is not None
    expected_uri = pyotp.TOTP(secret).provisioning_uri(name="ada@example.com", issuer_name="Tech Pal")
    expected = segno.make(expected_uri, error="m").matrix
    assert [[int(m) for m in row] for row in dialog.qr.matrix] == [list(row) for row in expected]
    assert dialog.secret_label.text() == group_secret(secret)
    assert dialog.secret_label.text().replace(" ", "") == secret
    # WHEN a wrong code is typed
    assert dialog.password_edit.isVisible()
    type_into(dialog.code_edit, refused(secret))
    type_into(dialog.password_edit, PASSWORD)
    click(dialog.confirm_button)
    qtbot.waitUntil(dialog.confirm_error.isVisible, timeout=TIMEOUT_MS)
    # THEN it says so and stays
    assert dialog.confirm_error.text() == CONFIRM_WRONG_TEXT
    assert account.totp_secret is None
    # WHEN the app's current code is typed, with a wrong password
    type_into(dialog.code_edit, now(secret))
    type_into(dialog.password_edit, "not my password")
    click(dialog.confirm_button)
    qtbot.waitUntil(lambda: dialog.confirm_error.text() == CONFIRM_WRONG_CREDENTIALS_TEXT, timeout=TIMEOUT_MS)
    assert account.totp_secret is None
    # WHEN the password is right too
    type_into(dialog.password_edit, PASSWORD)
    click(dialog.confirm_button)
    # THEN the ten recovery codes are shown, once
    qtbot.waitUntil(lambda: bool(dialog.codes_label.text()), timeout=TIMEOUT_MS)
    shown = RECOVERY_CODE.findall(dialog.codes_label.text())
    assert sorted(shown) == sorted(account.recovery_codes)
    assert len(shown) == 10
    assert dialog.codes_intro.isVisible()
    assert "Each code works once." in dialog.codes_intro.text()
    # WHEN they copy them
    click(dialog.copy_button)
    # THEN the clipboard holds every code
    clipboard = QGuiApplication.clipboard().text()
    assert all(code in clipboard for code in account.recovery_codes)
    assert dialog.codes_notice.text() == COPIED_TEXT
    # WHEN they save them
    click(dialog.save_button)
    qtbot.waitUntil(lambda: dialog.codes_notice.text().startswith("Saved to"), timeout=TIMEOUT_MS)
    # THEN a text file holds every code, readable by this user only
    assert saved.asked == ["techpal-recovery-codes.txt"]
    text = saved.path.read_text(encoding="utf-8")
    assert all(code in text.splitlines() for code in account.recovery_codes)
    assert "Account: ada@example.com" in text
    assert saved.path.stat().st_mode & 0o077 == 0
    # WHEN they are done
    click(dialog.done_button)
    # THEN the tab says two-step sign-in is on, and the codes are forgotten
    qtbot.waitUntil(lambda: pane.two_factor_status.text() == TWO_FACTOR_ON_TEXT, timeout=TIMEOUT_MS)
    assert pane.turn_on_button.isHidden()
    assert pane.turn_off_button.isVisible()


def test_the_setup_dialog_says_why_it_could_not_start(
    qtbot: QtBot, make_window: Callable[[], AccountWindow], fake_server: FakeServer
) -> None:
    fake_server.fail("start_totp", 503, "service_unavailable")
    window = make_window()

    click(window.security_pane.turn_on_button)

    dialog = window.security_pane.setup_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.start_error.isVisible, timeout=TIMEOUT_MS)
    assert dialog.start_error.text() == "The server is busy or starting up. Please try again in a moment."
    assert dialog.retry_button.isVisible()


# ---------------------------------------------------------------------------------------------- turning it off
def test_turning_two_step_off_asks_for_the_password_and_a_code(
    qtbot: QtBot, make_window: Callable[[], AccountWindow], fake_server: FakeServer
) -> None:
    # GIVEN two-step sign-in is on
    secret = fake_server.turn_on_two_factor(fake_server.account("ada@example.com"))
    window = make_window()
    pane = window.security_pane
    assert pane.two_factor_status.text() == TWO_FACTOR_ON_TEXT
    # WHEN the user turns it off with a wrong password
    click(pane.turn_off_button)
    dialog = pane.off_dialog
    assert isinstance(dialog, TwoFactorOffDialog)
    type_into(dialog.password_edit, "not my password")
    code = now(secret)  # once: the next 30-second step may begin before the request is checked
    type_into(dialog.code_edit, code)
    click(dialog.off_button)
    # THEN it says so and stays open
    qtbot.waitUntil(dialog.error_label.isVisible, timeout=TIMEOUT_MS)
    assert dialog.error_label.text() == OFF_WRONG_CREDENTIALS_TEXT
    assert dialog.isVisible()
    # WHEN the password is right
    type_into(dialog.password_edit, PASSWORD)
    with qtbot.wait_signal(dialog.finished, timeout=TIMEOUT_MS):
        click(dialog.off_button)
    # THEN it is off, and the tab says so
    qtbot.waitUntil(lambda: pane.two_factor_status.text() == TWO_FACTOR_OFF_TEXT, timeout=TIMEOUT_MS)
    assert pane.two_factor_notice.text() == TURNED_OFF_TEXT
    assert fake_server.account("ada@example.com").totp_secret is None
    assert fake_server.requests_to("DELETE", "/me/2fa/totp")[-1].json() == {"password": PASSWORD, "code": code}


def test_a_wrong_code_keeps_two_step_on(
    qtbot: QtBot, make_window: Callable[[], AccountWindow], fake_server: FakeServer
) -> None:
    secret = fake_server.turn_on_two_factor(fake_server.account("ada@example.com"))
    window = make_window()
    click(window.security_pane.turn_off_button)
    dialog = window.security_pane.off_dialog
    assert dialog is not None
    type_into(dialog.password_edit, PASSWORD)
    type_into(dialog.code_edit, refused(secret))

    click(dialog.off_button)

    qtbot.waitUntil(dialog.error_label.isVisible, timeout=TIMEOUT_MS)
    assert dialog.error_label.text().startswith("That code isn't right.")
    assert fake_server.account("ada@example.com").totp_secret == secret


# ---------------------------------------------------------------------------------------------- the password
def test_the_password_rules_are_shown_before_anything_is_sent(
    make_window: Callable[[], AccountWindow], fake_server: FakeServer
) -> None:
    window = make_window()
    pane = window.security_pane
    labels = [pane.rule_labels[rule.key] for rule in PASSWORD_RULES]

    before = [label.text() for label in labels]
    type_into(pane.new_password_edit, "short")
    short = [label.text() for label in labels]
    type_into(pane.new_password_edit, "ada loves long walks")
    with_username = [label.text() for label in labels]
    type_into(pane.new_password_edit, "a long and strong one")
    strong = [label.text() for label in labels]

    assert all(label.isVisible() for label in labels)
    assert before == [
        "• At least 10 characters (a few words are easy to remember)",
        "• Not one of the most common passwords",
        "• Without your e-mail address or username in it",
    ]
    assert [text[0] for text in short] == ["✗", "•", "✓"]
    assert [text[0] for text in with_username] == ["✓", "•", "✗"]
    assert [text[0] for text in strong] == ["✓", "•", "✓"]
    assert fake_server.hits("change_password") == 0


def test_no_password_google_account_is_offered_a_link_to_set_one(
    qtbot: QtBot, make_window: Callable[[], AccountWindow], fake_server: FakeServer
) -> None:
    account = fake_server.account("ada@example.com")
    account.has_password, account.google_linked = False, True
    window = make_window()
    pane = window.security_pane

    assert pane.password_box.isHidden()
    assert pane.no_password_box.isVisible()
    assert pane.two_factor_hint.isHidden()  # two-step sign-in is off: nothing to turn off
    click(pane.link_button)

    qtbot.waitUntil(pane.link_notice.isVisible, timeout=TIMEOUT_MS)
    assert pane.link_notice.text() == "We sent a link to ada@example.com. Open it to choose your password."
    assert fake_server.password_resets == ["ada@example.com"]


def test_without_a_password_two_step_cannot_be_turned_off_and_the_tab_says_why(
    make_window: Callable[[], AccountWindow], fake_server: FakeServer
) -> None:
    account = fake_server.account("ada@example.com")
    account.has_password = False
    fake_server.turn_on_two_factor(account)

    pane = make_window().security_pane

    assert pane.two_factor_status.text() == TWO_FACTOR_ON_TEXT
    assert not pane.turn_off_button.isEnabled()
    assert pane.two_factor_hint.isVisible()
    assert pane.two_factor_hint.text() == "To turn it off, first set a password with the link above."


def test_turning_two_step_on_asks_for_the_password_before_sending(
    qtbot: QtBot, make_window: Callable[[], AccountWindow], fake_server: FakeServer
) -> None:
    window = make_window()
    click(window.security_pane.turn_on_button)
    dialog = window.security_pane.setup_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: bool(dialog.qr.matrix), timeout=TIMEOUT_MS)
    secret = fake_server.account("ada@example.com").pending_totp_secret
    assert secret is not None
    type_into(dialog.code_edit, now(secret))

    click(dialog.confirm_button)

    assert dialog.confirm_error.text() == CONFIRM_NEEDS_IT_TEXT
    assert fake_server.hits("confirm_totp") == 0


def test_an_account_without_a_password_turns_two_step_on_with_the_code_alone(
    qtbot: QtBot, make_window: Callable[[], AccountWindow], fake_server: FakeServer
) -> None:
    fake_server.account("ada@example.com").has_password = False
    window = make_window()
    click(window.security_pane.turn_on_button)
    dialog = window.security_pane.setup_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: bool(dialog.qr.matrix), timeout=TIMEOUT_MS)
    secret = fake_server.account("ada@example.com").pending_totp_secret
    assert secret is not None
    assert dialog.password_edit.isHidden()

    code = now(secret)  # once: the next 30-second step may begin before the request is checked
    type_into(dialog.code_edit, code)
    click(dialog.confirm_button)

    qtbot.waitUntil(lambda: bool(dialog.codes_label.text()), timeout=TIMEOUT_MS)
    assert fake_server.requests_to("POST", "/me/2fa/totp/confirm")[0].json() == {"code": code}
