"""Work around PySide6 6.12's lost references to ``True`` (and ``None``) on CPython 3.11.

Measured here (PySide6-Essentials 6.12.0, CPython 3.11.7): every ``SignalInstance.emit()`` returns ``True`` without
taking a reference, so each discarded result drops one reference that was never taken; ``QObject.sender()`` does
the same with ``None`` outside a slot. ``True`` starts with a few hundred references, so after that many emits
(one streamed answer of ~600 deltas) CPython aborts with "Fatal Python error: bool_dealloc". CPython 3.12+ makes
``True``, ``False`` and ``None`` immortal, which hides the bug there.

:func:`guard_pyside_refcounts` detects the bug with a probe and, only then, adds a large number of references to
the three singletons so they can never reach zero. Call it once at start-up, before the event loop.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from typing import Final

from PySide6.QtCore import QObject, Signal

__all__ = ["emit_drops_references", "guard_pyside_refcounts"]

logger = logging.getLogger(__name__)

_PROBE_EMITS: Final = 16
_PIN: Final = 1 << 40  # far more references than a process can drop in its lifetime
_guarded = False


class _Probe(QObject):
    ping = Signal()


def emit_drops_references() -> bool:
    """Whether ``Signal.emit`` loses references to ``True`` in this PySide6 build."""
    probe = _Probe()
    try:
        before = sys.getrefcount(True)
        for _ in range(_PROBE_EMITS):
            probe.ping.emit()
        after = sys.getrefcount(True)
    finally:
        probe.deleteLater()
    if after < before:
        # Give back what the probe took, so the pin below starts from an honest count.
        for _ in range(before - after):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))
        return True
    return False


def guard_pyside_refcounts() -> bool:
    """Pin ``True``, ``False`` and ``None`` when the bug is present; returns whether it pinned. Idempotent."""
    global _guarded  # noqa: PLW0603 - a process-wide, once-only fix of a process-wide defect
    if _guarded:
        return True
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython" or not emit_drops_references():
        return False
    for singleton in (True, False, None):
        # ob_refcnt is the first field of every CPython 3.11 object (non-debug build).
        ctypes.c_ssize_t.from_address(id(singleton)).value += _PIN
    _guarded = True
    logger.info("PySide6 drops references on Signal.emit; pinned True/False/None (see refcount_guard.py)")
    return True
