"""The Account window's "Sign-in" tab: the password (its rules shown before it is sent) and two-step sign-in.

An account made by Google sign-in has no password: the tab says so and offers the link that sets one. Two-step
sign-in shows whether it is on, and opens the dialogs of :mod:`desktop.ui.two_factor_dialogs` to change that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.password_rules import PASSWORD_RULES, RuleState, rule_states
from desktop.presenters.account_presenter import GOOGLE_ONLY_TEXT
from desktop.ui.account_panes import error_label, note_label
from desktop.ui.two_factor_dialogs import TextPathChooser, TwoFactorOffDialog, TwoFactorSetupDialog, ask_text_path

if TYPE_CHECKING:
    from desktop.core.api.models import Profile
    from desktop.presenters.account_presenter import AccountPresenter

__all__ = ["RULES_INTRO", "TWO_FACTOR_OFF_TEXT", "TWO_FACTOR_ON_TEXT", "SecurityPane", "rule_line"]

RULES_INTRO: Final = "A new password needs:"
TWO_FACTOR_ON_TEXT: Final = (
    "<b>On.</b> After your password (or Google), signing in asks for a code from your authenticator app."
)
TWO_FACTOR_OFF_TEXT: Final = (
    "<b>Off.</b> Turn it on and signing in also asks for a code from an app on your phone: a stolen password "
    "alone is then not enough."
)
OFF_NEEDS_ONE_SET_TEXT: Final = "To turn it off, first set a password with the link above."
_MARKS: Final = {RuleState.MET: "✓", RuleState.UNMET: "✗", RuleState.SERVER: "•"}


def rule_line(text: str, state: RuleState | None) -> str:
    """One rule as listed: a tick, a cross, or a bullet (nothing typed yet, or only the server can tell)."""
    return f"{_MARKS[state] if state is not None else '•'} {text}"


class SecurityPane(QWidget):
    """The "Sign-in" tab: "Change password" (or "Set a password") and "Two-step sign-in".

    Args:
        account: The profile, the password and two-step sign-in.
        choose_path: Asks where to save the recovery codes.
        parent: Parent widget.
    """

    def __init__(
        self, account: AccountPresenter, *, choose_path: TextPathChooser = ask_text_path, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._account = account
        self._choose_path = choose_path
        self.setup_dialog: TwoFactorSetupDialog | None = None
        self.off_dialog: TwoFactorOffDialog | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(self._build_password_box())
        layout.addWidget(self._build_no_password_box())
        layout.addWidget(self._build_two_factor_box())
        layout.addStretch()

        account.profile_changed.connect(self._on_profile)
        account.password_changed.connect(self._on_password_changed)
        account.password_failed.connect(self._on_password_failed)
        account.password_rule_failed.connect(self._on_rule_failed)
        account.password_link_sent.connect(self._on_link_sent)
        account.busy_changed.connect(self._on_busy)
        account.two_factor.turned_off.connect(self._on_two_factor_off)
        self._show_rules("")
        self._on_profile(account.profile)

    # ------------------------------------------------------------------------------------------------ password
    def _build_password_box(self) -> QGroupBox:
        self.password_box = QGroupBox("Change password")
        self.current_password_edit = QLineEdit()
        self.new_password_edit = QLineEdit()
        self.repeat_password_edit = QLineEdit()
        for edit, name in (
            (self.current_password_edit, "current_password_edit"),
            (self.new_password_edit, "new_password_edit"),
            (self.repeat_password_edit, "repeat_password_edit"),
        ):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setObjectName(name)
        self.new_password_error = error_label()
        self.new_password_error.setObjectName("new_password_error")
        rules_intro = note_label(RULES_INTRO)
        rules_intro.show()
        self.rule_labels: dict[str, QLabel] = {}
        new_column = QVBoxLayout()
        new_column.setSpacing(2)
        new_column.addWidget(self.new_password_edit)
        new_column.addWidget(self.new_password_error)
        new_column.addWidget(rules_intro)
        for rule in PASSWORD_RULES:
            label = note_label()
            label.setObjectName(f"password_rule_{rule.key}")
            label.setContentsMargins(8, 0, 0, 0)
            label.show()
            self.rule_labels[rule.key] = label
            new_column.addWidget(label)
        self.password_notice = note_label()
        self.password_error = error_label()
        self.password_error.setObjectName("password_error")
        self.password_button = QPushButton("Change password")
        self.password_button.setObjectName("change_password_button")
        form = QFormLayout(self.password_box)
        form.addRow("Current password", self.current_password_edit)
        form.addRow("New password", new_column)
        form.addRow("New password again", self.repeat_password_edit)
        form.addRow(self.password_error)
        form.addRow(self.password_notice)
        form.addRow("", self.password_button)
        form.setAlignment(self.password_button, Qt.AlignmentFlag.AlignRight)
        self.password_button.clicked.connect(self._change_password)
        self.new_password_edit.textChanged.connect(self._show_rules)
        return self.password_box

    def _build_no_password_box(self) -> QGroupBox:
        self.no_password_box = QGroupBox("Password")
        text = note_label(GOOGLE_ONLY_TEXT)
        text.show()
        self.link_button = QPushButton("Send me a link to set a password")
        self.link_button.setObjectName("send_password_link_button")
        self.link_notice = note_label()
        self.link_notice.setObjectName("password_link_notice")
        layout = QVBoxLayout(self.no_password_box)
        layout.addWidget(text)
        layout.addWidget(self.link_button, alignment=Qt.AlignmentFlag.AlignRight)
        layout.addWidget(self.link_notice)
        self.no_password_box.hide()
        self.link_button.clicked.connect(self._send_link)
        return self.no_password_box

    @Slot(str)
    def _show_rules(self, password: str) -> None:
        profile = self._account.profile
        states = (
            rule_states(password, email=profile.email, username=profile.username)
            if password and profile is not None
            else {}
        )
        for rule in PASSWORD_RULES:
            self.rule_labels[rule.key].setText(rule_line(rule.text, states.get(rule.key)))
        self.new_password_error.hide()

    @Slot()
    def _change_password(self) -> None:
        for label in (self.password_error, self.password_notice, self.new_password_error):
            label.hide()
        self._account.change_password(
            self.current_password_edit.text(), self.new_password_edit.text(), self.repeat_password_edit.text()
        )

    @Slot()
    def _send_link(self) -> None:
        self.link_notice.hide()
        self._account.send_password_link()

    @Slot(str)
    def _on_password_changed(self, text: str) -> None:
        for edit in (self.current_password_edit, self.new_password_edit, self.repeat_password_edit):
            edit.clear()
        self._show(self.password_notice, text)

    @Slot(str)
    def _on_password_failed(self, text: str) -> None:
        self._show(self.link_notice if self.no_password_box.isVisibleTo(self) else self.password_error, text)

    @Slot(str)
    def _on_rule_failed(self, text: str) -> None:
        self._show(self.new_password_error, text)

    @Slot(str)
    def _on_link_sent(self, text: str) -> None:
        self._show(self.link_notice, text)

    # ------------------------------------------------------------------------------------------------ two-step
    def _build_two_factor_box(self) -> QGroupBox:
        box = QGroupBox("Two-step sign-in")
        self.two_factor_status = note_label()
        self.two_factor_status.setObjectName("two_factor_status")
        self.two_factor_status.show()
        self.two_factor_notice = note_label()
        self.two_factor_notice.setObjectName("two_factor_notice")
        self.two_factor_hint = note_label(OFF_NEEDS_ONE_SET_TEXT)  # an account without a password cannot prove it
        self.turn_on_button = QPushButton("Turn on two-step sign-in")
        self.turn_on_button.setObjectName("two_factor_on_button")
        self.turn_off_button = QPushButton("Turn off…")
        self.turn_off_button.setObjectName("two_factor_off_button")
        buttons = QHBoxLayout()
        buttons.addStretch()
        buttons.addWidget(self.turn_on_button)
        buttons.addWidget(self.turn_off_button)
        layout = QVBoxLayout(box)
        layout.addWidget(self.two_factor_status)
        layout.addWidget(self.two_factor_notice)
        layout.addWidget(self.two_factor_hint)
        layout.addLayout(buttons)
        self.turn_on_button.clicked.connect(self.open_setup_dialog)
        self.turn_off_button.clicked.connect(self.open_off_dialog)
        return box

    @Slot()
    def open_setup_dialog(self) -> None:
        """Turn two-step sign-in on: the dialog asks for a new key as it opens."""
        self.two_factor_notice.hide()
        if self.setup_dialog is None:
            self.setup_dialog = TwoFactorSetupDialog(
                self._account.two_factor, choose_path=self._choose_path, parent=self
            )
            self.setup_dialog.finished.connect(self._on_setup_finished)
        self.setup_dialog.open()

    @Slot()
    def open_off_dialog(self) -> None:
        """Turn two-step sign-in off: the dialog asks for the password and a code."""
        self.two_factor_notice.hide()
        if self.off_dialog is None:
            self.off_dialog = TwoFactorOffDialog(self._account.two_factor, parent=self)
            self.off_dialog.finished.connect(self._on_off_finished)
        self.off_dialog.open()

    @Slot(int)
    def _on_setup_finished(self, _result: int) -> None:
        dialog, self.setup_dialog = self.setup_dialog, None
        if dialog is not None:
            dialog.deleteLater()

    @Slot(int)
    def _on_off_finished(self, _result: int) -> None:
        dialog, self.off_dialog = self.off_dialog, None
        if dialog is not None:
            dialog.deleteLater()

    @Slot(str)
    def _on_two_factor_off(self, text: str) -> None:
        self._show(self.two_factor_notice, text)

    # ------------------------------------------------------------------------------------------------ state
    @Slot(object)
    def _on_profile(self, profile: Profile | None) -> None:
        has_password = profile is None or profile.has_password
        on = profile is not None and profile.two_factor
        self.password_box.setVisible(has_password)
        self.no_password_box.setVisible(not has_password)
        self.two_factor_status.setText(TWO_FACTOR_ON_TEXT if on else TWO_FACTOR_OFF_TEXT)
        self.turn_on_button.setVisible(not on)
        self.turn_off_button.setVisible(on)
        self.turn_on_button.setEnabled(profile is not None)
        self.turn_off_button.setEnabled(has_password)
        self.two_factor_hint.setVisible(on and not has_password)
        self._show_rules(self.new_password_edit.text())

    @Slot(str, bool)
    def _on_busy(self, part: str, busy: bool) -> None:
        if part == "password":
            self.password_button.setEnabled(not busy)
            self.link_button.setEnabled(not busy)

    @staticmethod
    def _show(label: QLabel, text: str) -> None:
        label.setText(text)
        label.show()
