"""View-model of "My tickets": the list with status, priority, category and update time, refreshed in a worker."""

from __future__ import annotations

import datetime
from typing import Any, Protocol

from PySide6.QtCore import QObject, Signal, Slot

from desktop.core.api import ApiError, SessionExpired, Ticket, TicketPage
from desktop.services.workers import CallWorker, WorkerPool

__all__ = ["TicketRow", "TicketsApi", "TicketsPresenter", "ticket_row"]

_STATUS_NAMES = {
    "new": "New",
    "open": "Open",
    "answered": "Answered",
    "escalated": "With an agent",
    "resolved": "Resolved",
    "closed": "Closed",
}


class TicketsApi(Protocol):
    """The part of ``ApiClient`` the list needs (blocking; called from a worker)."""

    def list_tickets(self, *, limit: int = 50, offset: int = 0) -> TicketPage:
        """``GET /api/v1/tickets``."""
        ...


class TicketRow(tuple[str, str, str, str, str, str]):
    """Display texts of one ticket: id, summary, status, priority, category, updated."""

    __slots__ = ()

    @property
    def ticket_id(self) -> str:
        """The ticket's id (not shown; opens the conversation)."""
        return self[0]


def ticket_row(ticket: Ticket, *, now: datetime.datetime | None = None) -> TicketRow:
    """Words for one row: the first line of the description, a readable status and a local update time."""
    summary = (ticket.description.strip().splitlines() or ["(no description)"])[0]
    if len(summary) > 80:
        summary = summary[:79] + "…"
    status = _STATUS_NAMES.get(ticket.status, ticket.status.replace("_", " ").capitalize())
    updated = ticket.updated_at or ticket.created_at
    return TicketRow(
        (
            str(ticket.id),
            summary,
            status,
            (ticket.priority or "—").capitalize(),
            (ticket.category or "—").replace("_", " ").capitalize(),
            _when(updated, now) if updated is not None else "—",
        )
    )


def _when(moment: datetime.datetime, now: datetime.datetime | None) -> str:
    local = moment.astimezone()
    today = (now or datetime.datetime.now(datetime.UTC)).astimezone().date()
    if local.date() == today:
        return f"Today {local:%H:%M}"
    return f"{local:%Y-%m-%d %H:%M}"


class TicketsPresenter(QObject):
    """Loads my tickets off the GUI thread and tells the window what to show.

    Args:
        api: The signed-in API client, or ``None`` while signed out.
        parent: Owning QObject.

    Signals:
        tickets_changed(list): The :class:`TicketRow` s, newest first.
        loading_changed(bool): A refresh is running.
        error_changed(str): Why the list could not be loaded ("" when it could).
        ticket_opened(str): The user chose a ticket; connect to ``ChatPresenter.open_ticket``.
        sign_in_required(): The session ended.
    """

    tickets_changed = Signal(list)
    loading_changed = Signal(bool)
    error_changed = Signal(str)
    ticket_opened = Signal(str)
    sign_in_required = Signal()

    def __init__(self, api: TicketsApi | None, *, page_size: int = 100, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._api = api
        self._page_size = page_size
        self._pool = WorkerPool(max_threads=1, parent=self)
        self._worker: CallWorker[Any] | None = None
        self._rows: list[TicketRow] = []
        self._total = 0

    @property
    def rows(self) -> list[TicketRow]:
        """What the list shows."""
        return list(self._rows)

    @property
    def total(self) -> int:
        """How many tickets the server has for me (the list shows the newest ``page_size``)."""
        return self._total

    @property
    def loading(self) -> bool:
        """A refresh is running."""
        return self._worker is not None

    def set_api(self, api: TicketsApi | None) -> None:
        """Sign-in or sign-out: the list empties; :meth:`refresh` loads the new account's tickets."""
        self._api = api
        self._worker = None
        self._rows = []
        self.tickets_changed.emit([])

    @Slot()
    def refresh(self) -> None:
        """Reload the list in the background (a refresh already running is enough)."""
        if self._worker is not None:
            return
        if self._api is None:
            self.error_changed.emit("Sign in to see your tickets.")
            self.sign_in_required.emit()
            return
        api, limit = self._api, self._page_size
        worker: CallWorker[TicketPage] = CallWorker(lambda: api.list_tickets(limit=limit), self)
        worker.succeeded.connect(self._on_loaded)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        self.loading_changed.emit(True)
        worker.start(self._pool)

    @Slot(str)
    def open_ticket(self, ticket_id: str) -> None:
        """The user double-clicked a ticket."""
        self.ticket_opened.emit(ticket_id)

    def shutdown(self) -> None:
        """Wait for a running refresh (on quit)."""
        self._pool.wait()

    @Slot(object)
    def _on_loaded(self, page: TicketPage) -> None:
        if self.sender() is not self._worker:
            return
        self._rows = [ticket_row(ticket) for ticket in page.items]
        self._total = page.total
        self.error_changed.emit("")
        self.tickets_changed.emit(self.rows)

    @Slot(object)
    def _on_failed(self, error: ApiError) -> None:
        if self.sender() is not self._worker:
            return
        if isinstance(error, SessionExpired):
            self.sign_in_required.emit()
        self.error_changed.emit(f"Your tickets could not be loaded: {error.message}")

    @Slot()
    def _on_finished(self) -> None:
        worker = self.sender()
        if worker is self._worker:
            self._worker = None
            self.loading_changed.emit(False)
        if isinstance(worker, QObject):
            worker.deleteLater()
