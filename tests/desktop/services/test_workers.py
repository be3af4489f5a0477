"""Workers over real sockets: events arrive in order in the GUI thread, cancel is quiet, failures are ApiErrors."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import QObject, QThread, QTimer, Slot
from PySide6.QtWidgets import QApplication

from desktop.core.api import ApiClient, ApiError, Citation, DoneEvent, ErrorEvent, QuotaExceeded, TriageEvent
from desktop.core.question import Question
from desktop.services.workers import CallWorker, StreamWorker, WorkerPool
from tests.fixtures.fake_server import FakeServer, Gate, Sse, answer_script

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pytestqt.qtbot import QtBot

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
def ticket_id(signed_in_client: ApiClient) -> str:
    return str(signed_in_client.create_ticket(Question("Broken")).id)


def test_stream_events_arrive_in_order_in_the_gui_thread(
    qtbot: QtBot, pool: WorkerPool, signed_in_client: ApiClient, fake_server: FakeServer, ticket_id: str
) -> None:
    fake_server.script_resolve(answer_script("a", "b", "c", citations=[CITATION], notice="model down"))
    worker, recorder = StreamWorker(lambda: signed_in_client.resolve(ticket_id)), Recorder()
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
    qtbot: QtBot, pool: WorkerPool, signed_in_client: ApiClient, fake_server: FakeServer, ticket_id: str
) -> None:
    gate = threading.Event()
    fake_server.script_resolve([Sse("delta", {"text": "one"}), Gate(gate), Sse("delta", {"text": "two"})])
    worker, recorder = StreamWorker(lambda: signed_in_client.resolve(ticket_id)), Recorder()
    recorder.bind(worker)
    worker.start(pool)
    qtbot.waitUntil(lambda: "delta" in recorder.names, timeout=WAIT_MS)

    worker.cancel()
    # The server holds the gate for 10 s, longer than WAIT_MS: "finished" within WAIT_MS means the connection was
    # closed under the reader, not that the server went on.
    qtbot.waitUntil(lambda: "finished" in recorder.names, timeout=WAIT_MS)
    gate.set()

    assert recorder.names == ["opened", "delta", "finished"]
    assert worker.is_cancelled()


def test_a_refused_stream_fails_with_the_typed_error_before_any_event(
    qtbot: QtBot, pool: WorkerPool, signed_in_client: ApiClient, fake_server: FakeServer, ticket_id: str
) -> None:
    fake_server.fail("resolve", 402, "quota_exceeded", plan="free", quota=3, upgrade_plans=["pro"])
    worker, recorder = StreamWorker(lambda: signed_in_client.resolve(ticket_id)), Recorder()
    recorder.bind(worker)

    with qtbot.wait_signal(worker.finished, timeout=WAIT_MS):
        worker.start(pool)
    qtbot.waitUntil(lambda: "finished" in recorder.names, timeout=WAIT_MS)

    assert recorder.names == ["failed", "finished"]
    error = recorder.events[0][1]
    assert isinstance(error, QuotaExceeded)
    assert error.upgrade_plans == ["pro"]


def test_a_slow_server_does_not_freeze_the_event_loop(
    qtbot: QtBot, pool: WorkerPool, signed_in_client: ApiClient, fake_server: FakeServer, ticket_id: str
) -> None:
    gate = threading.Event()
    fake_server.script_resolve([Gate(gate), Sse("delta", {"text": "late"}), Sse("done", {})])
    worker, recorder = StreamWorker(lambda: signed_in_client.resolve(ticket_id)), Recorder()
    recorder.bind(worker)
    answered: list[bool] = []  # one entry per timer tick: had the answer begun?
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: answered.append("delta" in recorder.names))
    timer.start()

    worker.start(pool)
    qtbot.waitUntil(lambda: len(answered) >= 5, timeout=WAIT_MS)  # the loop ticks while the server holds the answer
    gate.set()
    qtbot.waitUntil(lambda: "finished" in recorder.names, timeout=WAIT_MS)
    timer.stop()

    assert recorder.names[-3:] == ["delta", "done", "finished"]
    assert answered[:5] == [False] * 5


def test_call_worker_delivers_results_and_errors_as_words(
    qtbot: QtBot, pool: WorkerPool, signed_in_client: ApiClient, fake_server: FakeServer
) -> None:
    ok, recorder = CallWorker(signed_in_client.list_tickets), Recorder()
    recorder.bind(ok)
    with qtbot.wait_signal(ok.finished, timeout=WAIT_MS):
        ok.start(pool)

    fake_server.fail("list", 404, "not_found")
    refused, refused_recorder = CallWorker(signed_in_client.list_tickets), Recorder()
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


def test_the_worker_pool_is_the_only_way_to_start_a_thread() -> None:
    desktop = Path(__file__).resolve().parents[3] / "desktop"
    starters = re.compile(r"\b(QThreadPool|QRunnable|QThread|threading\.Thread|ThreadPoolExecutor)\b")
    users = sorted(
        str(path.relative_to(desktop.parent))
        for path in desktop.rglob("*.py")
        if starters.search(path.read_text(encoding="utf-8"))
    )

    assert users == ["desktop/services/workers.py"]
