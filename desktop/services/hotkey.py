"""An optional global shortcut for "Capture region & ask", through ``pynput`` when it is installed.

``pynput`` is not a dependency: it is imported only when a hotkey is checked or registered. Without it (or on
Wayland, where no app may grab keys globally) the setting is disabled with the reason; the tray menu stays the
primary way to start a capture. pynput calls back from its own thread; the ``triggered`` signal carries that to
the GUI thread (connect it to a QObject's slot, never to a lambda).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal

__all__ = ["GlobalHotkey", "HotkeySupport", "hotkey_support"]

logger = logging.getLogger(__name__)

NOT_INSTALLED_TEXT = (
    "Global shortcuts need the optional 'pynput' package, which is not installed. Use the tray menu instead."
)
WAYLAND_TEXT = "Wayland does not let apps use global shortcuts. Use the tray menu, or set a shortcut in your desktop."


@dataclass(frozen=True, slots=True)
class HotkeySupport:
    """Whether global shortcuts can work here, and if not, why (a sentence for the settings dialog)."""

    available: bool
    reason: str = ""


def _import_pynput_keyboard() -> Any:
    return importlib.import_module("pynput.keyboard")


def hotkey_support(environ: dict[str, str] | None = None) -> HotkeySupport:
    """Check (importing ``pynput`` lazily) whether a global shortcut can be registered on this desktop."""
    env = os.environ if environ is None else environ
    if sys.platform.startswith("linux") and env.get("WAYLAND_DISPLAY") and not env.get("DISPLAY"):
        return HotkeySupport(False, WAYLAND_TEXT)
    try:
        _import_pynput_keyboard()
    except ImportError:
        return HotkeySupport(False, NOT_INSTALLED_TEXT)
    except Exception as exc:  # pynput raises assorted errors when no backend fits (e.g. no X display)
        return HotkeySupport(False, f"Global shortcuts are not available here ({exc}). Use the tray menu instead.")
    return HotkeySupport(True)


class GlobalHotkey(QObject):
    """One registered global shortcut.

    Signals:
        triggered(): The shortcut was pressed (emitted from pynput's thread; queued to GUI-thread receivers).
    """

    triggered = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._listener: Any = None
        self._spec: str | None = None

    @property
    def spec(self) -> str | None:
        """The registered shortcut, e.g. ``"<ctrl>+<alt>+h"``, or ``None``."""
        return self._spec

    def register(self, spec: str | None) -> str | None:
        """Listen for ``spec`` (``None`` stops listening); returns an error sentence, or ``None`` on success."""
        self.unregister()
        if not spec:
            return None
        support = hotkey_support()
        if not support.available:
            return support.reason
        keyboard = _import_pynput_keyboard()
        try:
            keyboard.HotKey.parse(spec)
            listener = keyboard.GlobalHotKeys({spec: self.triggered.emit})
            listener.start()
        except (ValueError, KeyError) as exc:
            return f"'{spec}' is not a shortcut Tech Pal understands ({exc}). Example: <ctrl>+<alt>+h"
        except Exception as exc:
            logger.warning("could not register the global shortcut %r: %r", spec, exc)
            return f"The shortcut could not be registered ({exc})."
        self._listener = listener
        self._spec = spec
        return None

    def unregister(self) -> None:
        """Stop listening (fine when nothing is registered)."""
        listener, self._listener = self._listener, None
        self._spec = None
        if listener is not None:
            listener.stop()
