"""Grow the knowledge base from users' confirmed fixes, anonymized, merged into near-duplicates, held for review.

Every text field is scrubbed by :func:`~server.domain.knowledge.anonymizer.anonymize` (with the author's own name,
username and email as known identifiers) before anything is embedded or stored. The text is data: it is stored and
indexed, never interpreted.

Merge threshold: cosine ≥ :data:`MERGE_THRESHOLD` (0.85) between the new fix's ``title. symptoms`` and an existing
article's summary chunk. Measured with the local model: among 213 dev queries (``bench/data/dev_queries.jsonl``,
plain and standard sets) the best *wrong* article reaches ≥ 0.85 for none (99th percentile 0.817), while the top
eighth of query→gold pairs — close rewordings — do; among the seed articles only 6 % have a neighbour that close,
mostly the same fix for another product version. A missed merge costs a reviewer one duplicate; a wrong merge would
corrupt an article, so the threshold leans high.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.knowledge.anonymizer import anonymize
from server.domain.knowledge.chunking import chunk_article
from server.domain.knowledge.embeddings import Embedder
from server.domain.knowledge.importer import ArticleRecord, refresh_statistics, write_articles
from server.domain.knowledge.seed import SeedVectors

__all__ = ["MERGE_THRESHOLD", "ResolutionOutcome", "add_resolution"]

MERGE_THRESHOLD = 0.85
MERGED_HEADING = "Another confirmed fix"

_NEAREST_SQL = text(
    """
    SELECT a.id, a.source_id, a.title, a.symptoms, a.cause, a.resolution, a.body, a.origin, a.product_group,
           a.source_repo, a.source_path, a.source_commit, a.license,
           1 - (c.embedding <=> CAST(:v AS vector)) AS similarity
    FROM kb_chunks c JOIN kb_articles a ON a.id = c.article_id
    WHERE c.ordinal = 0 AND c.embedding_model = :model AND a.source_id IS NOT NULL
    ORDER BY c.embedding <=> CAST(:v AS vector) LIMIT 1
    """
)


@dataclass(frozen=True, slots=True)
class ResolutionOutcome:
    """The article the fix landed in, and whether it was merged into an existing one."""

    article_id: uuid.UUID
    merged: bool


def _literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.6g}" for x in np.asarray(vector, dtype=np.float32).tolist()) + "]"


def _body(symptoms: str, cause: str, resolution: str) -> str:
    parts = [("Symptoms", symptoms), ("Cause", cause), ("Resolution", resolution)]
    return "\n\n".join(f"{heading}\n{value}" for heading, value in parts if value.strip())


async def add_resolution(
    engine: AsyncEngine,
    *,
    title: str,
    symptoms: str,
    resolution: str,
    cause: str | None = None,
    user_name: str,
    username: str,
    email: str,
    embedder: Embedder,
    auto_publish: bool,
    threshold: float = MERGE_THRESHOLD,
) -> ResolutionOutcome:
    """Turn a confirmed fix into knowledge: merged into a near-duplicate article, else a new article.

    A new article is published only with ``auto_publish`` (``TECHPAL_KB_AUTO_PUBLISH``); otherwise it waits for
    review. A merged fix is appended to the existing article as an extra section, which is re-chunked and re-embedded.
    """
    known = (user_name, username, email)
    title, symptoms, resolution = (anonymize(v.strip(), known=known) for v in (title, symptoms, resolution))
    cause = anonymize((cause or "").strip(), known=known)
    if not title or not (symptoms or resolution):
        raise ValueError("a resolution needs a title and symptoms or a resolution")
    summary = chunk_article(title, symptoms, "")[0]
    vector = (await asyncio.to_thread(embedder.embed, [summary.text]))[0]
    async with engine.begin() as connection:
        await connection.execute(text("SET LOCAL hnsw.ef_search = 200"))
        nearest = (
            await connection.execute(_NEAREST_SQL, {"v": _literal(vector), "model": embedder.model_name})
        ).first()

    if nearest is not None and float(nearest.similarity) >= threshold:
        section = f"\n\n{MERGED_HEADING}\n{resolution}"
        record = ArticleRecord(
            id=nearest.source_id,
            title=nearest.title,
            body=nearest.body + section,
            symptoms=nearest.symptoms,
            cause=nearest.cause,
            resolution=nearest.resolution + section,
            source_repo=nearest.source_repo,
            source_path=nearest.source_path,
            source_commit=nearest.source_commit,
            license=nearest.license,
            product_group=nearest.product_group,
        )
        await write_articles(engine, {record.id: record}, embedder=embedder, origin=nearest.origin, published=True)
        await refresh_statistics(engine, embedder.model_name)
        return ResolutionOutcome(article_id=nearest.id, merged=True)

    source_id = f"resolution-{uuid.uuid4().hex}"
    record = ArticleRecord(
        id=source_id,
        title=title,
        body=_body(symptoms, cause, resolution),
        symptoms=symptoms,
        cause=cause,
        resolution=resolution,
    )
    reuse = SeedVectors(embedder.model_name, embedder.dimension, {summary.content_hash: vector})
    await write_articles(
        engine,
        {source_id: record},
        embedder=embedder,
        origin="resolution",
        published=auto_publish,
        seed_vectors=reuse,
    )
    await refresh_statistics(engine, embedder.model_name)
    async with engine.connect() as connection:
        article_id = (
            await connection.execute(text("SELECT id FROM kb_articles WHERE source_id = :s"), {"s": source_id})
        ).scalar_one()
    return ResolutionOutcome(article_id=article_id, merged=False)
