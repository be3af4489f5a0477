"""Workers over real sockets: events arrive in order in the GUI thread, cancel is quiet, failures are ApiErrors."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QObject, QThread, QTimer, Slot
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.core.api import ApiClient, ApiError, Citation, DoneEvent, ErrorEvent, QuotaExceeded, TriageEvent
from desktop.core.question import Question
from desktop.services.workers import CallWorker, StreamWorker, WorkerPool
from tests.fixtures.desktop_server import Gate, Pause, Sse, TicketServer, answer_script

WAIT_MS = 5000
CITATION = {"number": 1, "article_id": "a", "source_id": None, "title": "T", "source_url": "https://example.com/t"}


class Recorder(QObject):
    """Receives every worker signal in bound slots (as presenters do) and notes the thread each ran in."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, Any]] = []
        self.threads: set[QThread] = set()

    def bind(self, worker: StreamWorker | CallWorker[Any]) -> None:
        if isinstance(worker, StreamWorker):
            for name in ("triage", "citation", "delta", "notice", "done"):
                getattr(worker, name).connect(getattr(self, f"on_{name}"))
            worker.opened.connect(self.on_opened)
        else:
            worker.succeeded.connect(self.on_succeeded)
        worker.failed.connect(self.on_failed)
        worker.finished.connect(self.on_finished)

    def _note(self, name: str, value: Any = None) -> None:
        self.events.append((name, value))
        self.threads.add(QThread.currentThread())

    @Slot()
    def on_opened(self) -> None:
        self._note("opened")

    @Slot(object)
    def on_triage(self, event: TriageEvent) -> None:
        self._note("triage", event.category)

    @Slot(object)
    def on_citation(self, event: Citation) -> None:
        self._note("citation", event.number)

    @Slot(str)
    def on_delta(self, text: str) -> None:
        self._note("delta", text)

    @Slot(object)
    def on_notice(self, event: ErrorEvent) -> None:
        self._note("notice", event.code)

    @Slot(object)
    def on_done(self, event: DoneEvent) -> None:
        self._note("done")

    @Slot(object)
    def on_succeeded(self, result: object) -> None:
        self._note("succeeded", result)

    @Slot(object)
    def on_failed(self, error: ApiError) -> None:
        self._note("failed", error)

    @Slot()
    def on_finished(self) -> None:
        self._note("finished")

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.events]


@pytest.fixture
def pool(qapp: QApplication) -> Iterator[WorkerPool]:
    pool = WorkerPool()
    try:
        yield pool
    finally:
        pool.wait()


@pytest.fixture
def ticket_id(ticket_api: ApiClient) -> str:
    return str(ticket_api.create_ticket(Question("Broken")).id)


def test_stream_events_arrive_in_order_in_the_gui_thread(
    qtbot: QtBot, pool: WorkerPool, ticket_api: ApiClient, ticket_server: TicketServer, ticket_id: str
) -> None:
    ticket_server.script_resolve(answer_script("a", "b", "c", citations=[CITATION], notice="model down"))
    worker, recorder = StreamWorker(lambda: ticket_api.resolve(ticket_id)), Recorder()
    recorder.bind(worker)

    with qtbot.wait_signal(worker.finished, timeout=WAIT_MS):
        worker.start(pool)
    qtbot.waitUntil(lambda: "finished" in recorder.names, timeout=WAIT_MS)

    assert recorder.events == [
        ("opened", None),
        ("triage", "network"),
        ("citation", 1),
        ("notice", "model_unavailable"),
        ("delta", "a"),
        ("delta", "b"),
        ("delta", "c"),
        ("done", None),
        ("finished", None),
    ]
    gui = QApplication.instance()
    assert gui is not None
    assert recorder.threads == {gui.thread()}


def test_cancel_ends_the_stream_quietly_and_closes_the_connection(
    qtbot: QtBot, pool: WorkerPool, ticket_api: ApiClient, ticket_server: TicketServer, ticket_id: str
) -> None:
    gate = threading.Event()
    ticket_server.script_resolve([Sse("delta", {"text": "one"}), Gate(gate), Sse("delta", {"text": "two"})])
    worker, recorder = StreamWorker(lambda: ticket_api.resolve(ticket_id)), Recorder()
    recorder.bind(worker)
    worker.start(pool)
    qtbot.waitUntil(lambda: "delta" in recorder.names, timeout=WAIT_MS)

    started = time.monotonic()
    worker.cancel()
    qtbot.waitUntil(lambda: "finished" in recorder.names, timeout=WAIT_MS)
    gate.set()

    assert time.monotonic() - started < 2  # not the server's 10 s gate: the connection was closed under the reader
    assert recorder.names == ["opened", "delta", "finished"]
    assert worker.is_cancelled()


def test_a_refused_stream_fails_with_the_typed_error_before_any_event(
    qtbot: QtBot, pool: WorkerPool, ticket_api: ApiClient, ticket_server: TicketServer, ticket_id: str
) -> None:
    ticket_server.fail("resolve", 402, "quota_exceeded", plan="free", quota=3, upgrade_plans=["pro"])
    worker, recorder = StreamWorker(lambda: ticket_api.resolve(ticket_id)), Recorder()
    recorder.bind(worker)

    with qtbot.wait_signal(worker.finished, timeout=WAIT_MS):
        worker.start(pool)
    qtbot.waitUntil(lambda: "finished" in recorder.names, timeout=WAIT_MS)

    assert recorder.names == ["failed", "finished"]
    error = recorder.events[0][1]
    assert isinstance(error, QuotaExceeded)
    assert error.upgrade_plans == ["pro"]


def test_a_slow_server_does_not_freeze_the_event_loop(
    qtbot: QtBot, pool: WorkerPool, ticket_api: ApiClient, ticket_server: TicketServer, ticket_id: str
) -> None:
    ticket_server.script_resolve([Pause(0.6), Sse("delta", {"text": "late"}), Sse("done", {})])
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    worker, recorder = StreamWorker(lambda: ticket_api.resolve(ticket_id)), Recorder()
    recorder.bind(worker)

    worker.start(pool)
    qtbot.waitUntil(lambda: "finished" in recorder.names, timeout=WAIT_MS)
    timer.stop()

    assert recorder.names[-3:] == ["delta", "done", "finished"]
    assert len(ticks) >= 10  # ~30 ticks in 0.6 s; a blocked GUI thread would give none
    assert max(b - a for a, b in itertools.pairwise(ticks)) < 0.3


def test_call_worker_delivers_results_and_errors_as_words(
    qtbot: QtBot, pool: WorkerPool, ticket_api: ApiClient, ticket_server: TicketServer
) -> None:
    ok, recorder = CallWorker(ticket_api.list_tickets), Recorder()
    recorder.bind(ok)
    with qtbot.wait_signal(ok.finished, timeout=WAIT_MS):
        ok.start(pool)

    ticket_server.fail("list", 404, "not_found")
    refused, refused_recorder = CallWorker(ticket_api.list_tickets), Recorder()
    refused_recorder.bind(refused)
    with qtbot.wait_signal(refused.finished, timeout=WAIT_MS):
        refused.start(pool)

    def bug() -> None:
        raise KeyError("oops")

    broken, broken_recorder = CallWorker(bug), Recorder()
    broken_recorder.bind(broken)
    with qtbot.wait_signal(broken.finished, timeout=WAIT_MS):
        broken.start(pool)
    qtbot.waitUntil(lambda: "finished" in broken_recorder.names, timeout=WAIT_MS)

    assert recorder.names == ["succeeded", "finished"]
    assert refused_recorder.names == ["failed", "finished"]
    assert refused_recorder.events[0][1].message == "We couldn't find that — it may have been removed."
    error = broken_recorder.events[0][1]
    assert error.code == "client_error"
    assert "Your text is kept" in error.message
