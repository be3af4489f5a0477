"""Interpret the server's ``GET /health`` answer.

Pure functions over what the HTTP layer observed, so every case (up, database
down, unreachable, some other web server) is testable without a network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

DEFAULT_SERVER_URL = "http://127.0.0.1:8000"
HEALTH_PATH = "/health"


class ServerState(StrEnum):
    """How usable the server is from the desktop's point of view."""

    ONLINE = "online"
    DEGRADED = "degraded"
    UNREACHABLE = "unreachable"


_LABELS: dict[ServerState, str] = {
    ServerState.ONLINE: "Connected",
    ServerState.DEGRADED: "Not ready",
    ServerState.UNREACHABLE: "Offline",
}


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """Result of one health check.

    Attributes:
        state: The coarse state, for logic and styling.
        message: One sentence for the user, e.g. "Connected to http://…".
    """

    state: ServerState
    message: str

    @property
    def label(self) -> str:
        """Short word or two for a status line, e.g. "Connected"."""
        return _LABELS[self.state]


def normalize_server_url(url: str) -> str:
    """Validate a server base URL and strip trailing slashes.

    A path prefix is kept, so a server behind a reverse proxy at
    ``https://host/techpal`` works.

    Args:
        url: What the user or the command line gave.

    Returns:
        The URL without trailing slashes.

    Raises:
        ValueError: If it is not an absolute http(s) URL with a host.
    """
    candidate = url.strip()
    parts = urlsplit(candidate)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"not an http(s) URL with a host: {url!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"server URL must not have a query or fragment: {url!r}")
    return candidate.rstrip("/")


def health_url(server_url: str) -> str:
    """Return the health endpoint for a server base URL."""
    return normalize_server_url(server_url) + HEALTH_PATH


def interpret_health(
    server_url: str,
    status_code: int | None,
    body: bytes | str | None,
    error: str | None = None,
) -> ServerStatus:
    """Turn one observed ``GET /health`` exchange into a :class:`ServerStatus`.

    Args:
        server_url: Base URL that was checked; it appears in messages.
        status_code: HTTP status, or ``None`` when no response arrived.
        body: Response body, if any.
        error: Transport error text (refused, timeout, TLS…), if any.

    Returns:
        ONLINE for 200 with ``{"status": "ok"}``; UNREACHABLE when there was
        no response; DEGRADED for everything else (503 while the database is
        down, another status value, or an answer that is not ours).
    """
    if error is not None or status_code is None:
        return ServerStatus(ServerState.UNREACHABLE, f"Cannot reach {server_url} — is the server running?")
    reported = _reported_status(body)
    if status_code == 200 and reported == "ok":
        return ServerStatus(ServerState.ONLINE, f"Connected to {server_url}")
    if status_code == 503 or (status_code == 200 and reported is not None):
        return ServerStatus(ServerState.DEGRADED, "Server is starting or its database is down")
    return ServerStatus(ServerState.DEGRADED, f"Unexpected answer from {server_url} (HTTP {status_code})")


def _reported_status(body: bytes | str | None) -> str | None:
    """Return the ``status`` string of a health body, or ``None`` if it has none."""
    if body is None:
        return None
    try:
        document = json.loads(body)
    except ValueError:  # also covers UnicodeDecodeError
        return None
    if isinstance(document, dict):
        value = document.get("status")
        if isinstance(value, str):
            return value
    return None
