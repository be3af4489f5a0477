"""``Signal.emit`` keeps the reference counts of what it sends, ``True`` included.

PySide6 6.12.0 lost a reference to ``True`` on every ``Signal.emit`` (CPython 3.11 then aborts with
"bool_dealloc" after a few hundred emits: one streamed answer). pyproject pins a release without the bug; this test
keeps it that way on upgrades.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    ping = Signal(object)


def test_emitting_signals_keeps_the_reference_counts_of_true_and_none() -> None:
    emitter = _Emitter()
    before = sys.getrefcount(True), sys.getrefcount(None)

    for _ in range(1_000):
        emitter.ping.emit(1)
        emitter.sender()

    assert (sys.getrefcount(True), sys.getrefcount(None)) == before
