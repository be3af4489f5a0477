"""Wire types of anonymized analytics: the desktop's batches of events, and the admins' summary.

Every field of a batch is closed or bounded, so nothing identifying fits in it: event names are a fixed set, the
app version is digits with release markers, the OS is one of four families, and a day carries no time.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Literal, get_args

import msgspec

from server.lib.schema import RequestBody, ResponseBody

__all__ = [
    "EVENT_NAMES",
    "MAX_EVENTS",
    "VALUED_EVENTS",
    "Accepted",
    "AnalyticsBatch",
    "AnalyticsEvent",
    "AnalyticsSummary",
    "AnswerLatency",
    "EventName",
    "FeatureCount",
    "OsFamily",
    "SessionLengths",
]

# What the desktop may record; the desktop mirrors this list (it cannot import the server).
EventName = Literal[
    "app_started",
    "question_asked",
    "screen_captured",
    "region_captured",
    "boxes_redacted",  # value: how many boxes
    "answer_received",  # value: the answer's latency in milliseconds
    "fixed",
    "still_broken",
    "follow_up",
    "offline_queued",
]
EVENT_NAMES: tuple[str, ...] = get_args(EventName)
# The events whose number means something; any other event's number is dropped, not stored.
VALUED_EVENTS = frozenset({"boxes_redacted", "answer_received"})
OsFamily = Literal["linux", "windows", "macos", "other"]

MAX_EVENTS = 200
MAX_VALUE = 1e7
MAX_SESSION_SECONDS = 2**31 - 1  # the column's range
# "1.2.3", "0.2.0rc1", "1.0.post1.dev2", "2.1.0-beta.3": numbers and a few release words, so no name or text fits.
VERSION_PATTERN = (
    r"^[0-9]{1,6}(\.[0-9]{1,6}){0,3}"
    r"([.+-]?(a|b|c|rc|alpha|beta|pre|preview|post|dev)\.?[0-9]{0,6}){0,3}$"
)

AppVersion = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=VERSION_PATTERN)]
EventValue = Annotated[float, msgspec.Meta(ge=0, le=MAX_VALUE)]
SessionSeconds = Annotated[int, msgspec.Meta(ge=0, le=MAX_SESSION_SECONDS)]


class AnalyticsEvent(RequestBody, frozen=True):
    """One thing that happened in the app, on a day (no time), with a number where one means something."""

    name: EventName
    day: datetime.date
    value: EventValue | None = None


class AnalyticsBatch(RequestBody, frozen=True):
    """Events of one running app: ``session_id`` is a random UUID (version 4) made at each start."""

    session_id: uuid.UUID
    app_version: AppVersion
    os_family: OsFamily
    session_seconds: SessionSeconds
    events: Annotated[list[AnalyticsEvent], msgspec.Meta(max_length=MAX_EVENTS)]


class Accepted(ResponseBody, frozen=True):
    """How many events were stored (0 for a user who turned analytics off)."""

    accepted: int


class FeatureCount(ResponseBody, frozen=True):
    """How often one feature was used on one day."""

    day: datetime.date
    name: str
    count: int


class SessionLengths(ResponseBody, frozen=True):
    """How long the app ran, over the sessions that began in the period; percentiles are null without sessions."""

    count: int
    p50_seconds: float | None
    p90_seconds: float | None
    p99_seconds: float | None


class AnswerLatency(ResponseBody, frozen=True):
    """How long answers took to arrive, in milliseconds; percentiles are null without answers."""

    count: int
    p50: float | None
    p90: float | None
    p99: float | None


class AnalyticsSummary(ResponseBody, frozen=True):
    """Usage between ``from`` and ``to`` (both days included)."""

    from_: datetime.date = msgspec.field(name="from")
    to: datetime.date
    features: list[FeatureCount]
    sessions: SessionLengths
    answer_latency_ms: AnswerLatency
