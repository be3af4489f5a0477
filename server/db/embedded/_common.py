"""What every module of the embedded database shares: its public constants, its error, the account, deadlines."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

# One logger for the whole package, named after it.
logger: Final = logging.getLogger("server.db.embedded")

DB_SYSTEM_USER: Final = "techpal-pg"
DEFAULT_SYSTEM_DIR: Final = Path("/var/lib/techpal-pg")
PORT: Final = 5432


class EmbeddedPostgresError(RuntimeError):
    """The embedded PostgreSQL could not be set up, started or stopped."""


@dataclass(frozen=True)
class _Account:
    """The unprivileged system account PostgreSQL runs as when we are root."""

    name: str
    uid: int
    gid: int


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(self._end - time.monotonic(), 0.0)

    def expired(self) -> bool:
        return time.monotonic() >= self._end
