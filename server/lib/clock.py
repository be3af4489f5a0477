"""The time, as the server reads it: one injectable clock, so that tests move time instead of waiting for it."""

from __future__ import annotations

import datetime
from collections.abc import Callable

__all__ = ["Clock", "utcnow"]

Clock = Callable[[], datetime.datetime]


def utcnow() -> datetime.datetime:
    """The current time, timezone-aware."""
    return datetime.datetime.now(datetime.UTC)
