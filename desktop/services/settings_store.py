"""The settings as the Qt side sees them: one in-memory copy, saved through the core store, ``changed(name)``.

The file is a few hundred bytes written atomically, so saving on the GUI thread is fine; a failed save is logged
and the in-memory value still applies for this run (a read-only config dir must not break the app).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop.core.settings import DesktopSettings, SettingsStore

__all__ = ["QtSettingsStore"]

logger = logging.getLogger(__name__)


class QtSettingsStore(QObject):
    """Current settings with change notification.

    Signals:
        changed(str): The name of a setting whose value changed (once per changed field).
    """

    changed = Signal(str)

    def __init__(self, store: SettingsStore, *, parent: QObject | None = None) -> None:
        """Load the settings once.

        Args:
            store: The JSON file store.
            parent: Owning QObject.
        """
        super().__init__(parent)
        self._store = store
        self._first_run = not store.path.exists()
        self._settings = store.load()

    @property
    def settings(self) -> DesktopSettings:
        """The settings in effect."""
        return self._settings

    @property
    def first_run(self) -> bool:
        """No settings file existed when the app started (nothing was ever saved)."""
        return self._first_run

    @property
    def path(self) -> str:
        """Where the file lives, for the settings dialog."""
        return str(self._store.path)

    def override(self, **changes: Any) -> None:
        """Apply values for this run without saving them (e.g. ``--server``); the next :meth:`update` saves them."""
        self._apply(dataclasses.replace(self._settings, **changes))

    def update(self, **changes: Any) -> None:
        """Change and save; emits ``changed`` for each field whose value differs."""
        new = dataclasses.replace(self._settings, **changes)
        try:
            self._store.save(new)
        except OSError as exc:
            logger.warning("could not save settings to %s: %s", self._store.path, exc)
        self._first_run = False
        self._apply(new)

    def _apply(self, new: DesktopSettings) -> None:
        old, self._settings = self._settings, new
        for field in dataclasses.fields(DesktopSettings):
            if getattr(old, field.name) != getattr(new, field.name):
                self.changed.emit(field.name)
