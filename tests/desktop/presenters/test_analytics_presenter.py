"""The analytics presenter on a real session and the fake server: what is sent, when, and when nothing is.

Batches leave only while signed in with the account's ``analytics`` switch on; an objection drops what was pending;
a transient failure keeps the batch for later, a delivered one is never sent twice, and quit sends once more without
waiting long.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from desktop.core.analytics import AnalyticsRecorder, EventName
from desktop.core.settings import DesktopSettings, SettingsStore
from desktop.presenters.account_presenter import AccountPresenter
from desktop.presenters.analytics_presenter import AnalyticsPresenter
from desktop.presenters.session_presenter import SessionPresenter
from desktop.services.secrets import KeyringTokenStore
from desktop.services.settings_store import QtSettingsStore
from desktop.services.tasks import TaskRunner
from tests.fixtures.fake_server import FakeServer, SecureMemoryKeyring

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pytestqt.qtbot import QtBot

TIMEOUT_MS = 5000
PASSWORD = "correct horse battery"
BATCH_KEYS = {"session_id", "app_version", "os_family", "session_seconds", "events"}
EVENT_KEYS = {"name", "day", "value"}

MakeApp = Callable[..., AnalyticsPresenter]


@pytest.fixture
def make_app(qapp: object, tmp_path: Path, fake_server: FakeServer) -> Iterator[MakeApp]:
    """A started session on the fake server with its analytics presenter (sending only when told, by default)."""
    made: list[tuple[SessionPresenter, AnalyticsPresenter]] = []

    def make(*, interval_ms: int = 0) -> AnalyticsPresenter:
        store = SettingsStore(tmp_path / "settings.json")
        store.save(DesktopSettings(server_url=fake_server.url))
        backend = SecureMemoryKeyring()
        session = SessionPresenter(QtSettingsStore(store), token_store_factory=lambda: KeyringTokenStore(backend))
        presenter = AnalyticsPresenter(session, recorder=AnalyticsRecorder(), interval_ms=interval_ms)
        made.append((session, presenter))
        session.start()
        return presenter

    yield make
    for session, presenter in made:
        presenter.shutdown()
        session.shutdown()


def session_of(presenter: AnalyticsPresenter) -> SessionPresenter:
    session = presenter._session
    assert isinstance(session, SessionPresenter)
    return session


def sign_in(qtbot: QtBot, presenter: AnalyticsPresenter) -> None:
    session = session_of(presenter)
    qtbot.waitUntil(lambda: session.ready, timeout=TIMEOUT_MS)
    with qtbot.wait_signal(session.signed_in, timeout=TIMEOUT_MS):
        session.sign_in("ada@example.com", PASSWORD)


def send_and_wait(qtbot: QtBot, presenter: AnalyticsPresenter) -> None:
    """Ask for a send now and wait until nothing is on its way any more."""
    presenter.batch_sender.send_now()
    qtbot.waitUntil(lambda: not presenter.batch_sender.busy, timeout=TIMEOUT_MS)


def event_names(batch: dict[str, object]) -> list[str]:
    events = batch["events"]
    assert isinstance(events, list)
    return [event["name"] for event in events]


def test_signed_in_with_the_switch_on_a_batch_goes_out_with_exactly_the_contract_fields(
    qtbot: QtBot, make_app: MakeApp, fake_server: FakeServer
) -> None:
    fake_server.add_account(password=PASSWORD)
    presenter = make_app()
    presenter.record(EventName.APP_STARTED)  # before sign-in: kept, not sent
    sign_in(qtbot, presenter)
    presenter.record(EventName.BOXES_REDACTED, 2)

    with qtbot.wait_signal(presenter.batch_sender.sent, timeout=TIMEOUT_MS) as sent:
        presenter.batch_sender.send_now()

    (batch,) = fake_server.analytics_batches
    assert sent.args == [2, 2]  # accepted, of sent
    assert set(batch) == BATCH_KEYS
    assert all(set(event) == EVENT_KEYS for event in batch["events"])
    assert batch["session_id"] == str(presenter.recorder.session_id)
    assert event_names(batch) == ["app_started", "boxes_redacted"]
    account = fake_server.account("ada@example.com")
    assert account.id not in str(batch)
    assert "ada@example.com" not in str(batch)  # not "ada": a random session id's hex may hold those letters
    assert presenter.recorder.pending == []
    send_and_wait(qtbot, presenter)
    assert fake_server.hits("analytics") == 1  # delivered once, never again


def test_the_timer_sends_on_its_own(qtbot: QtBot, make_app: MakeApp, fake_server: FakeServer) -> None:
    fake_server.add_account(password=PASSWORD)
    presenter = make_app(interval_ms=50)
    sign_in(qtbot, presenter)

    presenter.record(EventName.QUESTION_ASKED)

    qtbot.waitUntil(lambda: len(fake_server.analytics_batches) == 1, timeout=TIMEOUT_MS)
    assert event_names(fake_server.analytics_batches[0]) == ["question_asked"]


def test_an_account_that_objected_sends_nothing_and_keeps_nothing(
    qtbot: QtBot, make_app: MakeApp, fake_server: FakeServer
) -> None:
    fake_server.add_account(password=PASSWORD).analytics = False
    presenter = make_app(interval_ms=50)
    presenter.record(EventName.APP_STARTED)
    assert len(presenter.recorder.pending) == 1  # not known yet whose app this is

    sign_in(qtbot, presenter)
    presenter.record(EventName.QUESTION_ASKED)
    send_and_wait(qtbot, presenter)
    qtbot.wait(200)  # a few timer periods

    assert presenter.recorder.pending == []
    assert not presenter.batch_sender.active
    assert fake_server.hits("analytics") == 0


def test_turning_the_switch_off_drops_what_is_pending_and_on_again_sends_what_follows(
    qtbot: QtBot, make_app: MakeApp, fake_server: FakeServer
) -> None:
    fake_server.add_account(password=PASSWORD)
    presenter = make_app()
    sign_in(qtbot, presenter)
    session = session_of(presenter)
    runner = TaskRunner()
    account = AccountPresenter(lambda: session.client, runner=runner)
    account.switch_changed.connect(presenter.on_switch)  # as the Account window's presenter is wired
    presenter.record(EventName.FIXED)

    with qtbot.wait_signal(account.switch_changed, timeout=TIMEOUT_MS, check_params_cb=lambda k, on: not on):
        account.refresh()
        qtbot.waitUntil(lambda: account.profile is not None, timeout=TIMEOUT_MS)
        account.set_switch("analytics", False)
    presenter.record(EventName.STILL_BROKEN)
    send_and_wait(qtbot, presenter)

    assert presenter.recorder.pending == []
    assert fake_server.hits("analytics") == 0
    with qtbot.wait_signal(account.switch_changed, timeout=TIMEOUT_MS, check_params_cb=lambda k, on: on):
        account.set_switch("analytics", True)
    presenter.record(EventName.FOLLOW_UP)
    send_and_wait(qtbot, presenter)
    assert [event_names(b) for b in fake_server.analytics_batches] == [["follow_up"]]
    runner.shutdown()


def test_an_objection_made_on_another_device_stops_sending_once_the_server_stores_nothing(
    qtbot: QtBot, make_app: MakeApp, fake_server: FakeServer
) -> None:
    account = fake_server.add_account(password=PASSWORD)
    presenter = make_app(interval_ms=50)
    sign_in(qtbot, presenter)
    presenter.record(EventName.APP_STARTED)
    account.analytics = False  # switched off elsewhere: this app still believes it is on

    qtbot.waitUntil(lambda: presenter.recorder.allowed is False, timeout=TIMEOUT_MS)
    presenter.record(EventName.QUESTION_ASKED)
    qtbot.wait(200)  # a few timer periods

    assert fake_server.hits("analytics") == 1
    assert fake_server.analytics_batches == []
    assert presenter.recorder.pending == []
    assert not presenter.batch_sender.active


@pytest.mark.parametrize("failure", ["unavailable", "too_frequent", "unreachable"])
def test_a_transient_failure_keeps_the_batch_and_it_is_delivered_once_later(
    qtbot: QtBot, make_app: MakeApp, fake_server: FakeServer, failure: str
) -> None:
    fake_server.add_account(password=PASSWORD)
    presenter = make_app()
    sign_in(qtbot, presenter)
    presenter.record(EventName.APP_STARTED)
    presenter.record(EventName.ANSWER_RECEIVED, 1234)
    if failure == "unavailable":
        fake_server.fail("analytics", 503, "service_unavailable")
    elif failure == "too_frequent":
        fake_server.fail("analytics", 429, "rate_limited", headers=(("Retry-After", "60"),))
    else:
        fake_server.stop()

    send_and_wait(qtbot, presenter)

    assert [(e.name.value, e.value) for e in presenter.recorder.pending] == [
        ("app_started", None),
        ("answer_received", 1234),
    ]
    fake_server.heal("analytics")
    fake_server.start()
    presenter.record(EventName.FIXED)
    send_and_wait(qtbot, presenter)
    assert [event_names(b) for b in fake_server.analytics_batches] == [["app_started", "answer_received", "fixed"]]
    assert presenter.recorder.pending == []


def test_a_batch_the_server_refuses_for_good_is_dropped_and_later_events_still_go(
    qtbot: QtBot, make_app: MakeApp, fake_server: FakeServer
) -> None:
    fake_server.add_account(password=PASSWORD)
    presenter = make_app()
    sign_in(qtbot, presenter)
    presenter.record(EventName.APP_STARTED)
    fake_server.fail("analytics", 422, "validation_error")

    send_and_wait(qtbot, presenter)
    fake_server.heal("analytics")
    presenter.record(EventName.FIXED)
    send_and_wait(qtbot, presenter)

    assert [event_names(b) for b in fake_server.analytics_batches] == [["fixed"]]


def test_many_events_go_in_batches_of_two_hundred_one_after_the_other(
    qtbot: QtBot, make_app: MakeApp, fake_server: FakeServer
) -> None:
    fake_server.add_account(password=PASSWORD)
    presenter = make_app()
    sign_in(qtbot, presenter)
    for _ in range(450):
        presenter.record(EventName.QUESTION_ASKED)

    presenter.batch_sender.send_now()

    qtbot.waitUntil(lambda: len(fake_server.analytics_batches) == 3, timeout=TIMEOUT_MS)
    assert [len(event_names(b)) for b in fake_server.analytics_batches] == [200, 200, 50]


def test_signed_out_nothing_is_sent_and_the_events_wait_for_an_account_that_allows_it(
    qtbot: QtBot, make_app: MakeApp, fake_server: FakeServer
) -> None:
    fake_server.add_account(password=PASSWORD)
    presenter = make_app()
    sign_in(qtbot, presenter)
    session_of(presenter).sign_out(clear_queue=False)
    qtbot.waitUntil(lambda: fake_server.logouts == 1, timeout=TIMEOUT_MS)

    presenter.record(EventName.APP_STARTED)
    send_and_wait(qtbot, presenter)

    assert fake_server.hits("analytics") == 0
    assert presenter.recorder.allowed is None
    sign_in(qtbot, presenter)
    send_and_wait(qtbot, presenter)
    assert [event_names(b) for b in fake_server.analytics_batches] == [["app_started"]]


def test_an_ended_session_keeps_the_batch_and_asks_for_sign_in(
    qtbot: QtBot, make_app: MakeApp, fake_server: FakeServer
) -> None:
    fake_server.add_account(password=PASSWORD)
    presenter = make_app()
    sign_in(qtbot, presenter)
    presenter.record(EventName.APP_STARTED)
    fake_server.revoke_all()
    session = session_of(presenter)

    with qtbot.wait_signal(session.signed_out, timeout=TIMEOUT_MS):
        presenter.batch_sender.send_now()

    assert [e.name.value for e in presenter.recorder.pending] == ["app_started"]
    assert not presenter.batch_sender.active


def test_quit_sends_what_is_pending_once_more(qtbot: QtBot, make_app: MakeApp, fake_server: FakeServer) -> None:
    fake_server.add_account(password=PASSWORD)
    presenter = make_app()
    sign_in(qtbot, presenter)
    presenter.record(EventName.OFFLINE_QUEUED)

    presenter.shutdown()

    assert [event_names(b) for b in fake_server.analytics_batches] == [["offline_queued"]]
    assert not presenter.batch_sender.active


def test_quit_does_not_wait_long_for_a_server_that_does_not_answer(
    qtbot: QtBot, make_app: MakeApp, fake_server: FakeServer
) -> None:
    fake_server.add_account(password=PASSWORD)
    presenter = make_app()
    sign_in(qtbot, presenter)
    presenter.record(EventName.APP_STARTED)
    fake_server.set_delay(30, "analytics")
    began = time.monotonic()

    presenter.shutdown()

    assert time.monotonic() - began < 2  # 1.5 s at most, then quit goes on
    assert fake_server.hits("analytics") == 1
    fake_server.stop()  # ends the delayed answer, so the request in the pool ends too


def test_quit_with_nothing_pending_still_tells_how_long_the_app_ran(
    qtbot: QtBot, make_app: MakeApp, fake_server: FakeServer
) -> None:
    fake_server.add_account(password=PASSWORD)
    presenter = make_app()
    sign_in(qtbot, presenter)
    presenter.record(EventName.APP_STARTED)
    send_and_wait(qtbot, presenter)

    presenter.shutdown()

    first, last = fake_server.analytics_batches
    assert last["events"] == []
    assert last["session_id"] == first["session_id"]
    assert last["session_seconds"] >= first["session_seconds"]
