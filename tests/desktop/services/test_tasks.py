"""TaskRunner: blocking calls in a worker, results and errors delivered on the GUI thread."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from desktop.services.tasks import TaskRunner

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

TIMEOUT_MS = 5000


def test_results_and_errors_arrive_on_the_gui_thread(qtbot: QtBot, qapp: object) -> None:
    runner = TaskRunner()
    gui = threading.get_ident()
    seen: list[tuple[str, object, int]] = []
    worker_threads: list[int] = []

    def work() -> int:
        worker_threads.append(threading.get_ident())
        return 42

    def fail() -> int:
        raise ValueError("boom")

    runner.run(work, lambda r: seen.append(("ok", r, threading.get_ident())))
    runner.run(fail, lambda r: None, lambda e: seen.append(("error", str(e), threading.get_ident())))
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=TIMEOUT_MS)
    runner.shutdown()

    assert sorted(seen, key=lambda s: s[0]) == [("error", "boom", gui), ("ok", 42, gui)]
    assert worker_threads
    assert worker_threads[0] != gui


def test_run_returns_while_the_call_is_still_blocked(qtbot: QtBot, qapp: object) -> None:
    runner = TaskRunner()
    gate, ended = threading.Event(), threading.Event()
    done: list[bool] = []

    def blocked() -> None:
        gate.wait(TIMEOUT_MS / 1000)
        ended.set()

    runner.run(blocked, lambda _r: done.append(True))
    assert not ended.is_set()  # run() did not wait for the call
    assert runner.pending == 1
    gate.set()
    qtbot.waitUntil(lambda: bool(done), timeout=TIMEOUT_MS)
    runner.shutdown()

    assert runner.pending == 0


def test_nothing_is_delivered_after_shutdown(qtbot: QtBot, qapp: object) -> None:
    runner = TaskRunner()
    delivered: list[object] = []
    started, gate = threading.Event(), threading.Event()

    def blocked() -> str:
        started.set()
        gate.wait(TIMEOUT_MS / 1000)
        return "late"

    runner.run(blocked, delivered.append)
    assert started.wait(TIMEOUT_MS / 1000)
    gate.set()
    runner.shutdown()  # the call has ended; its result is already queued to the GUI thread
    qtbot.wait(50)  # let the queued delivery run: it must find nothing to call

    assert delivered == []
    assert runner.run(lambda: 1, delivered.append) == 0


def test_the_last_call_runs_after_the_running_one_and_queued_ones_are_dropped(qapp: object) -> None:
    runner = TaskRunner(max_threads=1)
    order: list[str] = []
    started, gate = threading.Event(), threading.Event()

    def running() -> None:
        started.set()
        gate.wait(TIMEOUT_MS / 1000)
        order.append("running")

    runner.run(running, lambda _r: None)
    runner.run(lambda: order.append("queued"), lambda _r: None)
    assert started.wait(TIMEOUT_MS / 1000)
    threading.Timer(0.05, gate.set).start()

    runner.shutdown(last=lambda: order.append("last"))

    assert order == ["running", "last"]  # shutdown waited for both
