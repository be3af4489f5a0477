"""The desktop's local settings: one declarative schema, and a JSON file under the platform's config dir.

Reading never crashes the app: a missing, corrupt or hand-edited file yields defaults for whatever is unusable,
with a warning in the log. Writing is atomic (temp file + rename), so a crash mid-save leaves the old file.
Tokens never live here (see ``desktop.core.auth``).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, get_args
from urllib.parse import urlsplit

import platformdirs

from desktop.core.health import DEFAULT_SERVER_URL, normalize_server_url

__all__ = [
    "SCHEMA_VERSION",
    "DesktopSettings",
    "ServerUrlCheck",
    "SettingsStore",
    "Theme",
    "check_server_url",
    "default_settings_path",
]

logger = logging.getLogger(__name__)

SCHEMA_VERSION: Final = 1
Theme = Literal["system", "light", "dark"]
THEMES: Final[tuple[str, ...]] = get_args(Theme)
APP_NAME: Final = "techpal"


@dataclass(frozen=True, slots=True)
class DesktopSettings:
    """Everything the user can set, with its default. Change with ``dataclasses.replace``.

    Attributes:
        server_url: Base URL of the Tech Pal server (normalized, no trailing slash).
        theme: ``"system"`` follows the OS; ``"light"``/``"dark"`` force a palette.
        capture_hotkey: A global shortcut such as ``"<ctrl>+<alt>+h"``, or ``None`` (tray menu only).
        start_at_login: Register the app with the OS's per-user autostart.
        share_device_details: Attach OS, CPU/RAM, disk and network state to questions (off until the user opts in).
        account_id: The signed-in user's id on ``server_url`` (not a secret: tokens are in the keyring).
        insecure_http_allowed_for: The non-local plain-``http://`` server URL the user accepted (tokens travel in
            clear); it counts only while ``server_url`` is exactly that URL, see :attr:`insecure_http_confirmed`.
        version: Schema version of the file, for future migrations.
    """

    server_url: str = DEFAULT_SERVER_URL
    theme: Theme = "system"
    capture_hotkey: str | None = None
    start_at_login: bool = False
    share_device_details: bool = False
    account_id: str | None = None
    insecure_http_allowed_for: str | None = None
    version: int = SCHEMA_VERSION

    @property
    def insecure_http_confirmed(self) -> bool:
        """The user accepted clear-text http for the current ``server_url`` (changing the URL asks again)."""
        return self.insecure_http_allowed_for is not None and self.insecure_http_allowed_for == self.server_url


@dataclass(frozen=True, slots=True)
class ServerUrlCheck:
    """Result of :func:`check_server_url`.

    Attributes:
        url: The normalized URL.
        needs_insecure_confirmation: Plain http to a host other than this computer: tokens would travel in clear,
            so the UI must ask before using it.
    """

    url: str
    needs_insecure_confirmation: bool


def check_server_url(url: str) -> ServerUrlCheck:
    """Validate a server URL a user typed.

    Raises:
        ValueError: Not an absolute http(s) URL with a host, or it has a query/fragment.
    """
    normalized = normalize_server_url(url)
    parts = urlsplit(normalized)
    return ServerUrlCheck(normalized, parts.scheme == "http" and not _is_loopback(parts.hostname or ""))


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_settings_path() -> Path:
    """``<user config dir>/techpal/settings.json`` (e.g. ``~/.config/techpal/settings.json`` on Linux)."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "settings.json"


class SettingsStore:
    """Loads and saves :class:`DesktopSettings` as JSON. Blocking file I/O: call it off the GUI thread if slow."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else default_settings_path()

    def load(self) -> DesktopSettings:
        """The saved settings; defaults for a missing file and for each missing or invalid value."""
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return DesktopSettings()
        except (OSError, UnicodeDecodeError) as exc:
            logger.warning("cannot read settings %s (%s); using defaults", self.path, exc)
            return DesktopSettings()
        try:
            document = json.loads(raw)
        except ValueError as exc:
            logger.warning("settings %s are not valid JSON (%s); using defaults", self.path, exc)
            return DesktopSettings()
        if not isinstance(document, dict):
            logger.warning("settings %s are not a JSON object; using defaults", self.path)
            return DesktopSettings()
        return settings_from_dict(document)

    def save(self, settings: DesktopSettings) -> None:
        """Write atomically: the file is either the old or the new version, never half of one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(dataclasses.asdict(settings), indent=2, sort_keys=True) + "\n"
        fd, temp_name = tempfile.mkstemp(prefix=".settings-", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, self.path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise


def settings_from_dict(document: dict[str, Any]) -> DesktopSettings:
    """Take each known, valid value; anything else falls back to its default with a warning."""
    defaults = DesktopSettings()
    values: dict[str, Any] = {}
    for name, validate in _VALIDATORS.items():
        if name not in document:
            continue
        try:
            values[name] = validate(document[name])
        except (TypeError, ValueError) as exc:
            logger.warning("setting %r is invalid (%s); using the default %r", name, exc, getattr(defaults, name))
    unknown = sorted(set(document) - set(_VALIDATORS) - {"version"})
    if unknown:
        logger.warning("ignoring unknown settings: %s", ", ".join(unknown))
    return dataclasses.replace(defaults, **values)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {value!r}")
    return value


def _theme(value: Any) -> str:
    if value not in THEMES:
        raise ValueError(f"expected one of {', '.join(THEMES)}, got {value!r}")
    return str(value)


def _optional_text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise TypeError(f"expected a short text or null, got {value!r}")
    return value.strip() or None


def _server_url(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a URL, got {value!r}")
    return check_server_url(value).url


def _optional_url(value: Any) -> str | None:
    return None if value is None else _server_url(value)


_VALIDATORS: Final[dict[str, Any]] = {
    "server_url": _server_url,
    "theme": _theme,
    "capture_hotkey": _optional_text,
    "start_at_login": _bool,
    "share_device_details": _bool,
    "account_id": _optional_text,
    "insecure_http_allowed_for": _optional_url,
}
