"""Two tabs of the Account window: the signed-in devices, and "Your data" (download it, delete the account)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.theme import use_danger_color

if TYPE_CHECKING:
    from desktop.presenters.account_presenter import AccountPresenter
    from desktop.presenters.devices_presenter import DeviceRow, DevicesPresenter
    from desktop.presenters.export_presenter import ExportPresenter
    from desktop.ui.delete_account_dialog import DeleteAccountDialog

__all__ = ["DataPane", "DevicesPane", "SavePathChooser", "ask_save_path", "error_label", "note_label"]

DEVICE_COLUMNS = ("Device", "Signed in", "Last used", "")
DELETE_INTRO = (
    "Deleting your account closes it now and removes everything it holds after 30 days. You can undo it until then."
)

SavePathChooser = Callable[[QWidget, str], "str | None"]


def error_label() -> QLabel:
    """A hidden red label for a failure, shown next to what failed."""
    label = note_label()
    use_danger_color(label)
    return label


def note_label(text: str = "") -> QLabel:
    """A hidden word-wrapped label for a sentence (shown by whoever sets its text)."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def ask_save_path(parent: QWidget, default_name: str) -> str | None:
    """The platform's save dialog, starting in the home folder with ``default_name``; ``None`` when cancelled."""
    path, _filter = QFileDialog.getSaveFileName(
        parent, "Save your data", str(Path.home() / default_name), "ZIP files (*.zip)"
    )
    return path or None


class DevicesPane(QWidget):
    """The signed-in devices: a "Sign out" per other device, and "Sign out all other devices"."""

    def __init__(self, presenter: DevicesPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self.table = QTableWidget(0, len(DEVICE_COLUMNS))
        self.table.setHorizontalHeaderLabels(list(DEVICE_COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(DEVICE_COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.sign_out_buttons: dict[str, QPushButton] = {}
        self.sign_out_others_button = QPushButton("Sign out all other devices")
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.message_label, 1)
        buttons.addWidget(self.sign_out_others_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

        self.sign_out_others_button.clicked.connect(presenter.sign_out_others)
        presenter.devices_changed.connect(self._on_devices)
        presenter.message_changed.connect(self.message_label.setText)
        presenter.busy_changed.connect(self._on_busy)
        self._on_devices(presenter.rows)

    def device_names(self) -> list[str]:
        """The names in the list, top to bottom."""
        items = (self.table.item(row, 0) for row in range(self.table.rowCount()))
        return [item.text() for item in items if item is not None]

    @Slot(list)
    def _on_devices(self, rows: list[DeviceRow]) -> None:
        self.sign_out_buttons.clear()
        self.table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            for column, text in enumerate((row.name, row.signed_in, row.last_used)):
                self.table.setItem(index, column, QTableWidgetItem(text))
            if row.current:  # this computer signs out from the tray menu
                self.table.setCellWidget(index, 3, QLabel(""))
                continue
            button = QPushButton("Sign out")
            button.clicked.connect(lambda _checked=False, session_id=row.session_id: self._sign_out(session_id))
            self.table.setCellWidget(index, 3, button)
            self.sign_out_buttons[row.session_id] = button
        self.sign_out_others_button.setEnabled(any(not row.current for row in rows))

    def _sign_out(self, session_id: str) -> None:
        self._presenter.sign_out_device(session_id)

    @Slot(bool)
    def _on_busy(self, busy: bool) -> None:
        self.table.setEnabled(not busy)
        self.sign_out_others_button.setEnabled(not busy and bool(self.sign_out_buttons))


class DataPane(QWidget):
    """The "Your data" tab: "Download my data" (then "Save…" once ready, with its size) and "Delete my account…".

    Args:
        account: Deletes the account (through the dialog).
        export: The export of the user's data.
        choose_path: Asks where to save the ZIP.
        parent: Parent widget.
    """

    def __init__(
        self,
        account: AccountPresenter,
        export: ExportPresenter,
        *,
        choose_path: SavePathChooser,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._account = account
        self._export = export
        self._choose_path = choose_path
        self.delete_dialog: DeleteAccountDialog | None = None

        export_box = QGroupBox("Download my data")
        self.export_status = QLabel()
        self.export_status.setWordWrap(True)
        self.export_message = note_label()
        self.start_button = QPushButton(export.start_text)
        self.save_button = QPushButton("Save…")
        export_buttons = QHBoxLayout()
        export_buttons.addStretch()
        export_buttons.addWidget(self.start_button)
        export_buttons.addWidget(self.save_button)
        export_layout = QVBoxLayout(export_box)
        export_layout.addWidget(self.export_status)
        export_layout.addWidget(self.export_message)
        export_layout.addLayout(export_buttons)

        delete_box = QGroupBox("Delete my account")
        intro = QLabel(DELETE_INTRO)
        intro.setWordWrap(True)
        self.delete_button = QPushButton("Delete my account…")
        delete_layout = QVBoxLayout(delete_box)
        delete_layout.addWidget(intro)
        delete_layout.addWidget(self.delete_button, alignment=Qt.AlignmentFlag.AlignRight)

        layout = QVBoxLayout(self)
        layout.addWidget(export_box)
        layout.addWidget(delete_box)
        layout.addStretch()

        self.start_button.clicked.connect(export.start)
        self.save_button.clicked.connect(self._save)
        self.delete_button.clicked.connect(self.open_delete_dialog)
        export.changed.connect(self._render)
        self._render()

    @Slot()
    def _render(self) -> None:
        export = self._export
        self.export_status.setText(export.status_text)
        self.export_message.setText(export.message)
        self.export_message.setVisible(bool(export.message))
        self.start_button.setText(export.start_text)
        self.start_button.setEnabled(export.can_start)
        self.start_button.setToolTip(export.new_copy_wait)
        self.save_button.setVisible(export.can_save or export.saving)
        self.save_button.setEnabled(export.can_save)

    @Slot()
    def _save(self) -> None:
        path = self._choose_path(self, self._export.default_filename())
        if path:
            self._export.save(Path(path))

    @Slot()
    def open_delete_dialog(self) -> None:
        """Ask for the password, after saying what deletion removes, when, what stays and how to undo it."""
        from desktop.ui.delete_account_dialog import DeleteAccountDialog  # noqa: PLC0415 - rarely opened

        if self.delete_dialog is None:
            self.delete_dialog = DeleteAccountDialog(self._account, parent=self)
            self.delete_dialog.finished.connect(self._on_delete_dialog_finished)
        self.delete_dialog.open()

    @Slot(int)
    def _on_delete_dialog_finished(self, _result: int) -> None:
        dialog, self.delete_dialog = self.delete_dialog, None
        if dialog is not None:
            dialog.deleteLater()
