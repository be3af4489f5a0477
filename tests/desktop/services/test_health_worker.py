"""Health checks over real sockets: ``fetch_health`` directly, and ``HealthChecker`` through its worker thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QObject, QThread, Slot

from desktop.core.health import ServerState, ServerStatus
from desktop.services.health_worker import HealthChecker, fetch_health

if TYPE_CHECKING:
    from collections.abc import Iterator

    from PySide6.QtWidgets import QApplication
    from pytestqt.qtbot import QtBot

    from tests.fixtures.fake_server import FakeServer


def test_fetch_health_of_a_healthy_server_is_online(fake_server: FakeServer) -> None:
    assert fetch_health(fake_server.url).state is ServerState.ONLINE
    assert fake_server.hits("health") == 1


def test_fetch_health_while_the_database_is_down_is_degraded(fake_server: FakeServer) -> None:
    fake_server.respond("health", 503, {"status": "degraded", "database": "down"})

    assert fetch_health(fake_server.url).state is ServerState.DEGRADED


def test_fetch_health_of_a_closed_port_is_unreachable(closed_port_url: str) -> None:
    assert fetch_health(closed_port_url).state is ServerState.UNREACHABLE


def test_fetch_health_gives_up_after_the_timeout(fake_server: FakeServer) -> None:
    fake_server.set_delay(1.0, "health")

    assert fetch_health(fake_server.url, timeout=0.2).state is ServerState.UNREACHABLE


class _Receiver(QObject):
    """Records results and the thread its slot ran in, as the presenter would receive them."""

    def __init__(self) -> None:
        super().__init__()
        self.results: list[ServerStatus] = []
        self.threads: list[QThread] = []

    @Slot(object)
    def receive(self, status: ServerStatus) -> None:
        self.results.append(status)
        self.threads.append(QThread.currentThread())


@pytest.fixture
def checker(qapp: object, fake_server: FakeServer) -> Iterator[HealthChecker]:
    checker = HealthChecker(fake_server.url)
    try:
        yield checker
    finally:
        checker.shutdown()


def test_checker_delivers_the_result_to_a_gui_thread_slot(
    qtbot: QtBot, qapp: QApplication, checker: HealthChecker, fake_server: FakeServer
) -> None:
    receiver = _Receiver()
    checker.checked.connect(receiver.receive)

    with qtbot.wait_signal(checker.checked, timeout=5000):
        checker.check()
    qtbot.waitUntil(lambda: len(receiver.results) == 1, timeout=5000)

    assert receiver.results[0].state is ServerState.ONLINE
    assert receiver.threads == [qapp.thread()]


def test_checker_rejects_a_bad_url(qapp: object) -> None:
    with pytest.raises(ValueError, match="http"):
        HealthChecker("localhost:8000")


def test_checker_normalizes_its_url(qapp: object) -> None:
    assert HealthChecker("http://127.0.0.1:8000/").server_url == "http://127.0.0.1:8000"
