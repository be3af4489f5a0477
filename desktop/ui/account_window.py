"""The Account window: profile, sign-in (password, two-step), signed-in devices, privacy switches, the user's data.

A thin view over three presenters (account, devices, export): it forwards what the user typed or clicked and shows
what they report. The devices list and the "Your data" tab are in :mod:`desktop.ui.account_panes`, the "Sign-in"
tab in :mod:`desktop.ui.account_security`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.presenters.account_presenter import EMAIL_PENDING_TEXT, PRIVACY_SWITCHES, PROFILE_FIELDS
from desktop.ui.account_panes import DataPane, DevicesPane, SavePathChooser, ask_save_path, error_label, note_label
from desktop.ui.account_security import SecurityPane
from desktop.ui.two_factor_dialogs import TextPathChooser, ask_text_path

if TYPE_CHECKING:
    from desktop.core.api.models import Profile
    from desktop.presenters.account_presenter import AccountPresenter
    from desktop.presenters.devices_presenter import DevicesPresenter
    from desktop.presenters.export_presenter import ExportPresenter

__all__ = ["TITLE", "AccountWindow"]

TITLE = "Tech Pal — Account"
_FIELD_LABELS = {"name": "Name", "email": "E-mail", "username": "Username"}


class AccountWindow(QWidget):
    """Five tabs: Profile, Sign-in, Devices, Privacy, Your data. Reloads whenever it is presented.

    Args:
        account: Profile, password, two-step sign-in, privacy switches, deletion.
        devices: The signed-in devices.
        export: "Download my data".
        choose_path: Asks where to save the ZIP (injectable so tests never open a file dialog).
        choose_codes_path: Asks where to save the recovery codes of two-step sign-in.
        parent: Parent widget.
    """

    def __init__(
        self,
        account: AccountPresenter,
        devices: DevicesPresenter,
        export: ExportPresenter,
        *,
        choose_path: SavePathChooser = ask_save_path,
        choose_codes_path: TextPathChooser = ask_text_path,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._account = account
        self._devices = devices
        self._export = export
        self.setWindowTitle(TITLE)
        self.setMinimumWidth(520)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_profile_tab(), "Profile")
        self.security_pane = SecurityPane(account, choose_path=choose_codes_path)
        self.tabs.addTab(self.security_pane, "Sign-in")
        pane = self.security_pane  # its password widgets, by the names this window always had
        self.current_password_edit, self.new_password_edit = pane.current_password_edit, pane.new_password_edit
        self.repeat_password_edit, self.password_button = pane.repeat_password_edit, pane.password_button
        self.password_notice, self.password_error = pane.password_notice, pane.password_error
        self.devices_pane = DevicesPane(devices)
        self.tabs.addTab(self.devices_pane, "Devices")
        self.tabs.addTab(self._build_privacy_tab(), "Privacy")
        self.data_pane = DataPane(account, export, choose_path=choose_path)
        self.tabs.addTab(self.data_pane, "Your data")
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)

        account.profile_changed.connect(self._on_profile)
        account.profile_saved.connect(self._on_profile_saved)
        account.profile_failed.connect(self._on_profile_failed)
        account.password_changed.connect(self._on_password_changed)
        account.two_factor.changed.connect(devices.refresh)  # turning it on signs out the other devices
        account.switch_changed.connect(self._on_switch)
        account.switch_failed.connect(self._on_switch_failed)
        account.busy_changed.connect(self._on_busy)
        if account.profile is not None:
            self._on_profile(account.profile)

    def present(self) -> None:
        """Show, raise and reload everything."""
        self.show()
        self.raise_()
        self.activateWindow()
        self._account.refresh()
        self._devices.refresh()
        self._export.refresh()

    def show_data_tab(self) -> None:
        """Turn to "Your data" (where a ready export is saved)."""
        self.tabs.setCurrentWidget(self.data_pane)

    # ------------------------------------------------------------------------------------------------ tabs
    def _build_profile_tab(self) -> QWidget:
        page = QWidget()
        self.field_edits: dict[str, QLineEdit] = {key: QLineEdit() for key in PROFILE_FIELDS}
        self.field_errors: dict[str, QLabel] = {key: error_label() for key in PROFILE_FIELDS}
        self.name_edit, self.email_edit = self.field_edits["name"], self.field_edits["email"]
        self.username_edit = self.field_edits["username"]
        form = QFormLayout()
        for key in PROFILE_FIELDS:
            column = QVBoxLayout()
            column.setSpacing(2)
            column.addWidget(self.field_edits[key])
            column.addWidget(self.field_errors[key])
            form.addRow(_FIELD_LABELS[key], column)
        self._add_email_password_row(form)
        self.profile_notice = note_label()
        self.profile_error = error_label()
        self.save_button = QPushButton("Save")
        save_row = QHBoxLayout()
        save_row.addWidget(self.profile_notice, 1)
        save_row.addWidget(self.save_button, alignment=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)

        layout = QVBoxLayout(page)
        layout.addLayout(form)
        layout.addWidget(self.profile_error)
        layout.addLayout(save_row)
        layout.addStretch()
        self.save_button.clicked.connect(self._save_profile)
        return page

    def _add_email_password_row(self, form: QFormLayout) -> None:
        """The password row, shown only while the e-mail differs: a stolen session cannot move the address."""
        self.email_password_edit = QLineEdit()
        self.email_password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.email_password_edit.setPlaceholderText("needed to change the e-mail address")
        self.field_errors["current_password"] = error_label()
        column = QVBoxLayout()
        column.setSpacing(2)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.email_password_edit)
        column.addWidget(self.field_errors["current_password"])
        self.email_password_row = QWidget()
        self.email_password_row.setLayout(column)
        form.addRow("Your password", self.email_password_row)
        self._profile_form = form
        self._set_email_password_visible(False)
        self.email_edit.textChanged.connect(
            lambda text: self._set_email_password_visible(self._account.email_changed(text))
        )

    def _build_privacy_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.switches: dict[str, QCheckBox] = {}
        self.switch_notes: dict[str, QLabel] = {}
        for switch in PRIVACY_SWITCHES:
            box = QCheckBox(switch.label)
            box.setEnabled(False)  # until the profile says how it is set
            note = note_label(switch.explanation)
            note.setContentsMargins(24, 0, 0, 8)
            note.show()
            # clicked, not toggled: only the user's click is sent; showing the server's value sends nothing
            box.clicked.connect(lambda on, key=switch.key: self._flip(key, on))
            self.switches[switch.key], self.switch_notes[switch.key] = box, note
            layout.addWidget(box)
            layout.addWidget(note)
        self.privacy_error = error_label()
        layout.addWidget(self.privacy_error)
        layout.addStretch()
        return page

    # ------------------------------------------------------------------------------------------------ profile
    @Slot()
    def _save_profile(self) -> None:
        for label in (*self.field_errors.values(), self.profile_error, self.profile_notice):
            label.hide()
        self._account.save_profile(
            self.name_edit.text(), self.email_edit.text(), self.username_edit.text(), self.email_password_edit.text()
        )

    def _set_email_password_visible(self, visible: bool) -> None:
        self._profile_form.setRowVisible(self.email_password_row, visible)
        if not visible:
            self.email_password_edit.clear()

    @Slot(object)
    def _on_profile(self, profile: Profile) -> None:
        for key in PROFILE_FIELDS:
            self.field_edits[key].setText(str(getattr(profile, key)))
            self.field_errors[key].hide()
        if profile.pending_email and self.profile_notice.isHidden():
            self._show(self.profile_notice, EMAIL_PENDING_TEXT.format(email=profile.pending_email))

    @Slot(str)
    def _on_profile_saved(self, text: str) -> None:
        self._show(self.profile_notice, text)

    @Slot(str, object)
    def _on_profile_failed(self, message: str, errors: dict[str, str]) -> None:
        other = [f"{field}: {text}" for field, text in errors.items() if field not in self.field_errors]
        for field, text in errors.items():
            if field in self.field_errors:
                self._show(self.field_errors[field], text)
        if message or other:
            self._show(self.profile_error, "\n".join([message, *other]).strip())

    # ------------------------------------------------------------------------------------------------ password
    @Slot(str)
    def _on_password_changed(self, _text: str) -> None:
        self._devices.refresh()  # the other devices were signed out

    # ------------------------------------------------------------------------------------------------ privacy
    def _flip(self, key: str, on: bool) -> None:
        self.privacy_error.hide()
        self.switches[key].setEnabled(False)  # until the server answers
        self._account.set_switch(key, on)

    @Slot(str, bool)
    def _on_switch(self, key: str, on: bool) -> None:
        box = self.switches.get(key)
        if box is not None:
            box.setChecked(on)
            box.setEnabled(True)

    @Slot(str)
    def _on_switch_failed(self, text: str) -> None:
        self._show(self.privacy_error, f"Not saved: {text}")

    @Slot(str, bool)
    def _on_busy(self, part: str, busy: bool) -> None:
        if part == "profile":
            self.save_button.setEnabled(not busy)

    @staticmethod
    def _show(label: QLabel, text: str) -> None:
        label.setText(text)
        label.show()
