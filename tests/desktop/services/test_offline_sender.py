"""OfflineSender against the fake tickets API: queued questions arrive once, whatever drains and however often."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from desktop.core.api import ApiClient, Ticket
from desktop.core.auth import MemoryTokenStore, StoredTokens
from desktop.core.health import ServerState, ServerStatus
from desktop.core.offline_queue import DrainResult, OfflineQueue
from desktop.core.question import Attachment, Question
from desktop.services.offline_sender import OfflineSender
from tests.fixtures.fake_server import ACCOUNT, FakeServer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pytestqt.qtbot import QtBot

WAIT_MS = 5000
ONLINE = ServerStatus(ServerState.ONLINE, "Connected")
OFFLINE = ServerStatus(ServerState.UNREACHABLE, "Cannot reach")


@pytest.fixture
def queue(tmp_path: Path, fake_server: FakeServer) -> OfflineQueue:
    return OfflineQueue(tmp_path / "outbox", fake_server.url, ACCOUNT)


def make_sender(queue: OfflineQueue, api: ApiClient) -> OfflineSender:
    return OfflineSender(queue, lambda question, key: api.create_ticket(question, idempotency_key=key), interval_ms=0)


@pytest.fixture
def sender(qtbot: QtBot, queue: OfflineQueue, signed_in_client: ApiClient) -> Iterator[OfflineSender]:
    sender = make_sender(queue, signed_in_client)
    try:
        yield sender
    finally:
        sender.stop()


def test_a_drain_started_twice_sends_each_question_once(
    qtbot: QtBot, sender: OfflineSender, queue: OfflineQueue, fake_server: FakeServer
) -> None:
    # GIVEN two questions queued while offline, one with a screenshot
    shot = Attachment("s.png", b"\x89PNG\r\n\x1a\nfake", "image/png")
    first = queue.enqueue(Question("Wi-Fi down", (shot,)))
    second = queue.enqueue(Question("Printer offline"))

    # WHEN the timer and a health change both start a drain
    with qtbot.wait_signal(sender.drained, timeout=WAIT_MS):
        sender.drain()
        sender.drain()
    qtbot.waitUntil(lambda: not sender.busy, timeout=WAIT_MS)

    # THEN each question was sent once, with the key it was queued with
    posts = fake_server.requests_to("POST", "/api/v1/tickets")
    assert [p.headers["Idempotency-Key"] for p in posts] == [first.idempotency_key, second.idempotency_key]
    assert [t.description for t in fake_server.tickets] == ["Wi-Fi down", "Printer offline"]
    assert fake_server.tickets[0].screenshots == [("s.png", "image/png", shot.data)]
    assert len(queue) == 0


def test_two_apps_draining_the_same_queue_make_one_ticket_per_question(
    qtbot: QtBot, tmp_path: Path, fake_server: FakeServer, signed_in_client: ApiClient
) -> None:
    # GIVEN the same on-disk queue opened twice (e.g. two app instances of one account), with a slow server
    queue_a = OfflineQueue(tmp_path / "outbox", fake_server.url, ACCOUNT)
    queue_b = OfflineQueue(tmp_path / "outbox", fake_server.url, ACCOUNT)
    entries = [queue_a.enqueue(Question(f"Question {n}")) for n in range(3)]
    fake_server.set_delay(0.1, "create")
    senders = [make_sender(queue_a, signed_in_client), make_sender(queue_b, signed_in_client)]

    # WHEN both drain at once
    try:
        with qtbot.wait_signals([s.drained for s in senders], timeout=WAIT_MS):
            for s in senders:
                s.drain()
    finally:
        for s in senders:
            s.stop()

    # THEN a question sent by both still became one ticket: the Idempotency-Key made the resend harmless
    assert sorted(t.idempotency_key for t in fake_server.tickets) == sorted(e.idempotency_key for e in entries)
    assert len(queue_a) == 0


def test_health_turning_ok_drains_and_reports_each_ticket(
    qtbot: QtBot, sender: OfflineSender, queue: OfflineQueue, fake_server: FakeServer
) -> None:
    entry = queue.enqueue(Question("Disk full"))
    sent: list[tuple[str, Ticket]] = []
    sender.sent.connect(lambda e, t: sent.append((e.entry_id, t)))  # emitted in the GUI thread: a lambda is fine

    sender.on_health(OFFLINE)
    assert not sender.busy
    with qtbot.wait_signal(sender.drained, timeout=WAIT_MS):
        sender.on_health(ONLINE)
    qtbot.waitUntil(lambda: not sender.busy, timeout=WAIT_MS)  # the worker's `finished` arrives after `drained`
    sender.on_health(ONLINE)  # still online: no new drain

    assert [entry_id for entry_id, _ in sent] == [entry.entry_id]
    assert str(sent[0][1].id) == fake_server.tickets[0].id
    assert not sender.busy


def test_a_server_still_down_keeps_everything_queued(
    qtbot: QtBot, sender: OfflineSender, queue: OfflineQueue, fake_server: FakeServer
) -> None:
    queue.enqueue(Question("Laptop slow"))
    fake_server.stop()

    with qtbot.wait_signal(sender.drained, timeout=WAIT_MS) as drained:
        sender.drain()

    result: DrainResult[Ticket] = drained.args[0]
    assert result.stopped_by is not None
    assert result.stopped_by.code == "server_unreachable"
    assert len(queue.pending()) == 1

    # and once the server is back, the timer's next drain sends it
    fake_server.start()
    with qtbot.wait_signal(sender.drained, timeout=WAIT_MS):
        sender.drain()
    assert len(fake_server.tickets) == 1
    assert len(queue) == 0


def test_a_refused_question_stays_for_the_user(
    qtbot: QtBot, sender: OfflineSender, queue: OfflineQueue, fake_server: FakeServer
) -> None:
    queue.enqueue(Question("Too big"))
    fake_server.fail("create", 413, "body_too_large")

    with qtbot.wait_signal(sender.refused, timeout=WAIT_MS) as refused:
        sender.drain()

    assert refused.args[0].failed_code == "body_too_large"
    assert queue.pending() == []
    (kept,) = queue.entries()
    assert kept.failed_message == "The screenshots are too large to send. Remove one or capture a smaller region."


def test_an_ended_session_asks_for_sign_in_and_keeps_the_queue(
    qtbot: QtBot, queue: OfflineQueue, fake_server: FakeServer
) -> None:
    queue.enqueue(Question("VPN"))
    store = MemoryTokenStore()
    store.save(fake_server.url, ACCOUNT, StoredTokens("revoked", "revoked"))
    with ApiClient(fake_server.url, tokens=store, account=ACCOUNT) as api:
        sender = make_sender(queue, api)
        try:
            with qtbot.wait_signal(sender.sign_in_required, timeout=WAIT_MS):
                sender.drain()
        finally:
            sender.stop()

    assert len(queue.pending()) == 1
    assert fake_server.tickets == []


def test_start_drains_now_and_then_on_the_timer(
    qtbot: QtBot, queue: OfflineQueue, fake_server: FakeServer, signed_in_client: ApiClient
) -> None:
    sender = OfflineSender(queue, lambda q, key: signed_in_client.create_ticket(q, idempotency_key=key), interval_ms=50)
    try:
        with qtbot.wait_signal(sender.drained, timeout=WAIT_MS):
            sender.start()
        queue.enqueue(Question("Queued later"))
        qtbot.waitUntil(lambda: len(fake_server.tickets) == 1, timeout=WAIT_MS)
    finally:
        sender.stop()
