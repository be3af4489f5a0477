"""Anonymous usage events: what the app records, how much it keeps, and the batches it hands over for sending.

A batch is all that ever leaves the computer: a random id for this run of the app (made at each start, kept in
memory only, never tied to the account), the app's version, the OS family, how long the app has run, and per event
its name, the local day (never a time) and one number where one means something (boxes hidden, answer latency). No
user id, ticket id, text, file name or host name: the recorder has no place for any of them.

The account's ``analytics`` switch decides (:meth:`AnalyticsRecorder.set_allowed`). While it is unknown (signed out,
the profile not loaded yet) events are kept but nothing is handed over; on, batches are handed over; off, nothing is
kept and whatever was pending is dropped. Memory is bounded: beyond :data:`MAX_PENDING` the oldest events go.

Sending is the caller's: :meth:`AnalyticsRecorder.take_batch` removes the oldest events, and a batch that was not
delivered goes back with :meth:`AnalyticsRecorder.put_back`, so a transient failure loses nothing and a delivered
batch is never sent twice.
"""

from __future__ import annotations

import datetime
import re
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "MAX_AGE_DAYS",
    "MAX_BATCH",
    "MAX_PENDING",
    "MAX_VALUE",
    "AnalyticsRecorder",
    "EventName",
    "OsFamily",
    "UsageBatch",
    "UsageEvent",
    "os_family",
    "wire_version",
]

MAX_PENDING: Final = 1_000  # events kept in memory at most; a run that can never send keeps only the newest
MAX_BATCH: Final = 200  # events per request at most (the server refuses more)
# The server refuses a whole batch with one event older than 7 days before its (UTC) today, or a number outside
# 0…1e7; a refused batch is dropped for good, so such events never go into one. 6 days leaves the local date's
# offset from UTC its margin.
MAX_AGE_DAYS: Final = 6
MAX_VALUE: Final = 10_000_000
# The server takes only numbers and release words as the version (so no name or text fits there), in 40 characters.
_VERSION: Final = re.compile(
    r"[0-9]{1,6}(\.[0-9]{1,6}){0,3}([.+-]?(a|b|c|rc|alpha|beta|pre|preview|post|dev)\.?[0-9]{0,6}){0,3}"
)
_RELEASE: Final = re.compile(r"[0-9]{1,6}(\.[0-9]{1,6}){0,3}")
_VERSION_CHARS: Final = 40


class EventName(StrEnum):
    """What can be recorded; the server accepts exactly these names."""

    APP_STARTED = "app_started"
    QUESTION_ASKED = "question_asked"
    SCREEN_CAPTURED = "screen_captured"
    REGION_CAPTURED = "region_captured"
    BOXES_REDACTED = "boxes_redacted"  # value: how many boxes the screenshot went out with
    ANSWER_RECEIVED = "answer_received"  # value: milliseconds from Send to the answer's last word
    FIXED = "fixed"
    STILL_BROKEN = "still_broken"
    FOLLOW_UP = "follow_up"
    OFFLINE_QUEUED = "offline_queued"


class OsFamily(StrEnum):
    """The operating system, coarsely: no version, no distribution, no machine."""

    LINUX = "linux"
    WINDOWS = "windows"
    MACOS = "macos"
    OTHER = "other"


def wire_version(version: str) -> str:
    """``version`` as the server accepts it: itself, else its release numbers, else ``0.0.0``.

    A local build's ``0.1.0+g1a2b3c`` goes as ``0.1.0``: the server would refuse the whole batch for it.
    """
    if len(version) <= _VERSION_CHARS and _VERSION.fullmatch(version):
        return version
    release = _RELEASE.match(version)
    return release.group(0) if release else "0.0.0"


def os_family(platform_name: str | None = None) -> OsFamily:
    """The family of ``platform_name`` (``sys.platform`` by default)."""
    name = sys.platform if platform_name is None else platform_name
    if name.startswith("linux"):
        return OsFamily.LINUX
    if name in ("win32", "cygwin", "msys"):
        return OsFamily.WINDOWS
    if name == "darwin":
        return OsFamily.MACOS
    return OsFamily.OTHER


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """One thing that happened: its name, the local day it happened on, and its number (or ``None``)."""

    name: EventName
    day: datetime.date
    value: int | None = None

    def as_json(self) -> dict[str, object]:
        """The event as the server reads it: exactly ``name``, ``day`` and ``value``."""
        return {"name": self.name.value, "day": self.day.isoformat(), "value": self.value}


@dataclass(frozen=True, slots=True)
class UsageBatch:
    """Events to send in one request, with what describes the run they come from (and nothing else)."""

    session_id: uuid.UUID
    app_version: str
    os_family: OsFamily
    session_seconds: int
    events: tuple[UsageEvent, ...]

    def as_json(self) -> dict[str, object]:
        """The request body of ``POST /api/v1/analytics/events``: exactly the fields the server accepts."""
        return {
            "session_id": str(self.session_id),
            "app_version": self.app_version,
            "os_family": self.os_family.value,
            "session_seconds": self.session_seconds,
            "events": [event.as_json() for event in self.events],
        }


class AnalyticsRecorder:
    """The events of this run of the app, in memory only, as the account's switch allows. Thread-safe.

    Args:
        session_id: This run's id; a new random one (UUID4) when omitted. It is never saved anywhere.
        app_version: The desktop's version; read from the installed package when first needed.
        platform_name: ``sys.platform`` as the OS family is told from (tests give another).
        today: The local date (tests fix it).
        clock: Seconds on a monotonic clock, for how long the app has run.
        max_pending: Events kept at most; the oldest go first.
    """

    def __init__(
        self,
        *,
        session_id: uuid.UUID | None = None,
        app_version: str | None = None,
        platform_name: str | None = None,
        today: Callable[[], datetime.date] = datetime.date.today,
        clock: Callable[[], float] = time.monotonic,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self._session_id = session_id or uuid.uuid4()
        self._app_version = wire_version(app_version) if app_version is not None else None
        self._os_family = os_family(platform_name)
        self._today = today
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()  # presenters record on the GUI thread; a sender may take from another
        self._events: deque[UsageEvent] = deque(maxlen=max_pending)
        self._allowed: bool | None = None

    @property
    def session_id(self) -> uuid.UUID:
        """This run's random id."""
        return self._session_id

    @property
    def allowed(self) -> bool | None:
        """The account's ``analytics`` switch as last known; ``None`` while unknown (nothing is handed over)."""
        with self._lock:
            return self._allowed

    @property
    def pending(self) -> list[UsageEvent]:
        """The events waiting to be sent, oldest first (a copy)."""
        with self._lock:
            return list(self._events)

    def set_allowed(self, allowed: bool | None) -> None:
        """Follow the account's switch: off drops what is pending; ``None`` (signed out) keeps it but sends nothing."""
        with self._lock:
            self._allowed = allowed
            if allowed is False:
                self._events.clear()

    def record(self, name: EventName | str, value: int | None = None) -> None:
        """Note that ``name`` happened today, with its number; nothing is kept while the switch is off.

        A number is kept within what the server takes (0 to :data:`MAX_VALUE`).

        Raises:
            ValueError: ``name`` is not one of :class:`EventName` (the server would refuse the whole batch).
        """
        number = None if value is None else min(max(int(value), 0), MAX_VALUE)
        event = UsageEvent(EventName(name), self._today(), number)
        with self._lock:
            if self._allowed is not False:
                self._events.append(event)  # a full deque drops its oldest

    def take_batch(self, limit: int = MAX_BATCH, *, final: bool = False) -> UsageBatch | None:
        """Remove and return the oldest ``limit`` events as a batch; ``None`` when sending is off, or nothing is due.

        Events older than :data:`MAX_AGE_DAYS` are dropped here (the server would refuse them, and the batch with
        them). A ``final`` batch (at quit) is returned even without events: it still tells how long the app ran.
        Give the batch back with :meth:`put_back` if it was not delivered.
        """
        oldest = self._today() - datetime.timedelta(days=MAX_AGE_DAYS)
        with self._lock:
            if self._allowed is not True:
                return None
            if any(event.day < oldest for event in self._events):  # at most a thousand: cheap
                kept = [event for event in self._events if event.day >= oldest]
                self._events.clear()
                self._events.extend(kept)
            if not self._events and not final:
                return None
            events = tuple(self._events.popleft() for _ in range(min(limit, len(self._events))))
        seconds = max(0, int(self._clock() - self._started))
        return UsageBatch(self._session_id, self._version(), self._os_family, seconds, events)

    def put_back(self, batch: UsageBatch) -> None:
        """A batch that was not delivered goes back before the newer events (dropped if the switch is off now).

        Should memory be full meanwhile, the newest events are kept, as :meth:`record` keeps them.
        """
        with self._lock:
            if self._allowed is False:
                return
            room = (self._events.maxlen or 0) - len(self._events)
            returned = batch.events[len(batch.events) - room :] if room > 0 else ()
            self._events.extendleft(reversed(returned))

    def _version(self) -> str:
        if self._app_version is None:
            from desktop.core.version import app_version  # noqa: PLC0415 - importlib.metadata once a batch is sent

            self._app_version = wire_version(app_version())
        return self._app_version
