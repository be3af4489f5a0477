"""TrayPresenter against a real local HTTP server, offscreen."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from desktop.core.health import ServerState
from desktop.presenters.tray_presenter import CHECKING_TEXT, TrayAction, TrayPresenter
from desktop.services.health_worker import HealthChecker

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from tests.fixtures.fake_server import FakeServer

SIGNAL_TIMEOUT_MS = 5000

MakePresenter = Callable[..., TrayPresenter]


@pytest.fixture
def make_presenter(qapp: object) -> Iterator[MakePresenter]:
    """Build presenters on real checkers; stop them and wait for their worker threads afterwards."""
    made: list[tuple[TrayPresenter, HealthChecker]] = []

    def make(url: str, *, interval_ms: int = 60_000) -> TrayPresenter:
        checker = HealthChecker(url)
        presenter = TrayPresenter(checker, interval_ms=interval_ms)
        made.append((presenter, checker))
        return presenter

    yield make
    for presenter, checker in made:
        presenter.stop()
        checker.shutdown()


def test_before_the_first_check_it_says_checking(make_presenter: MakePresenter, fake_server: FakeServer) -> None:
    presenter = make_presenter(fake_server.url)

    assert presenter.status_text == CHECKING_TEXT
    assert presenter.status is None
    assert presenter.status_detail == f"Checking {fake_server.url}…"
    assert fake_server.hits("health") == 0


def test_a_healthy_server_reads_connected(qtbot: QtBot, make_presenter: MakePresenter, fake_server: FakeServer) -> None:
    presenter = make_presenter(fake_server.url)

    with qtbot.wait_signal(presenter.status_changed, timeout=SIGNAL_TIMEOUT_MS) as blocker:
        presenter.start()

    assert blocker.args == ["Server: Connected"]
    assert presenter.status_text == "Server: Connected"
    assert presenter.status_detail == f"Connected to {fake_server.url}"


def test_a_server_without_its_database_reads_not_ready(
    qtbot: QtBot, make_presenter: MakePresenter, fake_server: FakeServer
) -> None:
    fake_server.respond("health", 503, {"status": "degraded", "database": "down"})
    presenter = make_presenter(fake_server.url)

    with qtbot.wait_signal(presenter.status_changed, timeout=SIGNAL_TIMEOUT_MS) as blocker:
        presenter.refresh()

    assert blocker.args == ["Server: Not ready"]
    assert presenter.status_detail == "Server is starting or its database is down"


def test_a_closed_port_reads_offline(qtbot: QtBot, make_presenter: MakePresenter, closed_port_url: str) -> None:
    presenter = make_presenter(closed_port_url)

    with qtbot.wait_signal(presenter.status_changed, timeout=SIGNAL_TIMEOUT_MS) as blocker:
        presenter.refresh()

    assert blocker.args == ["Server: Offline"]
    assert presenter.status is not None
    assert presenter.status.state is ServerState.UNREACHABLE
    assert presenter.status_detail == f"Cannot reach {closed_port_url} — is the server running?"


def test_refresh_follows_the_server_from_up_to_down_and_back(
    qtbot: QtBot, make_presenter: MakePresenter, fake_server: FakeServer
) -> None:
    presenter = make_presenter(fake_server.url)
    seen: list[str] = []
    presenter.status_changed.connect(seen.append)  # emitted in the GUI thread, so a plain callable is fine

    for status, body in [(200, {"status": "ok"}), (503, {"status": "degraded"}), (200, {"status": "ok"})]:
        fake_server.respond("health", status, body)
        with qtbot.wait_signal(presenter.status_changed, timeout=SIGNAL_TIMEOUT_MS):
            presenter.refresh()

    assert seen == ["Server: Connected", "Server: Not ready", "Server: Connected"]


def test_an_unchanged_status_is_not_announced_again(qtbot: QtBot, qapp: object, fake_server: FakeServer) -> None:
    checker = HealthChecker(fake_server.url)
    presenter = TrayPresenter(checker)
    try:
        with qtbot.wait_signal(presenter.status_changed, timeout=SIGNAL_TIMEOUT_MS):
            presenter.refresh()

        with (
            qtbot.assert_not_emitted(presenter.status_changed, wait=100),
            qtbot.wait_signal(checker.checked, timeout=SIGNAL_TIMEOUT_MS),
        ):
            presenter.refresh()
    finally:
        checker.shutdown()

    assert fake_server.hits("health") == 2


def test_clicks_during_a_running_check_do_not_pile_up(
    qtbot: QtBot, make_presenter: MakePresenter, fake_server: FakeServer
) -> None:
    fake_server.set_delay(0.3, "health")
    presenter = make_presenter(fake_server.url)

    with qtbot.wait_signal(presenter.status_changed, timeout=SIGNAL_TIMEOUT_MS):
        for _ in range(5):
            presenter.refresh()
    qtbot.wait(100)

    assert fake_server.hits("health") == 1


def test_start_checks_at_once_and_then_periodically(
    qtbot: QtBot, make_presenter: MakePresenter, fake_server: FakeServer
) -> None:
    presenter = make_presenter(fake_server.url, interval_ms=100)

    presenter.start()
    qtbot.waitUntil(lambda: fake_server.hits("health") >= 3, timeout=SIGNAL_TIMEOUT_MS)
    presenter.stop()
    # Let a check that was already running finish before counting.
    qtbot.wait(300)
    settled = fake_server.hits("health")
    qtbot.wait(400)

    assert fake_server.hits("health") == settled


def test_the_menu_entries_are_in_the_documented_order() -> None:
    assert [a.value for a in TrayAction] == [
        "Ask for help",
        "Capture screen & ask",
        "Capture region & ask",
        "My tickets",
        "Subscription",
        "Account",
        "Settings",
        "Sign out",
        "Quit",
    ]


def test_an_entry_that_needs_an_account_asks_for_sign_in_then_runs(
    make_presenter: MakePresenter, closed_port_url: str
) -> None:
    presenter = make_presenter(closed_port_url)
    calls: list[str] = []
    presenter.bind(TrayAction.ASK, lambda: calls.append("chat"), needs_account=True)
    presenter.bind(TrayAction.SETTINGS, lambda: calls.append("settings"))
    presenter.set_sign_in_handler(lambda: calls.append("sign-in"))

    presenter.trigger(TrayAction.SETTINGS)
    presenter.trigger(TrayAction.ASK)
    assert calls == ["settings", "sign-in"]

    presenter.set_signed_in(True)
    assert calls == ["settings", "sign-in", "chat"]
    presenter.trigger(TrayAction.ASK)
    assert calls[-1] == "chat"
    assert calls.count("sign-in") == 1


def test_closing_the_sign_in_dialog_forgets_the_waiting_entry(
    make_presenter: MakePresenter, closed_port_url: str
) -> None:
    presenter = make_presenter(closed_port_url)
    calls: list[str] = []
    presenter.bind(TrayAction.SUBSCRIPTION, lambda: calls.append("subscription"), needs_account=True)
    presenter.set_sign_in_handler(lambda: calls.append("sign-in"))

    presenter.trigger(TrayAction.SUBSCRIPTION)
    presenter.cancel_pending()
    presenter.set_signed_in(True)

    assert calls == ["sign-in"]


def test_network_state_follows_the_last_check(
    qtbot: QtBot, make_presenter: MakePresenter, closed_port_url: str
) -> None:
    presenter = make_presenter(closed_port_url)
    assert presenter.network_state is None

    with qtbot.wait_signal(presenter.status_changed, timeout=SIGNAL_TIMEOUT_MS):
        presenter.refresh()

    assert presenter.network_state == "offline"


def test_switching_to_another_server_checks_that_one(
    qtbot: QtBot, make_presenter: MakePresenter, closed_port_url: str, fake_server: FakeServer
) -> None:
    presenter = make_presenter(closed_port_url)
    with qtbot.wait_signal(presenter.status_changed, timeout=SIGNAL_TIMEOUT_MS):
        presenter.start()
    new_checker = HealthChecker(fake_server.url)
    try:
        with qtbot.wait_signal(
            presenter.status_changed, timeout=SIGNAL_TIMEOUT_MS, check_params_cb=lambda t: t == "Server: Connected"
        ):
            presenter.set_checker(new_checker)
        assert presenter.server_url == fake_server.url
    finally:
        presenter.stop()
        new_checker.shutdown()


def test_clicking_a_notification_does_what_it_offers_once(
    make_presenter: MakePresenter, fake_server: FakeServer
) -> None:
    presenter = make_presenter(fake_server.url)
    shown: list[tuple[str, str]] = []
    opened: list[str] = []
    presenter.notification.connect(lambda title, text: shown.append((title, text)))

    presenter.notify("Your data is ready", "Save it from Account.", on_click=lambda: opened.append("data"))
    presenter.notification_clicked()
    presenter.notification_clicked()

    assert shown == [("Your data is ready", "Save it from Account.")]
    assert opened == ["data"]


def test_a_click_belongs_to_the_latest_notification(make_presenter: MakePresenter, fake_server: FakeServer) -> None:
    presenter = make_presenter(fake_server.url)
    opened: list[str] = []
    presenter.notify("Your data is ready", "Save it from Account.", on_click=lambda: opened.append("data"))

    presenter.notify("Question sent", "A question you asked while offline has reached support.")
    presenter.notification_clicked()

    assert opened == []
