"""``techpal-server kb eval``: recall@1/5/10 and MRR per query set, against the running database."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import text

from server.db.transactions import transaction_of_its_own
from server.domain.knowledge.search import Candidates, classify, clean_query, fuse, gather

if TYPE_CHECKING:
    import uuid
    from collections.abc import Callable
    from pathlib import Path

    from sqlalchemy.ext.asyncio import AsyncEngine

    from server.domain.knowledge.embeddings import Embedder

__all__ = ["EvalQuery", "SetScores", "evaluate", "load_queries", "score"]


@dataclass(frozen=True, slots=True)
class EvalQuery:
    """One labelled query: a hit is any of ``gold`` (source ids)."""

    query: str
    gold: frozenset[str]
    set: str


@dataclass
class SetScores:
    """Recall at 1, 5, 10 and the mean reciprocal rank (cut at 10) of one query set."""

    n: int = 0
    hits: dict[int, int] = field(default_factory=lambda: {1: 0, 5: 0, 10: 0})
    rr: float = 0.0

    def add(self, rank: int | None) -> None:
        """Count one query: ``rank`` is the 1-based rank of its first gold hit, ``None`` if none is in the top 10."""
        self.n += 1
        if rank is not None:
            for k in self.hits:
                self.hits[k] += rank <= k
            self.rr += 1.0 / rank if rank <= 10 else 0.0

    def row(self) -> dict[str, float]:
        """``R@1``, ``R@5``, ``R@10`` and ``MRR`` averaged over the queries counted."""
        n = max(self.n, 1)
        return {"R@1": self.hits[1] / n, "R@5": self.hits[5] / n, "R@10": self.hits[10] / n, "MRR": self.rr / n}


def load_queries(path: Path) -> list[EvalQuery]:
    """Read a queries JSONL (``query, gold_id, alt_gold_ids, set``)."""
    queries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            gold = frozenset([item["gold_id"], *item.get("alt_gold_ids", [])])
            queries.append(EvalQuery(query=item["query"], gold=gold, set=item.get("set", "all")))
    return queries


def score(
    queries: list[EvalQuery],
    candidates: list[Candidates],
    source_ids: dict[uuid.UUID, str],
    fusion: Callable[[Candidates], list[tuple[uuid.UUID, float]]] = fuse,
) -> dict[str, SetScores]:
    """Score already gathered candidates (lets the fusion be tuned without querying again)."""
    sets: dict[str, SetScores] = {}
    for query, found in zip(queries, candidates, strict=True):
        ranked = [source_ids.get(a) for a, _ in fusion(found)[:10]]
        rank = next((i + 1 for i, sid in enumerate(ranked) if sid in query.gold), None)
        sets.setdefault(query.set, SetScores()).add(rank)
    return dict(sorted(sets.items()))


async def evaluate(
    engine: AsyncEngine, queries: list[EvalQuery], embedder: Embedder | None
) -> tuple[dict[str, SetScores], list[Candidates], dict[uuid.UUID, str]]:
    """Run every query against the database and score the fused rankings."""
    async with transaction_of_its_own(engine) as connection:
        rows = await connection.execute(text("SELECT id, source_id FROM kb_articles WHERE source_id IS NOT NULL"))
        source_ids = {row.id: row.source_id for row in rows}
    vectors = embedder.embed([clean_query(q.query) for q in queries]) if embedder is not None else None
    candidates = [
        await gather(
            engine, clean_query(q.query), embedder, None if vectors is None else vectors[i], kind=classify(q.query)
        )
        for i, q in enumerate(queries)
    ]
    return score(queries, candidates, source_ids), candidates, source_ids
