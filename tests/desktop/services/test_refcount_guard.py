"""The PySide6 refcount guard: many emits no longer bring True toward zero."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal

from desktop.services.refcount_guard import guard_pyside_refcounts


class _Emitter(QObject):
    ping = Signal(object)


def test_many_emits_leave_true_with_plenty_of_references() -> None:
    guard_pyside_refcounts()  # also done for the whole run in tests/conftest.py; idempotent
    emitter = _Emitter()
    before = sys.getrefcount(True)

    for _ in range(20_000):  # far more than True's natural reference count on CPython 3.11
        emitter.ping.emit(1)

    assert sys.getrefcount(True) > 1_000_000 or sys.version_info >= (3, 12)
    assert before - sys.getrefcount(True) <= 20_000
