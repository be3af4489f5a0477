"""Which process owns a root's running cluster: the one holding ``<root>/owner.lock``.

The process that starts the postmaster takes an exclusive ``flock`` on ``owner.lock`` and holds it until it stops
the postmaster. The kernel drops the lock when that process exits, however it exits, so:

* a live postmaster whose lock is held belongs to a running process (a serving ``techpal-server run``): any other
  process attaches to it and leaves it running;
* a live postmaster whose lock is free was left by a process that died without stopping it: the next starter takes
  the lock and replaces it.

``flock`` locks belong to an open file description, so two supervisors of one root in the same process exclude each
other too. The descriptor is close-on-exec (the postmaster never inherits it) and closed in forked children, so only
the owner itself keeps the cluster owned.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import weakref
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from pathlib import Path

OWNER_LOCK_NAME: Final = "owner.lock"

_held: weakref.WeakSet[_OwnerLock] = weakref.WeakSet()


class _OwnerLock:
    """The exclusive, non-blocking lock that marks this process as the owner of a root's cluster."""

    def __init__(self, root: Path) -> None:
        self._path = root / OWNER_LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock (and record our pid in the file) unless another holder has it; ``True`` once held."""
        if self._fd is not None:
            return True
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        try:
            os.fchmod(fd, 0o600)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        _held.add(self)
        return True

    def release(self) -> None:
        """Give the lock up (idempotent)."""
        fd, self._fd = self._fd, None
        _held.discard(self)
        if fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)

    def holder(self) -> int | None:
        """The pid the current holder recorded, if it can be read (for messages only)."""
        try:
            return int(self._path.read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            return None

    def _forget_in_child(self) -> None:
        # A forked child shares the lock with its parent; closing its copy leaves the parent's lock in place.
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


def _after_fork_in_child() -> None:
    for lock in list(_held):
        lock._forget_in_child()
    _held.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)
