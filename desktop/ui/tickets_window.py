"""The "My tickets" window: a table of my tickets; double-click opens the conversation in the chat window."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from PySide6.QtGui import QShowEvent

    from desktop.presenters.tickets_presenter import TicketRow, TicketsPresenter

__all__ = ["COLUMNS", "TicketsWindow"]

WINDOW_TITLE = "Tech Pal — My tickets"
COLUMNS = ("Problem", "Status", "Priority", "Category", "Updated")
_ID_ROLE = Qt.ItemDataRole.UserRole


class TicketsWindow(QWidget):
    """Table bound to a :class:`TicketsPresenter`; refreshes whenever it is shown."""

    def __init__(self, presenter: TicketsPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.presenter = presenter
        self.setWindowTitle(WINDOW_TITLE)
        self.resize(760, 420)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.status_label = QLabel(self)
        self.status_label.setWordWrap(True)
        self.empty_label = QLabel("No tickets yet. Ask for help from the tray icon.", self)
        self.empty_label.hide()
        self.refresh_button = QPushButton("Refresh", self)
        self.open_button = QPushButton("Open", self)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status_label, 1)
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty_label)
        layout.addLayout(buttons)

        self.refresh_button.clicked.connect(presenter.refresh)
        self.open_button.clicked.connect(self._open_selected)
        self.table.cellDoubleClicked.connect(self._on_double_click)
        presenter.tickets_changed.connect(self._on_tickets)
        presenter.loading_changed.connect(self._on_loading)
        presenter.error_changed.connect(self._on_error)
        self._on_tickets(presenter.rows)

    def showEvent(self, event: QShowEvent) -> None:
        """Fresh data each time the window opens."""
        super().showEvent(event)
        self.presenter.refresh()

    @Slot(list)
    def _on_tickets(self, rows: list[TicketRow]) -> None:
        self.table.setRowCount(len(rows))
        for row_index, row in enumerate(rows):
            for column, text in enumerate(row[1:]):
                item = QTableWidgetItem(text)
                item.setData(_ID_ROLE, row.ticket_id)
                if column == 0:
                    item.setToolTip(text)
                self.table.setItem(row_index, column, item)
        self.empty_label.setVisible(not rows and not self.presenter.loading)
        self.open_button.setEnabled(bool(rows))

    @Slot(bool)
    def _on_loading(self, loading: bool) -> None:
        self.refresh_button.setEnabled(not loading)
        if loading:
            self.status_label.setText("Loading…")
        elif self.status_label.text() == "Loading…":
            self.status_label.setText("")
        self.empty_label.setVisible(not loading and self.table.rowCount() == 0)

    @Slot(str)
    def _on_error(self, text: str) -> None:
        self.status_label.setText(text)

    @Slot(int, int)
    def _on_double_click(self, row: int, _column: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.presenter.open_ticket(str(item.data(_ID_ROLE)))

    @Slot()
    def _open_selected(self) -> None:
        selected = self.table.selectionModel().selectedRows()
        if selected:
            self._on_double_click(selected[0].row(), 0)
