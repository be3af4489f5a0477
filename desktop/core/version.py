"""The desktop app's own version, read from the installed package.

Its own module, light on purpose: the API client's ``User-Agent`` and the usage recorder both need it, and the
recorder exists from start-up, when the idle tray must not load httpx with the client.
"""

from __future__ import annotations

from importlib import metadata

__all__ = ["app_version"]


def app_version() -> str:
    """The installed package version, or ``"0.0.0"`` when running from a bare checkout."""
    try:
        return metadata.version("techpal")
    except metadata.PackageNotFoundError:
        return "0.0.0"
