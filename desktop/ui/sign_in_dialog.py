"""The sign-in dialog: server address, sign in, create an account, confirm the e-mail address, restore an account.

A thin view over :class:`~desktop.presenters.session_presenter.SessionPresenter`: it forwards what the user typed
and shows what the presenter reports; the pages follow the server's register → verify → login flow. A forgotten
password, the confirmation mail again, two-step sign-in and Google sign-in are in :mod:`desktop.ui.sign_in_steps`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.core.settings import check_server_url
from desktop.presenters.session_presenter import SessionPresenter, SignInStep
from desktop.ui.sign_in_pages import Page
from desktop.ui.sign_in_steps import SignInStepsView
from desktop.ui.theme import use_danger_color

if TYPE_CHECKING:
    from desktop.core.api.errors import FieldError
    from desktop.core.api.models import Profile

__all__ = ["Page", "SignInDialog"]

TITLE = "Sign in to Tech Pal"
INSECURE_CHECKBOX_TEXT = "I understand that my password and sign-in travel unencrypted to this server"
VERIFIED_TEXT = "Your e-mail address is confirmed. Sign in now."
_FIELD_LABELS = {"name": "Name", "email": "E-mail", "username": "Username", "password": "Password", "login": "Login"}


def _error_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    use_danger_color(label)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def _describe(message: str, errors: list[FieldError]) -> str:
    lines = [message]
    lines += [f"{_FIELD_LABELS.get(e.field, e.field)}: {e.message}" for e in errors if e.message]
    return "\n".join(lines)


class SignInDialog(SignInStepsView, QDialog):
    """Modal-less dialog; accepted once the user is signed in.

    Args:
        session: The session presenter doing the requests.
        ask_server: Start on the server page (first use without ``--server``).
        parent: Parent widget.
    """

    def __init__(self, session: SessionPresenter, *, ask_server: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self.setWindowTitle(TITLE)
        self.setMinimumWidth(420)
        self.stack = QStackedWidget()
        self.stack.addWidget(self._build_server_page())
        self.stack.addWidget(self._build_sign_in_page())
        self.stack.addWidget(self._build_register_page())
        self.stack.addWidget(self._build_verify_page())
        self._build_step_pages()
        layout = QVBoxLayout(self)
        layout.addWidget(self.stack)

        session.signed_in.connect(self._on_signed_in)
        session.failed.connect(self._on_failed)
        session.account_deleted.connect(self._on_account_deleted)
        session.registered.connect(self._on_registered)
        session.verified.connect(self._on_verified)
        session.verification_resent.connect(self._on_resent)
        session.busy_changed.connect(self._on_busy)
        session.state_changed.connect(self._on_state)
        self.finished.connect(self._end_steps)

        start = Page.SERVER if ask_server or session.needs_server_confirmation else Page.SIGN_IN
        self.show_page(start)
        self._on_state(session.state.value)

    # ------------------------------------------------------------------------------------------------ pages
    def _build_server_page(self) -> QWidget:
        page = QWidget()
        self.server_edit = QLineEdit(self._session.server_url)
        self.server_edit.setPlaceholderText("https://help.example.com")
        self.insecure_check = QCheckBox(INSECURE_CHECKBOX_TEXT)
        self.insecure_check.hide()
        self.server_error = _error_label()
        self.server_continue = QPushButton("Continue")
        self.server_continue.setDefault(True)
        intro = QLabel("Which Tech Pal server do you use? Your organisation gives you its address.")
        intro.setWordWrap(True)
        layout = QVBoxLayout(page)
        layout.addWidget(intro)
        layout.addWidget(self.server_edit)
        layout.addWidget(self.insecure_check)
        layout.addWidget(self.server_error)
        layout.addStretch()
        layout.addWidget(self.server_continue, alignment=Qt.AlignmentFlag.AlignRight)
        self.server_edit.textChanged.connect(self._on_server_text)
        self.server_edit.returnPressed.connect(self._submit_server)
        self.server_continue.clicked.connect(self._submit_server)
        self._on_server_text(self.server_edit.text())
        return page

    def _build_sign_in_page(self) -> QWidget:
        page = QWidget()
        self.server_label = QLabel()
        self.change_server_button = QPushButton("Change server…")
        self.login_edit = QLineEdit()
        self.login_edit.setPlaceholderText("you@example.com")
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.sign_in_info = QLabel()
        self.sign_in_info.setWordWrap(True)
        self.sign_in_info.hide()
        self.restore_info = QLabel()  # a deleted account: until when it can be restored
        self.restore_info.setWordWrap(True)
        self.restore_button = QPushButton("Restore my account")
        for hidden in (self.restore_info, self.restore_button):
            hidden.hide()
        self.sign_in_error = _error_label()
        self._build_sign_in_extras()
        self.sign_in_button = QPushButton("Sign in")
        self.sign_in_button.setDefault(True)
        self.create_account_button = QPushButton("Create an account…")
        self.have_code_button = QPushButton("I have a code from the mail…")
        server_row = QHBoxLayout()
        server_row.addWidget(self.server_label, 1)
        server_row.addWidget(self.change_server_button)
        form = QFormLayout()
        form.addRow("E-mail or username", self.login_edit)
        form.addRow("Password", self.password_edit)
        form.addRow("", self.forgot_button)
        form.setAlignment(self.forgot_button, Qt.AlignmentFlag.AlignRight)
        buttons = QHBoxLayout()
        buttons.addWidget(self.create_account_button)
        buttons.addWidget(self.have_code_button)
        buttons.addStretch()
        buttons.addWidget(self.sign_in_button)
        layout = QVBoxLayout(page)
        layout.addLayout(server_row)
        layout.addLayout(form)
        layout.addWidget(self.sign_in_info)
        layout.addWidget(self.restore_info)
        layout.addWidget(self.restore_button, alignment=Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.sign_in_error)
        layout.addWidget(self.resend_box)
        layout.addWidget(self.google_box)
        layout.addStretch()
        layout.addLayout(buttons)
        self.sign_in_button.clicked.connect(self._submit_sign_in)
        self.password_edit.returnPressed.connect(self._submit_sign_in)
        self.restore_button.clicked.connect(self._submit_restore)
        self.create_account_button.clicked.connect(lambda: self.show_page(Page.REGISTER))
        self.have_code_button.clicked.connect(lambda: self.show_page(Page.VERIFY))
        self.change_server_button.clicked.connect(lambda: self.show_page(Page.SERVER))
        return page

    def _build_register_page(self) -> QWidget:
        page = QWidget()
        self.name_edit = QLineEdit()
        self.email_edit = QLineEdit()
        self.username_edit = QLineEdit()
        self.new_password_edit = QLineEdit()
        self.new_password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.age_check = QCheckBox("I am 18 or older")
        self.register_error = _error_label()
        self.register_button = QPushButton("Create account")
        self.register_button.setDefault(True)
        back = QPushButton("Back")
        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("E-mail", self.email_edit)
        form.addRow("Username", self.username_edit)
        form.addRow("Password", self.new_password_edit)
        form.addRow("", self.age_check)
        buttons = QHBoxLayout()
        buttons.addWidget(back)
        buttons.addStretch()
        buttons.addWidget(self.register_button)
        layout = QVBoxLayout(page)
        layout.addLayout(form)
        layout.addWidget(self.register_error)
        layout.addStretch()
        layout.addLayout(buttons)
        self.register_button.clicked.connect(self._submit_register)
        back.clicked.connect(lambda: self.show_page(Page.SIGN_IN))
        return page

    def _build_verify_page(self) -> QWidget:
        page = QWidget()
        self.verify_info = QLabel(
            "Check your mail: we sent you a link to confirm your address. Open it, or paste the code or the whole "
            "link here."
        )
        self.verify_info.setWordWrap(True)
        self.token_edit = QLineEdit()
        self.token_edit.setPlaceholderText("Code or link from the mail")
        self.verify_error = _error_label()
        self.verify_button = QPushButton("Confirm")
        self.verify_button.setDefault(True)
        self.resend_button = QPushButton("Send the mail again")
        back = QPushButton("Back to sign in")
        buttons = QHBoxLayout()
        buttons.addWidget(back)
        buttons.addWidget(self.resend_button)
        buttons.addStretch()
        buttons.addWidget(self.verify_button)
        layout = QVBoxLayout(page)
        layout.addWidget(self.verify_info)
        layout.addWidget(self.token_edit)
        layout.addWidget(self.verify_error)
        layout.addStretch()
        layout.addLayout(buttons)
        self.verify_button.clicked.connect(self._submit_verify)
        self.token_edit.returnPressed.connect(self._submit_verify)
        self.resend_button.clicked.connect(self._submit_resend)
        back.clicked.connect(lambda: self.show_page(Page.SIGN_IN))
        return page

    # ------------------------------------------------------------------------------------------------ navigation
    @property
    def page(self) -> Page:
        """The page on show."""
        return Page(self.stack.currentIndex())

    def show_page(self, page: Page) -> None:
        """Switch pages, clearing the old page's error."""
        for label in (self.server_error, self.sign_in_error, self.register_error, self.verify_error):
            label.hide()
        for label in self._step_errors():
            label.hide()
        if page is Page.SIGN_IN:
            self.server_label.setText(f"Server: {self._session.server_url}")
        if page is Page.SERVER:
            self.server_edit.setText(self._session.server_url)
        self.stack.setCurrentIndex(int(page))
        field = self.age_page.age_check if page is Page.AGE else self._first_field(page)
        field.setFocus()  # typing starts in the page's first empty field, not on a button

    def _first_field(self, page: Page) -> QWidget:
        if page is Page.SIGN_IN:
            return self.password_edit if self.login_edit.text() else self.login_edit
        fields = {Page.SERVER: self.server_edit, Page.REGISTER: self.name_edit, Page.VERIFY: self.token_edit}
        fields.update(self._step_fields())
        return fields.get(page, self.login_edit)

    # ------------------------------------------------------------------------------------------------ submit
    @Slot(str)
    def _on_server_text(self, text: str) -> None:
        try:
            needs = check_server_url(text).needs_insecure_confirmation
        except ValueError:
            needs = False
        self.insecure_check.setVisible(needs)
        if not needs:
            self.insecure_check.setChecked(False)

    @Slot()
    def _submit_server(self) -> None:
        if self._session.set_server(self.server_edit.text(), insecure_confirmed=self.insecure_check.isChecked()):
            self.google_box.hide()  # until the new server says it offers Google sign-in
            self._session.load_providers()
            self.show_page(Page.SIGN_IN)

    @Slot()
    def _submit_sign_in(self) -> None:
        for widget in (self.sign_in_error, self.restore_info, self.restore_button, self.resend_box):
            widget.hide()
        self._session.sign_in(self.login_edit.text(), self.password_edit.text())

    @Slot()
    def _submit_restore(self) -> None:
        self.sign_in_error.hide()
        self._session.restore_account(self.login_edit.text(), self.password_edit.text())

    @Slot()
    def _submit_register(self) -> None:
        self.register_error.hide()
        self._session.register(
            name=self.name_edit.text(),
            email=self.email_edit.text(),
            username=self.username_edit.text(),
            password=self.new_password_edit.text(),
            age_confirmed=self.age_check.isChecked(),
        )

    @Slot()
    def _submit_verify(self) -> None:
        self.verify_error.hide()
        self._session.verify(self.token_edit.text())

    @Slot()
    def _submit_resend(self) -> None:
        self.verify_error.hide()
        self._resend_from_sign_in = False
        email = self.email_edit.text() or self.login_edit.text()
        if "@" not in email:
            self._show_error(self.verify_error, "Enter your e-mail address on the sign-in page first.")
            return
        self._session.resend_verification(email)

    # ------------------------------------------------------------------------------------------------ results
    @Slot(object)
    def _on_signed_in(self, profile: Profile | None) -> None:
        if profile is not None:
            self.password_edit.clear()
            self.new_password_edit.clear()
            self.accept()

    @Slot(str, str, object)
    def _on_failed(self, step: str, message: str, errors: list[FieldError]) -> None:
        label = self._step_error_label(step) or {
            SignInStep.SERVER.value: self.server_error,
            SignInStep.REGISTER.value: self.register_error,
            SignInStep.VERIFY.value: self.verify_error,
            SignInStep.RESEND.value: self.verify_error,
        }.get(step, self.sign_in_error)
        self._show_error(label, _describe(message, errors))

    @Slot(str)
    def _on_account_deleted(self, text: str) -> None:
        self.show_page(Page.SIGN_IN)
        self.restore_info.setText(text)
        self.restore_info.show()
        self.restore_button.show()

    @Slot(str)
    def _on_registered(self, email: str) -> None:
        self.new_password_edit.clear()
        self.verify_info.setText(
            f"Check your mail: we sent a link to {email}. Open it, or paste the code or the whole link here."
        )
        self.login_edit.setText(email)
        self.show_page(Page.VERIFY)

    @Slot()
    def _on_verified(self) -> None:
        self.token_edit.clear()
        self.show_page(Page.SIGN_IN)
        self.sign_in_info.setText(VERIFIED_TEXT)
        self.sign_in_info.show()
        self.password_edit.setFocus()

    @Slot()
    def _on_resent(self) -> None:
        if self._on_resent_from_sign_in():
            return
        self.verify_info.setText("We sent the mail again. It can take a minute to arrive.")

    @Slot(bool)
    def _on_busy(self, busy: bool) -> None:
        buttons = (self.sign_in_button, self.register_button, self.verify_button, self.resend_button)
        for button in (*buttons, self.restore_button, *self._step_buttons()):
            button.setEnabled(not busy and self._session.ready)
        self.age_page.continue_button.setEnabled(
            self.age_page.continue_button.isEnabled() and self.age_page.age_check.isChecked()
        )

    @Slot(str)
    def _on_state(self, _state: str) -> None:
        self._on_busy(self._session.busy)

    def _show_error(self, label: QLabel, text: str) -> None:
        label.setText(text)
        label.show()
