"""The settings dialog: theme (applies at once), server, capture hotkey, start at login, device details."""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.presenters.settings_presenter import SettingsChoice, SettingsPresenter
from desktop.ui.theme import use_danger_color

__all__ = ["SettingsDialog"]

TITLE = "Tech Pal — Settings"
THEME_LABELS = (("system", "Follow system"), ("light", "Light"), ("dark", "Dark"))
INSECURE_CHECKBOX_TEXT = "I understand that my sign-in travels unencrypted to this server"
DEVICE_HELP = "When on, each question carries these details (exactly this, nothing else):"


class SettingsDialog(QDialog):
    """Binds to :class:`SettingsPresenter`; Save applies, Close discards (except the theme, already applied)."""

    def __init__(self, presenter: SettingsPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._presenter = presenter
        current = presenter.settings.settings
        self.setWindowTitle(TITLE)
        self.setMinimumWidth(460)

        self.theme_combo = QComboBox()
        for key, label in THEME_LABELS:
            self.theme_combo.addItem(label, key)
        self.theme_combo.setCurrentIndex(max(0, self.theme_combo.findData(current.theme)))
        self.server_edit = QLineEdit(current.server_url)
        self.insecure_check = QCheckBox(INSECURE_CHECKBOX_TEXT)
        self.insecure_check.setChecked(current.insecure_http_confirmed)
        self.hotkey_edit = QLineEdit(current.capture_hotkey or "")
        self.hotkey_edit.setPlaceholderText("e.g. <ctrl>+<alt>+h")
        self.hotkey_edit.setEnabled(False)  # until the support check says it works here
        self.hotkey_note = QLabel("Checking whether global shortcuts work here…")
        self.hotkey_note.setWordWrap(True)
        self.autostart_check = QCheckBox("Start Tech Pal when I log in")
        self.autostart_check.setChecked(current.start_at_login)
        self.device_check = QCheckBox("Share device details with my questions")
        self.device_check.setChecked(current.share_device_details)
        self.device_help = QLabel(DEVICE_HELP)
        self.device_help.setWordWrap(True)
        self.device_preview = QPlainTextEdit()
        self.device_preview.setReadOnly(True)
        self.device_preview.setPlaceholderText("Collecting…")
        self.device_preview.setMaximumHeight(140)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        use_danger_color(self.error_label)
        self.error_label.hide()
        self.location_label = QLabel(f"Saved in {presenter.settings.path}")
        self.location_label.setWordWrap(True)
        self.location_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close)
        self._lay_out()

        self.theme_combo.currentIndexChanged.connect(self._on_theme)
        self.server_edit.textChanged.connect(self._on_server_text)
        self.buttons.accepted.connect(self._save)
        self.buttons.rejected.connect(self.reject)
        presenter.device_preview_ready.connect(self._on_device_preview)
        presenter.hotkey_support_ready.connect(self._on_hotkey_support)
        presenter.failed.connect(self._on_failed)
        self._on_server_text(self.server_edit.text())
        presenter.load()

    def _lay_out(self) -> None:
        form = QFormLayout()
        form.addRow("Theme", self.theme_combo)
        form.addRow("Server", self.server_edit)
        form.addRow("", self.insecure_check)
        form.addRow("Capture shortcut", self.hotkey_edit)
        form.addRow("", self.hotkey_note)
        form.addRow("", self.autostart_check)
        form.addRow("", self.device_check)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.device_help)
        layout.addWidget(self.device_preview)
        layout.addWidget(self.error_label)
        layout.addWidget(self.location_label)
        layout.addWidget(self.buttons)

    @Slot(int)
    def _on_theme(self, index: int) -> None:
        theme = self.theme_combo.itemData(index)
        if isinstance(theme, str):
            self._presenter.set_theme(theme)

    @Slot(str)
    def _on_server_text(self, text: str) -> None:
        needs = self._presenter.needs_insecure_confirmation(text)
        self.insecure_check.setVisible(needs)

    @Slot(object, str)
    def _on_device_preview(self, _rows: list[tuple[str, str]], payload: str) -> None:
        self.device_preview.setPlainText(payload)

    @Slot(bool, str)
    def _on_hotkey_support(self, available: bool, reason: str) -> None:
        self.hotkey_edit.setEnabled(available)
        self.hotkey_note.setText("Works anywhere while Tech Pal runs." if available else reason)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()

    @Slot()
    def _save(self) -> None:
        self.error_label.hide()
        choice = SettingsChoice(
            server_url=self.server_edit.text(),
            insecure_confirmed=self.insecure_check.isChecked()
            and self._presenter.needs_insecure_confirmation(self.server_edit.text()),
            # While the shortcut cannot be edited (unsupported or still checking), keep what is saved.
            capture_hotkey=self.hotkey_edit.text()
            if self.hotkey_edit.isEnabled()
            else self._presenter.settings.settings.capture_hotkey,
            start_at_login=self.autostart_check.isChecked(),
            share_device_details=self.device_check.isChecked(),
        )
        if self._presenter.save(choice):
            self.accept()
