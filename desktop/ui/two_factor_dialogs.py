"""Turning two-step sign-in on (scan, type a code, keep the recovery codes) and off (password and a code).

Thin views over :class:`~desktop.presenters.two_factor_presenter.TwoFactorPresenter`. The setup dialog asks for
a secret as it opens, shows it as a QR code drawn here and as text to type, turns it on with the app's first code,
and then shows the recovery codes once, with "Copy" and "Save…".
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.core.two_factor import RECOVERY_CODES_FILENAME
from desktop.ui.account_panes import error_label, note_label
from desktop.ui.qr_code import QrCodeWidget
from desktop.ui.theme import use_danger_color

if TYPE_CHECKING:
    from desktop.presenters.two_factor_presenter import TotpSetupView, TwoFactorPresenter

__all__ = [
    "CODES_TEXT",
    "COPIED_TEXT",
    "OFF_TEXT",
    "SCAN_TEXT",
    "TextPathChooser",
    "TwoFactorOffDialog",
    "TwoFactorSetupDialog",
    "ask_text_path",
]

SETUP_TITLE: Final = "Turn on two-step sign-in"
OFF_TITLE: Final = "Turn off two-step sign-in"
SCAN_TEXT: Final = (
    "<b>1.</b> Open your authenticator app (for example Google Authenticator, Microsoft Authenticator or "
    "1Password) and scan this code."
)
KEY_TEXT: Final = "Can't scan it? Add an account in the app and type this key instead:"
CODE_TEXT: Final = "<b>2.</b> Enter the 6-digit code the app now shows for Tech Pal, and your password:"
CODE_ONLY_TEXT: Final = "<b>2.</b> Enter the 6-digit code the app now shows for Tech Pal:"
ON_TEXT: Final = (
    "<b>Two-step sign-in is on.</b> From now on, signing in also asks for a code from the app. Your other devices "
    "were signed out: sign in there again, with a code."
)
CODES_TEXT: Final = (
    "These are your recovery codes. If you lose your phone, sign in with one of them instead of a code from the "
    "app. <b>Each code works once.</b> Keep them somewhere safe, such as a password manager: they are shown only now."
)
COPIED_TEXT: Final = "The codes are on the clipboard. Paste them somewhere safe."
OFF_TEXT: Final = (
    "Without two-step sign-in, your password alone signs in to your account. To turn it off, enter your password "
    "and a code from your authenticator app (or a recovery code)."
)
PREPARING_TEXT: Final = "Preparing a new key…"

TextPathChooser = Callable[[QWidget, str], "str | None"]


def ask_text_path(parent: QWidget, default_name: str) -> str | None:
    """The platform's save dialog for a text file, starting in the home folder; ``None`` when cancelled."""
    path, _filter = QFileDialog.getSaveFileName(
        parent, "Save your recovery codes", str(Path.home() / default_name), "Text files (*.txt)"
    )
    return path or None


def _monospace(label: QLabel) -> QLabel:
    label.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def two_columns(codes: list[str]) -> str:
    """The codes in two columns, first half left (the order they were issued in reads down each column)."""
    half = (len(codes) + 1) // 2
    rows = [f"{left}    {right}" for left, right in zip(codes[:half], codes[half:], strict=False)]
    if len(codes) % 2:
        rows.append(codes[half - 1])
    return "\n".join(rows)


class TwoFactorSetupDialog(QDialog):
    """Scan (or type) the key, confirm with a code, keep the recovery codes.

    Args:
        presenter: Two-step sign-in's requests.
        choose_path: Asks where to save the codes (tests answer it).
        parent: Parent widget.
    """

    def __init__(
        self,
        presenter: TwoFactorPresenter,
        *,
        choose_path: TextPathChooser = ask_text_path,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self._choose_path = choose_path
        self.setWindowTitle(SETUP_TITLE)
        self.setMinimumWidth(460)
        self.stack = QStackedWidget()
        self.stack.addWidget(self._build_preparing_page())
        self.stack.addWidget(self._build_scan_page())
        self.stack.addWidget(self._build_codes_page())
        layout = QVBoxLayout(self)
        layout.addWidget(self.stack)

        presenter.setup_ready.connect(self._on_setup)
        presenter.codes_ready.connect(self._on_codes)
        presenter.codes_saved.connect(self._show_notice)
        presenter.failed.connect(self._on_failed)
        presenter.busy_changed.connect(self._on_busy)
        self.finished.connect(self._on_finished)
        presenter.start()

    # ------------------------------------------------------------------------------------------------ pages
    def _build_preparing_page(self) -> QWidget:
        page = QWidget()
        self.preparing_label = QLabel(PREPARING_TEXT)
        self.start_error = error_label()
        self.start_error.setObjectName("totp_start_error")
        self.retry_button = QPushButton("Try again")
        self.retry_button.hide()
        cancel = QPushButton("Cancel")
        buttons = QHBoxLayout()
        buttons.addWidget(cancel)
        buttons.addStretch()
        buttons.addWidget(self.retry_button)
        layout = QVBoxLayout(page)
        layout.addWidget(self.preparing_label)
        layout.addWidget(self.start_error)
        layout.addStretch()
        layout.addLayout(buttons)
        self.retry_button.clicked.connect(self._retry)
        cancel.clicked.connect(self.reject)
        return page

    def _build_scan_page(self) -> QWidget:
        page = QWidget()
        scan = note_label(SCAN_TEXT)
        scan.show()
        self.qr = QrCodeWidget()
        self.secret_label = _monospace(QLabel())
        self.secret_label.setObjectName("totp_secret")
        key = note_label(KEY_TEXT)
        key.show()
        step_two = note_label(CODE_TEXT if self._presenter.needs_password else CODE_ONLY_TEXT)
        step_two.show()
        self.code_edit = QLineEdit()
        self.code_edit.setObjectName("totp_code_edit")
        self.code_edit.setPlaceholderText("123456")
        self.code_edit.setMaximumWidth(160)
        self.code_edit.setAccessibleName("Code from the app")
        self.code_edit.setMaxLength(16)
        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("totp_password_edit")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText("Your Tech Pal password")
        self.password_edit.setAccessibleName("Your password")
        self.confirm_error = error_label()
        self.confirm_error.setObjectName("totp_confirm_error")
        self.confirm_button = QPushButton("Turn on")
        self.confirm_button.setObjectName("totp_confirm_button")
        self.confirm_button.setDefault(True)
        cancel = QPushButton("Cancel")
        code_form = QFormLayout()
        code_form.addRow("Code", self.code_edit)
        code_form.addRow("Your password", self.password_edit)
        code_form.setRowVisible(self.password_edit, self._presenter.needs_password)  # a Google-made account has none
        buttons = QHBoxLayout()
        buttons.addWidget(cancel)
        buttons.addStretch()
        buttons.addWidget(self.confirm_button)
        layout = QVBoxLayout(page)
        layout.addWidget(scan)
        layout.addWidget(self.qr, alignment=Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(key)
        layout.addWidget(self.secret_label, alignment=Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(8)
        layout.addWidget(step_two)
        layout.addLayout(code_form)
        layout.addWidget(self.confirm_error)
        layout.addStretch()
        layout.addLayout(buttons)
        self.confirm_button.clicked.connect(self._confirm)
        self.code_edit.returnPressed.connect(self._confirm)
        self.password_edit.returnPressed.connect(self._confirm)
        cancel.clicked.connect(self.reject)
        return page

    def _build_codes_page(self) -> QWidget:
        page = QWidget()
        done_text = note_label(ON_TEXT)
        done_text.show()
        self.codes_intro = note_label(CODES_TEXT)
        self.codes_intro.show()
        self.codes_label = _monospace(QLabel())
        self.codes_label.setObjectName("recovery_codes")
        self.codes_label.setAccessibleName("Recovery codes")
        self.codes_notice = note_label()
        self.codes_notice.setObjectName("recovery_codes_notice")
        self.codes_error = error_label()
        self.copy_button = QPushButton("Copy")
        self.copy_button.setObjectName("copy_codes_button")
        self.save_button = QPushButton("Save…")
        self.save_button.setObjectName("save_codes_button")
        self.done_button = QPushButton("Done")
        self.done_button.setObjectName("codes_done_button")
        for button in (self.copy_button, self.save_button, self.done_button):
            button.setAutoDefault(False)  # Enter must not close the codes away before they are kept
        buttons = QHBoxLayout()
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.save_button)
        buttons.addStretch()
        buttons.addWidget(self.done_button)
        layout = QVBoxLayout(page)
        layout.addWidget(done_text)
        layout.addWidget(self.codes_intro)
        layout.addWidget(self.codes_label, alignment=Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.codes_notice)
        layout.addWidget(self.codes_error)
        layout.addStretch()
        layout.addLayout(buttons)
        self.copy_button.clicked.connect(self._copy)
        self.save_button.clicked.connect(self._save)
        self.done_button.clicked.connect(self.accept)
        return page

    # ------------------------------------------------------------------------------------------------ actions
    @Slot()
    def _retry(self) -> None:
        self.start_error.hide()
        self.retry_button.hide()
        self._presenter.start()

    @Slot()
    def _confirm(self) -> None:
        self.confirm_error.hide()
        self._presenter.confirm(self.code_edit.text(), self.password_edit.text())

    @Slot()
    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self._presenter.codes_text())
        self._show_notice(COPIED_TEXT)

    @Slot()
    def _save(self) -> None:
        self.codes_error.hide()
        path = self._choose_path(self, RECOVERY_CODES_FILENAME)
        if path:
            self._presenter.save_codes(Path(path))

    # ------------------------------------------------------------------------------------------------ results
    @Slot(object)
    def _on_setup(self, setup: TotpSetupView) -> None:
        self.qr.set_matrix(setup.matrix)
        self.secret_label.setText(setup.secret)
        self.stack.setCurrentIndex(1)
        self.code_edit.setFocus()

    @Slot(list)
    def _on_codes(self, codes: list[str]) -> None:
        self.code_edit.clear()
        self.password_edit.clear()
        self.codes_label.setText(two_columns(codes))
        self.stack.setCurrentIndex(2)

    @Slot(str)
    def _show_notice(self, text: str) -> None:
        self.codes_notice.setText(text)
        self.codes_notice.show()

    @Slot(str, str)
    def _on_failed(self, part: str, message: str) -> None:
        if part == "start":
            self.preparing_label.hide()
            self.start_error.setText(message)
            self.start_error.show()
            self.retry_button.show()
        elif part == "confirm":
            self.confirm_error.setText(message)
            self.confirm_error.show()
        elif part == "save":
            self.codes_error.setText(message)
            self.codes_error.show()

    @Slot(bool)
    def _on_busy(self, busy: bool) -> None:
        self.confirm_button.setEnabled(not busy)
        self.retry_button.setEnabled(not busy)

    @Slot(int)
    def _on_finished(self, _result: int) -> None:
        self._presenter.forget_codes()


class TwoFactorOffDialog(QDialog):
    """Asks for the password and a code; accepted once two-step sign-in is off.

    Args:
        presenter: Two-step sign-in's requests.
        parent: Parent widget.
    """

    def __init__(self, presenter: TwoFactorPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self.setWindowTitle(OFF_TITLE)
        self.setMinimumWidth(420)
        intro = note_label(OFF_TEXT)
        intro.show()
        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("off_password_edit")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.code_edit = QLineEdit()
        self.code_edit.setObjectName("off_code_edit")
        self.code_edit.setPlaceholderText("123456 or abcde-fghij")
        self.error_label = error_label()
        self.error_label.setObjectName("off_error")
        form = QFormLayout()
        form.addRow("Your password", self.password_edit)
        form.addRow("Code", self.code_edit)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.off_button = QPushButton("Turn off")
        self.off_button.setObjectName("off_button")
        use_danger_color(self.off_button)
        buttons.addButton(self.off_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)

        self.off_button.clicked.connect(self._submit)
        buttons.rejected.connect(self.reject)
        presenter.turned_off.connect(self._on_turned_off)
        presenter.failed.connect(self._on_failed)
        presenter.busy_changed.connect(self._on_busy)

    @Slot()
    def _submit(self) -> None:
        self.error_label.hide()
        self._presenter.turn_off(self.password_edit.text(), self.code_edit.text())

    @Slot(str)
    def _on_turned_off(self, _text: str) -> None:
        self.password_edit.clear()
        self.code_edit.clear()
        self.accept()

    @Slot(str, str)
    def _on_failed(self, part: str, message: str) -> None:
        if part == "off":
            self.error_label.setText(message)
            self.error_label.show()

    @Slot(bool)
    def _on_busy(self, busy: bool) -> None:
        self.off_button.setEnabled(not busy)
