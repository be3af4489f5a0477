"""Work in flight, counted in this process: at most so many at once per key (an account), and optionally in all.

For what a process holds while it lasts (an open event stream, an upload being read and processed), unlike
:mod:`server.lib.ratelimit`, which counts events over time in the database for every process. A :class:`Slot` is
given back exactly once, however often it is released, so every way a piece of work can end may release it.

Used from the event loop only (no lock): taking and giving back never await.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from types import TracebackType
    from typing import Self

__all__ = ["InFlight", "Slot"]

K = TypeVar("K", bound=Hashable)


class Slot(Generic[K]):
    """One piece of work in flight for ``key``; :meth:`release` (or leaving its ``with`` block) gives it back."""

    __slots__ = ("_counter", "_released", "key")

    def __init__(self, counter: InFlight[K], key: K) -> None:
        self._counter = counter
        self._released = False
        self.key = key

    def release(self) -> None:
        """Give the slot back; again is a no-op."""
        if not self._released:
            self._released = True
            self._counter._give_back(self.key)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.release()


class InFlight(Generic[K]):
    """Counts the slots held per key; hands out at most ``per_key`` per key."""

    def __init__(self, per_key: int) -> None:
        if per_key < 1:
            raise ValueError("per_key >= 1 is required")
        self.per_key = per_key
        self._held: dict[K, int] = {}
        self._total = 0

    def held(self, key: K) -> int:
        """The slots ``key`` holds now."""
        return self._held.get(key, 0)

    @property
    def total(self) -> int:
        """The slots held now, by every key."""
        return self._total

    def take(self, key: K, *, total: int | None = None) -> Slot[K] | None:
        """A slot for ``key``; ``None`` when ``key`` holds ``per_key`` already, or every key together ``total``."""
        if self.held(key) >= self.per_key or (total is not None and self._total >= total):
            return None
        self._held[key] = self.held(key) + 1
        self._total += 1
        return Slot(self, key)

    def _give_back(self, key: K) -> None:
        left = self._held.get(key, 0) - 1
        if left > 0:
            self._held[key] = left
        else:
            self._held.pop(key, None)
        self._total -= 1
