"""The base of view-models whose work is requests on the signed-in :class:`ApiClient`, run off the GUI thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from collections.abc import Callable

    from desktop.core.api import ApiClient
    from desktop.services.tasks import TaskRunner

__all__ = ["RemotePresenter"]


class RemotePresenter(QObject):
    """Holds the client getter (``None`` while signed out) and the runner its requests go through.

    Signals:
        session_expired(): A request found the session revoked (the app asks for sign-in).
    """

    session_expired = Signal()

    def __init__(
        self, client: Callable[[], ApiClient | None], *, runner: TaskRunner, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._client = client
        self._runner = runner
