"""TaskRunner: blocking calls in a worker, results and errors delivered on the GUI thread."""

from __future__ import annotations

import threading
import time

from pytestqt.qtbot import QtBot

from desktop.services.tasks import TaskRunner

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


def test_a_slow_call_leaves_the_event_loop_running(qtbot: QtBot, qapp: object) -> None:
    runner = TaskRunner()
    done: list[bool] = []

    began = time.monotonic()
    runner.run(lambda: time.sleep(0.5), lambda _r: done.append(True))
    assert time.monotonic() - began < 0.1
    assert runner.pending == 1
    qtbot.waitUntil(lambda: bool(done), timeout=TIMEOUT_MS)
    runner.shutdown()

    assert runner.pending == 0


def test_nothing_is_delivered_after_shutdown(qtbot: QtBot, qapp: object) -> None:
    runner = TaskRunner()
    delivered: list[object] = []
    runner.run(lambda: time.sleep(0.1), delivered.append)

    runner.shutdown()
    qtbot.wait(100)

    assert delivered == []
    assert runner.run(lambda: 1, delivered.append) == 0
