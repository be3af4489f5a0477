"""The events stream worker against a real local HTTP server: notifications, reconnects, revoked sessions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from desktop.core.api import ApiClient, TicketChanged
from desktop.core.api.models import FieldChange
from desktop.core.auth import MemoryTokenStore, StoredTokens
from desktop.services.events_worker import EventsWorker, backoff_delays, describe_change

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pytestqt.qtbot import QtBot

    from tests.fixtures.fake_server import FakeServer

TIMEOUT_MS = 5000


@pytest.fixture
def worker(qapp: object, signed_in_client: ApiClient) -> Iterator[EventsWorker]:
    """A worker with a fast backoff; stopped after the test."""
    worker = EventsWorker(signed_in_client, delays=lambda _healthy: 0.05)
    yield worker
    worker.stop()


def test_an_agent_reply_becomes_a_notification() -> None:
    change = TicketChanged(ticket_id="t1", kind="message", role="agent", preview="Try  restarting\nthe spooler.")

    assert describe_change(change) == ("New reply from support", "Try restarting the spooler.")


def test_a_status_change_becomes_a_notification_and_own_messages_do_not() -> None:
    escalated = TicketChanged(ticket_id="t1", kind="changed", changes=[FieldChange("status", "open", "escalated")])

    assert describe_change(escalated) == ("Ticket update", "Your ticket was passed to a support agent.")
    assert describe_change(TicketChanged(ticket_id="t1", kind="message", role="assistant", preview="x")) is None
    assert describe_change(TicketChanged(ticket_id="t1", kind="created")) is None


def test_backoff_doubles_up_to_the_maximum_and_resets_after_a_good_connection() -> None:
    delay = backoff_delays(1.0, 8.0)

    assert [delay(False) for _ in range(5)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert delay(True) == 1.0


def test_events_arrive_as_signals_and_notifications(
    qtbot: QtBot, worker: EventsWorker, fake_server: FakeServer
) -> None:
    with qtbot.wait_signal(worker.connected, timeout=TIMEOUT_MS):
        worker.start()

    with qtbot.wait_signal(worker.notify, timeout=TIMEOUT_MS) as blocker:
        fake_server.push_event(
            "message", {"ticket_id": "t1", "kind": "message", "role": "agent", "preview": "On my way."}
        )

    assert blocker.args == ["New reply from support", "On my way."]


def test_a_closed_stream_is_reopened(qtbot: QtBot, worker: EventsWorker, fake_server: FakeServer) -> None:
    with qtbot.wait_signal(worker.connected, timeout=TIMEOUT_MS):
        worker.start()

    with qtbot.wait_signal(worker.connected, timeout=TIMEOUT_MS):
        fake_server.end_events_stream()

    assert fake_server.events_connections == 2
    with qtbot.wait_signal(worker.ticket_changed, timeout=TIMEOUT_MS) as blocker:
        fake_server.push_event("changed", {"ticket_id": "t2", "changes": [{"field": "status", "to": "resolved"}]})
    assert blocker.args[0].kind == "changed"


def test_a_revoked_session_stops_the_worker(qtbot: QtBot, worker: EventsWorker, fake_server: FakeServer) -> None:
    fake_server.revoke_all()

    with qtbot.wait_signal(worker.session_expired, timeout=TIMEOUT_MS):
        worker.start()

    qtbot.waitUntil(lambda: not worker.running, timeout=TIMEOUT_MS)


def test_stop_ends_an_open_stream_at_once(qtbot: QtBot, worker: EventsWorker) -> None:
    with qtbot.wait_signal(worker.connected, timeout=TIMEOUT_MS):
        worker.start()

    worker.stop()  # the server would hold the stream open for ever: only closing it ends the read

    assert not worker.running


def test_an_unreachable_server_is_retried(qapp: object, qtbot: QtBot, closed_port_url: str) -> None:
    client = ApiClient(closed_port_url, tokens=MemoryTokenStore(), account="someone")
    client._store.save(closed_port_url, "someone", StoredTokens("a", "r"))
    attempts: list[bool] = []

    def delay(healthy: bool) -> float:
        attempts.append(healthy)
        return 0.01

    worker = EventsWorker(client, delays=delay)
    try:
        worker.start()
        qtbot.waitUntil(lambda: len(attempts) >= 3, timeout=TIMEOUT_MS)
    finally:
        worker.stop()
        client.close()

    assert not any(attempts)
