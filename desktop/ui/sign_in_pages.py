"""Parts of the sign-in dialog beyond the password: a forgotten password, the two-step code, the age for Google.

Each is a plain widget with its fields and buttons; :class:`~desktop.ui.sign_in_dialog.SignInDialog` wires them to
the session presenter. Key widgets carry object names, so tests (and accessibility tools) find them by name.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.theme import use_danger_color

__all__ = [
    "AGE_TEXT",
    "FORGOT_INTRO",
    "GOOGLE_WAITING_TEXT",
    "OTP_INTRO",
    "AgePage",
    "ForgotPasswordPage",
    "GoogleBox",
    "OtpPage",
    "Page",
    "ResendBox",
    "error_label",
    "info_label",
]

FORGOT_INTRO: Final = (
    "Enter the e-mail address of your account. We'll mail you a link; it opens a page where you choose a new "
    "password. Then sign in here with it."
)
OTP_INTRO: Final = (
    "Two-step sign-in is on for this account. Enter the 6-digit code from your authenticator app, or one of your "
    "recovery codes."
)
AGE_TEXT: Final = (
    "Welcome! There is no Tech Pal account for this Google account yet; signing in makes one. Tech Pal is for "
    "adults: please confirm your age."
)
GOOGLE_WAITING_TEXT: Final = "Waiting for your browser… Finish signing in with Google there."
RESEND_INTRO: Final = "Didn't get the mail, or the link expired?"


class Page(IntEnum):
    """The sign-in dialog's pages, in stack order."""

    SERVER = 0
    SIGN_IN = 1
    REGISTER = 2
    VERIFY = 3
    FORGOT = 4  # a link to set a new password
    OTP = 5  # the code of two-step sign-in
    AGE = 6  # a first Google sign-in: "I am 18 or older"


def error_label() -> QLabel:
    """A hidden, word-wrapped, selectable label in the theme's danger red."""
    label = info_label()
    use_danger_color(label)
    return label


def info_label(text: str = "", *, hidden: bool = True) -> QLabel:
    """A word-wrapped, selectable label (hidden until its text is set, unless ``hidden`` is false)."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setVisible(not hidden)
    return label


def _named(widget: QWidget, name: str) -> None:
    widget.setObjectName(name)


def _button_row(back: QPushButton, primary: QPushButton) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(back)
    row.addStretch()
    row.addWidget(primary)
    return row


class ForgotPasswordPage(QWidget):
    """The "Forgot password?" page: the e-mail address, and "Send the link"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        intro = info_label(FORGOT_INTRO, hidden=False)
        self.email_edit = QLineEdit()
        self.email_edit.setPlaceholderText("you@example.com")
        self.email_edit.setAccessibleName("E-mail address")
        self.info = info_label()
        self.error = error_label()
        self.send_button = QPushButton("Send the link")
        self.send_button.setDefault(True)
        self.back_button = QPushButton("Back to sign in")
        for widget, name in (
            (self.email_edit, "forgot_email_edit"),
            (self.info, "forgot_info"),
            (self.error, "forgot_error"),
            (self.send_button, "forgot_send_button"),
            (self.back_button, "forgot_back_button"),
        ):
            _named(widget, name)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.email_edit)
        layout.addWidget(self.info)
        layout.addWidget(self.error)
        layout.addStretch()
        layout.addLayout(_button_row(self.back_button, self.send_button))


class OtpPage(QWidget):
    """Two-step sign-in: the code from the authenticator app, or a recovery code."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.intro = info_label(OTP_INTRO, hidden=False)
        self.code_edit = QLineEdit()
        self.code_edit.setPlaceholderText("123456 or abcde-fghij")
        self.code_edit.setAccessibleName("Code")
        self.code_edit.setMaxLength(64)
        self.error = error_label()
        self.verify_button = QPushButton("Verify")
        self.verify_button.setDefault(True)
        self.back_button = QPushButton("Back")
        for widget, name in (
            (self.code_edit, "otp_code_edit"),
            (self.error, "otp_error"),
            (self.verify_button, "otp_verify_button"),
            (self.back_button, "otp_back_button"),
        ):
            _named(widget, name)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.code_edit)
        layout.addWidget(self.error)
        layout.addStretch()
        layout.addLayout(_button_row(self.back_button, self.verify_button))


class AgePage(QWidget):
    """A first Google sign-in makes an account: "I am 18 or older", then "Create my account"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        intro = info_label(AGE_TEXT, hidden=False)
        self.age_check = QCheckBox("I am 18 or older")
        self.continue_button = QPushButton("Create my account")
        self.continue_button.setDefault(True)
        self.continue_button.setEnabled(False)
        self.back_button = QPushButton("Cancel")
        for widget, name in (
            (self.age_check, "age_check"),
            (self.continue_button, "age_continue_button"),
            (self.back_button, "age_back_button"),
        ):
            _named(widget, name)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.age_check)
        layout.addStretch()
        layout.addLayout(_button_row(self.back_button, self.continue_button))
        self.age_check.toggled.connect(self.continue_button.setEnabled)

    def reset(self) -> None:
        """Unticked, as every new sign-in should find it."""
        self.age_check.setChecked(False)


class GoogleBox(QWidget):
    """The "Sign in with Google" button; while the browser is open, "Waiting for your browser…" and "Cancel"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.google_button = QPushButton("Sign in with Google")
        self.waiting_label = info_label(GOOGLE_WAITING_TEXT)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        for widget, name in (
            (self.google_button, "google_button"),
            (self.waiting_label, "google_waiting_label"),
            (self.cancel_button, "google_cancel_button"),
        ):
            _named(widget, name)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.google_button, 1)
        layout.addWidget(self.waiting_label, 1)
        layout.addWidget(self.cancel_button)

    def set_waiting(self, waiting: bool) -> None:
        """Show the waiting line and its Cancel instead of the button, or back."""
        self.google_button.setVisible(not waiting)
        self.waiting_label.setVisible(waiting)
        self.cancel_button.setVisible(waiting)


class ResendBox(QWidget):
    """After "please confirm your e-mail address": send the confirmation mail again (asking for the address)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        intro = info_label(RESEND_INTRO, hidden=False)
        self.email_edit = QLineEdit()
        self.email_edit.setPlaceholderText("Your e-mail address")
        self.email_edit.setAccessibleName("E-mail address for the confirmation mail")
        self.email_edit.hide()  # asked for only when the login was a username
        self.resend_button = QPushButton("Resend the confirmation mail")
        self.info = info_label()
        for widget, name in (
            (self.email_edit, "resend_email_edit"),
            (self.resend_button, "resend_confirmation_button"),
            (self.info, "resend_info"),
        ):
            _named(widget, name)
        row = QHBoxLayout()
        row.addWidget(self.email_edit, 1)
        row.addWidget(self.resend_button)
        row.addStretch()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(intro)
        layout.addLayout(row)
        layout.addWidget(self.info)
