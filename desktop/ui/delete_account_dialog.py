"""The "Delete my account" dialog: what is removed, when, what stays, how to undo it; then the password.

It closes only once the server has scheduled the deletion; a wrong password keeps it open with what was typed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.account_panes import error_label
from desktop.ui.theme import use_danger_color

if TYPE_CHECKING:
    from desktop.presenters.account_presenter import AccountPresenter

__all__ = ["DELETE_TEXTS", "DeleteAccountDialog"]

TITLE: Final = "Delete my account"
# Exactly what deletion means, in the order a person asks: what goes, when, what stays, how to undo it.
DELETE_TEXTS: Final = {
    "what": (
        "<b>What is removed:</b> your profile, tickets, conversations, screenshots, signed-in devices, exports and "
        "billing history, and your billing records at our payment provider (Stripe). Any subscription is cancelled "
        "now, with no further charge."
    ),
    "when": (
        "<b>When:</b> your account is closed at once — you are signed out everywhere — and everything is removed "
        "for good 30 days from now. We tell you the exact date when you confirm."
    ),
    "stays": (
        "<b>What stays:</b> knowledge-base articles grown from your confirmed fixes stay, because they were "
        "anonymized when they were made and hold nothing that identifies you."
    ),
    "undo": (
        "<b>How to undo it:</b> within 30 days, sign in and choose “Restore my account”: your profile, tickets and "
        "conversations come back. A cancelled subscription does not restart (subscribe again from Subscription), "
        "and you sign in again on each device."
    ),
}


class DeleteAccountDialog(QDialog):
    """Says what deletion means and asks for the password; accepted once the account is deleted.

    Args:
        presenter: Deletes the account.
        parent: Parent widget.
    """

    def __init__(self, presenter: AccountPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self.setWindowTitle(TITLE)
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        self.text_labels: dict[str, QLabel] = {}
        for key, text in DELETE_TEXTS.items():
            label = QLabel(text)
            label.setWordWrap(True)
            self.text_labels[key] = label
            layout.addWidget(label)
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.error_label = error_label()
        field = QVBoxLayout()  # the refusal sits right under the field it is about
        field.setSpacing(2)
        field.addWidget(self.password_edit)
        field.addWidget(self.error_label)
        form = QFormLayout()
        form.addRow("Your password", field)
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.delete_button = QPushButton("Delete my account")
        use_danger_color(self.delete_button)
        buttons.addButton(self.delete_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        self.cancel_button = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        for button in (self.delete_button, self.cancel_button):
            button.setAutoDefault(False)  # Enter neither deletes an account nor throws away the typed password
        layout.addWidget(buttons)

        self.delete_button.clicked.connect(self._submit)
        buttons.rejected.connect(self.reject)
        presenter.deleted.connect(self._on_deleted)
        presenter.delete_failed.connect(self._on_failed)
        presenter.busy_changed.connect(self._on_busy)

    def text(self) -> str:
        """Everything the dialog says, as plain text (for people reading it aloud, and tests)."""
        return "\n".join(label.text().replace("<b>", "").replace("</b>", "") for label in self.text_labels.values())

    @Slot()
    def _submit(self) -> None:
        self.error_label.hide()
        self._presenter.delete_account(self.password_edit.text())

    @Slot(str)
    def _on_deleted(self, _text: str) -> None:
        self.password_edit.clear()
        self.accept()

    @Slot(str)
    def _on_failed(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.show()

    @Slot(str, bool)
    def _on_busy(self, part: str, busy: bool) -> None:
        if part == "delete":
            self.delete_button.setEnabled(not busy)
