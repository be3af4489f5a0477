"""Where the API lives: its path prefix and safe path segments, shared by the client's groups of requests."""

from __future__ import annotations

import urllib.parse
from typing import Final

__all__ = ["API", "segment"]

API: Final = "/api/v1"


def segment(value: object) -> str:
    """A path segment that cannot climb out of its route (ids come from the server, but still)."""
    return urllib.parse.quote(str(value), safe="")
