"""Start at login: the per-OS entries, written into a temporary home."""

from __future__ import annotations

import plistlib
import shlex
import sys
from typing import TYPE_CHECKING

import pytest

from desktop.services.autostart import (
    MACOS_LABEL,
    AutostartError,
    MacAutostart,
    XdgAutostart,
    default_command,
    make_autostart,
)

if TYPE_CHECKING:
    from pathlib import Path

COMMAND = ["/opt/Tech Pal/python", "-m", "desktop"]


def test_linux_writes_an_xdg_autostart_entry_and_removes_it(tmp_path: Path) -> None:
    autostart = make_autostart("linux", command=COMMAND, home=tmp_path)
    assert isinstance(autostart, XdgAutostart)
    assert not autostart.is_enabled()

    autostart.enable()

    entry = tmp_path / ".config" / "autostart" / "techpal.desktop"
    assert autostart.is_enabled()
    lines = dict(line.split("=", 1) for line in entry.read_text().splitlines()[1:])
    assert entry.read_text().startswith("[Desktop Entry]\n")
    assert lines["Type"] == "Application"
    assert shlex.split(lines["Exec"]) == COMMAND
    autostart.disable()
    assert not entry.exists()
    autostart.disable()  # already off: fine


def test_linux_honours_xdg_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))

    XdgAutostart(COMMAND).enable()

    assert (tmp_path / "cfg" / "autostart" / "techpal.desktop").is_file()


def test_macos_writes_a_launch_agent(tmp_path: Path) -> None:
    autostart = make_autostart("darwin", command=COMMAND, home=tmp_path)
    assert isinstance(autostart, MacAutostart)

    autostart.enable()

    plist = plistlib.loads((tmp_path / "Library" / "LaunchAgents" / f"{MACOS_LABEL}.plist").read_bytes())
    assert plist["Label"] == MACOS_LABEL
    assert plist["ProgramArguments"] == COMMAND
    assert plist["RunAtLoad"] is True
    autostart.disable()
    assert not autostart.is_enabled()


def test_an_unwritable_directory_is_an_error_in_words(tmp_path: Path) -> None:
    (tmp_path / ".config").write_text("a file where a directory should be")
    autostart = make_autostart("linux", command=COMMAND, home=tmp_path)

    with pytest.raises(AutostartError, match="Could not register Tech Pal to start at login"):
        autostart.enable()


def test_the_default_command_starts_this_installation() -> None:
    assert default_command() == [sys.executable, "-m", "desktop"]
