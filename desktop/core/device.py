"""Device details a user may choose to attach to a question: OS, version, CPU, RAM, free disk, network state.

Sent only when the "share device details" setting is on, and previewed first (:meth:`DeviceDetails.preview`),
so the user sees exactly what leaves the machine. The payload matches the server's ``device`` part: every field
optional, unknown fields refused, texts at most 200 characters. Probing uses the standard library only and never
raises: a value that cannot be read is left out. It reads a few small files; call it off the GUI thread.
"""

from __future__ import annotations

import ctypes
import os
import platform
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

__all__ = ["DeviceDetails", "NetworkState", "collect_device_details"]

NetworkState = Literal["online", "limited", "offline"]
_MAX_TEXT: Final = 200
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
_GIB: Final = 1024**3


@dataclass(frozen=True, slots=True)
class DeviceDetails:
    """What would be sent; ``None`` fields are left out of the payload."""

    os: str | None = None
    os_version: str | None = None
    cpu: str | None = None
    ram_gb: float | None = None
    free_disk_gb: float | None = None
    network: NetworkState | None = None

    def as_payload(self) -> dict[str, Any]:
        """The JSON object for the ticket's ``device`` part."""
        return {name: value for name, value in self._items() if value is not None}

    def preview(self) -> list[tuple[str, str]]:
        """(label, value) rows for the preview, in the order they are listed in the settings."""
        labels = {
            "os": "Operating system",
            "os_version": "Version",
            "cpu": "Processor",
            "ram_gb": "Memory",
            "free_disk_gb": "Free disk space",
            "network": "Network",
        }
        rows = []
        for name, value in self._items():
            if value is None:
                continue
            shown = f"{value:g} GB" if isinstance(value, float) else str(value)
            rows.append((labels[name], shown))
        return rows

    def _items(self) -> list[tuple[str, Any]]:
        return [
            ("os", self.os),
            ("os_version", self.os_version),
            ("cpu", self.cpu),
            ("ram_gb", self.ram_gb),
            ("free_disk_gb", self.free_disk_gb),
            ("network", self.network),
        ]


def collect_device_details(network: NetworkState | None = None) -> DeviceDetails:
    """Probe this computer. ``network`` comes from the caller, who knows whether the server answered."""
    return DeviceDetails(
        os=_clean(_os_name()),
        os_version=_clean(_os_version()),
        cpu=_clean(_cpu_name()),
        ram_gb=_gib(_ram_bytes()),
        free_disk_gb=_gib(_free_disk_bytes()),
        network=network,
    )


def _clean(value: str | None) -> str | None:
    """One line of at most 200 characters without control characters (the server refuses those)."""
    if value is None:
        return None
    text = " ".join(_CONTROL.sub(" ", value).split())
    return text[:_MAX_TEXT] or None


def _gib(value: int | None) -> float | None:
    return None if value is None or value <= 0 else round(value / _GIB, 1)


def _os_name() -> str | None:
    name = platform.system()
    return {"Darwin": "macOS"}.get(name, name) or None


def _os_version() -> str | None:
    system = platform.system()
    if system == "Darwin":
        return platform.mac_ver()[0] or platform.release()
    if system == "Windows":
        return f"{platform.release()} ({platform.version()})"
    if system == "Linux":
        try:
            release = platform.freedesktop_os_release()
        except OSError:
            return platform.release() or None
        pretty = release.get("PRETTY_NAME") or release.get("NAME")
        return f"{pretty}, kernel {platform.release()}" if pretty else platform.release()
    return platform.release() or None


def _cpu_name(cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    try:
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or None


def _ram_bytes() -> int | None:
    if sys.platform == "win32":
        return _windows_ram_bytes()
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _windows_ram_bytes() -> int | None:  # pragma: no cover - Windows only
    class MemoryStatus(ctypes.Structure):
        _fields_ = [
            ("length", ctypes.c_ulong),
            ("memory_load", ctypes.c_ulong),
            ("total_phys", ctypes.c_ulonglong),
            ("avail_phys", ctypes.c_ulonglong),
            ("total_page_file", ctypes.c_ulonglong),
            ("avail_page_file", ctypes.c_ulonglong),
            ("total_virtual", ctypes.c_ulonglong),
            ("avail_virtual", ctypes.c_ulonglong),
            ("avail_extended_virtual", ctypes.c_ulonglong),
        ]

    status = MemoryStatus()
    status.length = ctypes.sizeof(MemoryStatus)
    windll = getattr(ctypes, "windll", None)
    if windll is None or not windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):
        return None
    return int(status.total_phys)


def _free_disk_bytes() -> int | None:
    try:
        return shutil.disk_usage(Path.home().anchor or "/").free
    except (OSError, RuntimeError):
        return None
