"""The usage recorder, without Qt or a network: what a batch holds (and does not), the day, the bound, the switch."""

from __future__ import annotations

import datetime
import json

import pytest

from desktop.core.analytics import (
    MAX_AGE_DAYS,
    MAX_BATCH,
    MAX_VALUE,
    AnalyticsRecorder,
    EventName,
    OsFamily,
    UsageBatch,
    os_family,
    wire_version,
)

DAY = datetime.date(2026, 12, 8)
BATCH_KEYS = {"session_id", "app_version", "os_family", "session_seconds", "events"}
EVENT_KEYS = {"name", "day", "value"}


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def recorder(*, allowed: bool | None = True, **options: object) -> AnalyticsRecorder:
    """A recorder on a fixed day and a test clock, switched on unless told otherwise."""
    defaults: dict[str, object] = {"app_version": "1.2.3", "platform_name": "linux", "today": lambda: DAY}
    made = AnalyticsRecorder(**{**defaults, "clock": Clock(), **options})  # type: ignore[arg-type]
    made.set_allowed(allowed)
    return made


def names(batch: UsageBatch | None) -> list[str]:
    assert batch is not None
    return [event.name.value for event in batch.events]


def test_a_batch_holds_exactly_the_run_and_its_events_and_nothing_that_identifies_anyone() -> None:
    clock = Clock()
    made = recorder(clock=clock)
    made.record(EventName.APP_STARTED)
    made.record(EventName.BOXES_REDACTED, 3)
    made.record("answer_received", 1840)
    clock.now += 75.9

    batch = made.take_batch()

    assert batch is not None
    document = json.loads(json.dumps(batch.as_json()))  # what goes on the wire
    assert set(document) == BATCH_KEYS
    assert all(set(event) == EVENT_KEYS for event in document["events"])
    assert document == {
        "session_id": str(made.session_id),
        "app_version": "1.2.3",
        "os_family": "linux",
        "session_seconds": 75,
        "events": [
            {"name": "app_started", "day": "2026-12-08", "value": None},
            {"name": "boxes_redacted", "day": "2026-12-08", "value": 3},
            {"name": "answer_received", "day": "2026-12-08", "value": 1840},
        ],
    }


def test_the_session_id_is_random_per_run_and_never_the_account() -> None:
    first, second = AnalyticsRecorder(), AnalyticsRecorder()

    assert first.session_id.version == 4
    assert first.session_id != second.session_id


def test_the_day_is_the_local_date_without_a_time() -> None:
    made = AnalyticsRecorder(app_version="1.2.3")  # the real local calendar
    made.set_allowed(True)
    before = datetime.date.today()
    made.record(EventName.FIXED)
    after = datetime.date.today()

    batch = made.take_batch()

    assert batch is not None
    (event,) = batch.as_json()["events"]  # type: ignore[misc]
    assert event["day"] in {before.isoformat(), after.isoformat()}
    assert len(event["day"]) == 10  # YYYY-MM-DD: no "T", no hour, no zone
    assert type(batch.events[0].day) is datetime.date


def test_memory_is_bounded_and_the_oldest_events_go_first() -> None:
    made = recorder(max_pending=5)

    for latency in range(8):
        made.record(EventName.ANSWER_RECEIVED, latency)

    assert [event.value for event in made.pending] == [3, 4, 5, 6, 7]


def test_the_default_bound_is_a_thousand_events_and_a_batch_two_hundred() -> None:
    made = recorder()
    for _ in range(1_005):
        made.record(EventName.QUESTION_ASKED)

    sizes = []
    while (batch := made.take_batch()) is not None:
        sizes.append(len(batch.events))

    assert sizes == [MAX_BATCH] * 5
    assert made.pending == []


def test_with_the_switch_off_nothing_is_kept_and_what_was_pending_is_dropped() -> None:
    made = recorder(allowed=None)  # signed out: kept, not handed over
    made.record(EventName.APP_STARTED)
    assert made.take_batch() is None
    assert len(made.pending) == 1

    made.set_allowed(False)
    made.record(EventName.QUESTION_ASKED)

    assert made.pending == []
    assert made.take_batch() is None
    made.set_allowed(True)
    assert made.take_batch() is None  # nothing from the "off" time comes back


def test_a_failed_batch_goes_back_before_newer_events_and_a_delivered_one_never_returns() -> None:
    made = recorder()
    made.record(EventName.APP_STARTED)
    made.record(EventName.QUESTION_ASKED)
    failed = made.take_batch()
    made.record(EventName.FOLLOW_UP)  # recorded while the request was out

    assert failed is not None
    made.put_back(failed)
    retried = made.take_batch()
    assert names(retried) == ["app_started", "question_asked", "follow_up"]
    assert retried is not None
    assert retried.session_id == failed.session_id
    # delivered: not given back, so the next batch has only what came after
    made.record(EventName.FIXED)
    assert names(made.take_batch()) == ["fixed"]
    assert made.take_batch() is None


def test_a_batch_given_back_after_the_switch_went_off_is_dropped() -> None:
    made = recorder()
    made.record(EventName.APP_STARTED)
    batch = made.take_batch()
    assert batch is not None

    made.set_allowed(False)
    made.put_back(batch)

    assert made.pending == []


def test_a_batch_given_back_into_full_memory_keeps_the_newest_events() -> None:
    made = recorder(max_pending=3)
    made.record(EventName.APP_STARTED, 1)
    made.record(EventName.APP_STARTED, 2)
    batch = made.take_batch()
    assert batch is not None
    for value in (3, 4):
        made.record(EventName.APP_STARTED, value)

    made.put_back(batch)

    assert [event.value for event in made.pending] == [2, 3, 4]


def test_an_unknown_event_name_is_refused_before_it_could_spoil_a_batch() -> None:
    made = recorder()

    with pytest.raises(ValueError, match="not_an_event"):
        made.record("not_an_event")

    assert made.pending == []


@pytest.mark.parametrize(
    ("platform_name", "family"),
    [
        ("linux", OsFamily.LINUX),
        ("win32", OsFamily.WINDOWS),
        ("cygwin", OsFamily.WINDOWS),
        ("darwin", OsFamily.MACOS),
        ("freebsd14", OsFamily.OTHER),
    ],
)
def test_the_os_family_is_coarse(platform_name: str, family: OsFamily) -> None:
    made = recorder(platform_name=platform_name)
    assert made.take_batch() is None  # no events: no batch at all
    made.record(EventName.APP_STARTED)

    batch = made.take_batch()

    assert os_family(platform_name) is family
    assert batch is not None
    assert batch.as_json()["os_family"] == family.value


def test_the_app_version_is_the_installed_one() -> None:
    from desktop.core.version import app_version

    installed = AnalyticsRecorder()
    installed.set_allowed(True)
    installed.record(EventName.APP_STARTED)

    batch = installed.take_batch()

    assert batch is not None
    assert batch.app_version == wire_version(app_version())


@pytest.mark.parametrize(
    ("version", "sent"),
    [
        ("0.1.0", "0.1.0"),
        ("1.2.0rc1", "1.2.0rc1"),
        ("1.0.post1.dev2", "1.0.post1.dev2"),
        ("0.1.0+g1a2b3c.d20261208", "0.1.0"),  # a local build: the server would refuse its words
        ("1.2.3.4.5", "1.2.3.4"),
        ("9" * 60, "999999"),
        ("ada-laptop", "0.0.0"),
    ],
)
def test_the_version_goes_as_the_server_accepts_it(version: str, sent: str) -> None:
    assert wire_version(version) == sent


def test_events_older_than_the_server_accepts_are_left_out_so_the_rest_is_not_refused() -> None:
    today = [DAY - datetime.timedelta(days=MAX_AGE_DAYS + 2)]
    made = recorder(today=lambda: today[0])
    made.record(EventName.APP_STARTED)  # recorded long ago, never sent (offline all the while)
    today[0] = DAY - datetime.timedelta(days=MAX_AGE_DAYS)
    made.record(EventName.QUESTION_ASKED)  # the oldest day still sent
    today[0] = DAY

    assert names(made.take_batch()) == ["question_asked"]


def test_numbers_stay_within_what_the_server_takes() -> None:
    made = recorder()
    made.record(EventName.ANSWER_RECEIVED, -5)
    made.record(EventName.ANSWER_RECEIVED, 10**9)

    assert [event.value for event in made.pending] == [0, MAX_VALUE]


def test_the_last_batch_at_quit_goes_even_without_events_to_tell_how_long_the_app_ran() -> None:
    clock = Clock()
    made = recorder(clock=clock)
    clock.now += 3600

    assert made.take_batch() is None
    final = made.take_batch(final=True)

    assert final is not None
    assert (final.events, final.session_seconds) == ((), 3600)
    made.set_allowed(None)
    assert made.take_batch(final=True) is None  # signed out: nothing at all
