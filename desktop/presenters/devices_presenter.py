"""The signed-in devices' view-model: list them, sign out one, or every one but this computer.

Requests run on the runner; after each sign-out the list is loaded again, so it shows what the server holds.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QObject, Signal, Slot

from desktop.core.api.errors import SessionExpired
from desktop.presenters.remote_presenter import RemotePresenter
from desktop.presenters.session_state import error_message

if TYPE_CHECKING:
    from collections.abc import Callable

    from desktop.core.api.client import ApiClient
    from desktop.core.api.models import DeviceSession
    from desktop.services.tasks import TaskRunner

__all__ = ["THIS_DEVICE_SUFFIX", "DeviceRow", "DevicesPresenter", "describe_device"]

THIS_DEVICE_SUFFIX: Final = " (this computer)"
SIGNED_OUT_ONE_TEXT: Final = "That device is signed out."
SIGNED_OUT_OTHERS_TEXT: Final = "Every other device is signed out."


@dataclass(frozen=True, slots=True)
class DeviceRow:
    """One signed-in device as the list shows it; ``current`` (this computer) has no "Sign out" of its own."""

    session_id: str
    name: str
    signed_in: str
    last_used: str
    current: bool


def _when(value: datetime.datetime | None) -> str:
    if value is None:
        return "—"
    local = value.astimezone()
    if local.date() == datetime.datetime.now().astimezone().date():
        return f"Today {local:%H:%M}"
    return f"{local:%d %b %Y}".lstrip("0")


def describe_device(session: DeviceSession) -> DeviceRow:
    """Turn the server's session into a row: this computer is marked, times are local."""
    name = session.device_name or "Unnamed device"
    return DeviceRow(
        session_id=str(session.id),
        name=name + THIS_DEVICE_SUFFIX if session.current else name,
        signed_in=_when(session.created_at),
        last_used=_when(session.last_used_at),
        current=session.current,
    )


class DevicesPresenter(RemotePresenter):
    """Lists the signed-in devices and signs them out.

    Args:
        client: Returns the signed-in API client, or ``None`` when signed out.
        runner: Where requests run.
        parent: Owning QObject.

    Signals:
        devices_changed(list): The :class:`DeviceRow` list, this computer first.
        message_changed(str): What happened (a sign-out done, a failure), for the line under the list.
        busy_changed(bool): A request is running (the buttons wait).
        session_expired(): A request found the session revoked.
    """

    devices_changed = Signal(list)
    message_changed = Signal(str)
    busy_changed = Signal(bool)

    def __init__(
        self, client: Callable[[], ApiClient | None], *, runner: TaskRunner, parent: QObject | None = None
    ) -> None:
        super().__init__(client, runner=runner, parent=parent)
        self._rows: list[DeviceRow] = []
        self._busy = False

    @property
    def rows(self) -> list[DeviceRow]:
        """The devices as last loaded."""
        return list(self._rows)

    @property
    def busy(self) -> bool:
        """A request is running."""
        return self._busy

    @Slot()
    def refresh(self) -> None:
        """(Re)load the list."""
        self._run(lambda client: None, "")

    def sign_out_device(self, session_id: str) -> None:
        """Sign out one other device (this computer signs out from the tray menu)."""
        if any(row.session_id == session_id and row.current for row in self._rows):
            return
        self._run(lambda client: client.end_session(session_id), SIGNED_OUT_ONE_TEXT)

    @Slot()
    def sign_out_others(self) -> None:
        """Sign out every device but this computer."""
        self._run(lambda client: client.end_other_sessions(), SIGNED_OUT_OTHERS_TEXT)

    def _run(self, action: Callable[[ApiClient], None], done_text: str) -> None:
        client = self._client()
        if client is None or self._busy:
            return
        self._set_busy(True)

        def call() -> list[DeviceSession]:
            action(client)
            return client.sessions()

        self._runner.run(call, lambda sessions: self._on_loaded(sessions, done_text), self._on_failed)

    def _on_loaded(self, sessions: list[DeviceSession], done_text: str) -> None:
        self._set_busy(False)
        self._rows = sorted((describe_device(s) for s in sessions), key=lambda row: not row.current)
        self.devices_changed.emit(self.rows)
        self.message_changed.emit(done_text)

    def _on_failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        if isinstance(exc, SessionExpired):
            self.session_expired.emit()
        self.message_changed.emit(error_message(exc))

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.busy_changed.emit(busy)
