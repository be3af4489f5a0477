"""Score the anonymizer on a labelled set: the share of personal values removed and of technical terms kept, by kind.

The set is JSON lines (``tests/data/pii/dev.jsonl``): ``text``, the ``author`` and the ``directory`` of other
accounts (each ``name``, ``username``, ``email``), ``pii`` values with the ``tokens`` none of which may survive as
a whole word (case-insensitive), and ``keep`` terms that must still be there (case-insensitive). ``bench/anonymizer.py``
prints the figures; a unit test holds them to :data:`TARGET`.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from server.domain.knowledge.anonymizer import anonymize, directory_of

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

__all__ = ["TARGET", "TARGET_PER_KIND", "Miss", "Score", "load_records", "score"]

TARGET = 0.98  # overall share of personal values removed, and of technical terms kept
TARGET_PER_KIND = 0.90


@dataclass(frozen=True, slots=True)
class Miss:
    """A personal value that survived, or a technical term that did not, in one record."""

    record: str
    kind: str
    value: str
    article: str


@dataclass(slots=True)
class Score:
    """Counts per kind of personal value (removed / total) and of kept terms, with every miss."""

    removed: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    kept: list[int] = field(default_factory=lambda: [0, 0])
    misses: list[Miss] = field(default_factory=list)

    @property
    def removed_rate(self) -> float:
        """The share of personal values removed, over every kind."""
        done = sum(n for n, _ in self.removed.values())
        total = sum(t for _, t in self.removed.values())
        return done / total if total else 1.0

    @property
    def kept_rate(self) -> float:
        """The share of technical terms kept."""
        return self.kept[0] / self.kept[1] if self.kept[1] else 1.0

    def rate(self, kind: str) -> float:
        """The share of personal values of ``kind`` removed."""
        done, total = self.removed[kind]
        return done / total if total else 1.0

    def meets_targets(self) -> bool:
        """Whether both overall rates reach :data:`TARGET` and every kind :data:`TARGET_PER_KIND`."""
        kinds_ok = all(self.rate(kind) >= TARGET_PER_KIND for kind in self.removed)
        return self.removed_rate >= TARGET and self.kept_rate >= TARGET and kinds_ok


def load_records(path: Path) -> list[dict[str, Any]]:
    """The records of a JSON-lines set."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _survives(token: str, article: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(token)}(?!\w)", article, re.IGNORECASE) is not None


def _accounts(record: dict[str, Any]) -> list[tuple[str | None, str | None, str | None]]:
    people = [record.get("author") or {}, *(record.get("directory") or [])]
    return [(p.get("name"), p.get("username"), p.get("email")) for p in people]


def score(records: Iterable[dict[str, Any]], article: Callable[[dict[str, Any]], str] | None = None) -> Score:
    """Score ``article(record)`` for each record; by default the text anonymized with the record's accounts."""

    def default(record: dict[str, Any]) -> str:
        return anonymize(record["text"], directory=directory_of(_accounts(record)))

    produce = article or default
    result = Score()
    for record in records:
        text = produce(record)
        for value in record["pii"]:
            counts = result.removed[value["kind"]]
            counts[1] += 1
            if any(_survives(token, text) for token in value["tokens"]):
                result.misses.append(Miss(record["id"], value["kind"], value["value"], text))
            else:
                counts[0] += 1
        for term in record["keep"]:
            result.kept[1] += 1
            if term.lower() in text.lower():
                result.kept[0] += 1
            else:
                result.misses.append(Miss(record["id"], "keep", term, text))
    return result
