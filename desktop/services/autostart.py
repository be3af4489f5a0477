r"""Start Tech Pal at login, the way each OS expects it for one user (no admin rights needed).

* Linux (XDG): ``$XDG_CONFIG_HOME/autostart/techpal.desktop`` (``~/.config/autostart`` by default).
* macOS: ``~/Library/LaunchAgents/com.techpal.desktop.plist`` with ``RunAtLoad``.
* Windows: the ``TechPal`` value under ``HKCU\Software\Microsoft\Windows\CurrentVersion\Run``.

Plain file and registry writes, so everything but the registry is tested on Linux with a temporary home.
"""

from __future__ import annotations

import os
import plistlib
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Autostart", "AutostartError", "default_command", "make_autostart"]

APP_ID: Final = "techpal"
MACOS_LABEL: Final = "com.techpal.desktop"
WINDOWS_RUN_KEY: Final = r"Software\Microsoft\Windows\CurrentVersion\Run"
WINDOWS_VALUE: Final = "TechPal"


class AutostartError(Exception):
    """Start at login could not be changed; the message is for the user."""


class Autostart(Protocol):
    """One OS's start-at-login mechanism."""

    def is_enabled(self) -> bool:
        """Whether Tech Pal is registered to start at login."""
        ...

    def enable(self) -> None:
        """Register; raises :class:`AutostartError`."""
        ...

    def disable(self) -> None:
        """Unregister (fine when not registered); raises :class:`AutostartError`."""
        ...


def default_command() -> list[str]:
    """How to start this very installation: the frozen executable, or this Python with ``-m desktop``."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "desktop"]


class XdgAutostart:
    """Linux and other XDG desktops: a ``.desktop`` file in the autostart directory."""

    def __init__(self, command: Sequence[str], *, config_home: Path | None = None) -> None:
        base = config_home or Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        self.path = base / "autostart" / f"{APP_ID}.desktop"
        self._command = list(command)

    def is_enabled(self) -> bool:
        """See :class:`Autostart`."""
        return self.path.is_file()

    def enable(self) -> None:
        """See :class:`Autostart`."""
        exec_line = " ".join(_desktop_quote(arg) for arg in self._command)
        text = (
            "[Desktop Entry]\n"
            "Type=Application\n"
            "Name=Tech Pal\n"
            "Comment=IT help from the system tray\n"
            f"Exec={exec_line}\n"
            "Terminal=false\n"
            "X-GNOME-Autostart-enabled=true\n"
        )
        _write(self.path, text.encode())

    def disable(self) -> None:
        """See :class:`Autostart`."""
        _remove(self.path)


class MacAutostart:
    """macOS: a per-user LaunchAgent that runs at login."""

    def __init__(self, command: Sequence[str], *, home: Path | None = None) -> None:
        self.path = (home or Path.home()) / "Library" / "LaunchAgents" / f"{MACOS_LABEL}.plist"
        self._command = list(command)

    def is_enabled(self) -> bool:
        """See :class:`Autostart`."""
        return self.path.is_file()

    def enable(self) -> None:
        """See :class:`Autostart`."""
        document = {
            "Label": MACOS_LABEL,
            "ProgramArguments": self._command,
            "RunAtLoad": True,
            "ProcessType": "Interactive",
        }
        _write(self.path, plistlib.dumps(document))

    def disable(self) -> None:
        """See :class:`Autostart`."""
        _remove(self.path)


class WindowsAutostart:  # pragma: no cover - needs winreg
    """Windows: a value in the current user's Run key."""

    def __init__(self, command: Sequence[str]) -> None:
        self._command_line = subprocess.list2cmdline(list(command))

    def is_enabled(self) -> bool:
        """See :class:`Autostart`."""
        import winreg  # noqa: PLC0415 - Windows only

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, WINDOWS_RUN_KEY) as key:  # type: ignore[attr-defined]
                winreg.QueryValueEx(key, WINDOWS_VALUE)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True

    def enable(self) -> None:
        """See :class:`Autostart`."""
        import winreg  # noqa: PLC0415 - Windows only

        try:
            with winreg.CreateKey(winreg.HKEY_CURRENT_USER, WINDOWS_RUN_KEY) as key:  # type: ignore[attr-defined]
                winreg.SetValueEx(key, WINDOWS_VALUE, 0, winreg.REG_SZ, self._command_line)  # type: ignore[attr-defined]
        except OSError as exc:
            raise AutostartError(f"Windows refused to register Tech Pal to start at login ({exc}).") from exc

    def disable(self) -> None:
        """See :class:`Autostart`."""
        import winreg  # noqa: PLC0415 - Windows only

        try:
            with winreg.OpenKey(  # type: ignore[attr-defined]
                winreg.HKEY_CURRENT_USER,  # type: ignore[attr-defined]
                WINDOWS_RUN_KEY,
                0,
                winreg.KEY_SET_VALUE,  # type: ignore[attr-defined]
            ) as key:
                winreg.DeleteValue(key, WINDOWS_VALUE)  # type: ignore[attr-defined]
        except FileNotFoundError:
            return
        except OSError as exc:
            raise AutostartError(f"Windows refused to remove Tech Pal from start at login ({exc}).") from exc


def make_autostart(
    platform: str | None = None, *, command: Sequence[str] | None = None, home: Path | None = None
) -> Autostart:
    """The mechanism of ``platform`` (``sys.platform`` by default) for ``command`` (:func:`default_command`)."""
    platform = platform or sys.platform
    command = list(command) if command is not None else default_command()
    if platform == "win32":
        return WindowsAutostart(command)
    if platform == "darwin":
        return MacAutostart(command, home=home)
    return XdgAutostart(command, config_home=(home / ".config") if home is not None else None)


def _desktop_quote(arg: str) -> str:
    r"""Quote one argument for a ``.desktop`` ``Exec`` line (double quotes; ``"`, `$`, `\` and backtick escaped)."""
    if arg and all(c.isalnum() or c in "-_./=:+@," for c in arg):
        return arg
    escaped = "".join(f"\\{c}" if c in '"`$\\' else c for c in arg)
    return f'"{escaped}"'


def _write(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.tmp")
        temp.write_bytes(data)
        os.replace(temp, path)
    except OSError as exc:
        raise AutostartError(f"Could not register Tech Pal to start at login: {exc.strerror or exc}.") from exc


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise AutostartError(f"Could not remove Tech Pal from start at login: {exc.strerror or exc}.") from exc
