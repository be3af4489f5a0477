"""Grow the knowledge base from users' confirmed fixes, anonymized, merged into near-duplicates, held for review.

Every text field is scrubbed by :func:`~server.domain.knowledge.anonymizer.anonymize` before anything is embedded or
stored, in a worker thread (it is CPU work), with the names, usernames and e-mails of every account in the ``users``
table as known identifiers: a colleague with an account is removed even when only mentioned. The text is data: it is
stored and indexed, never interpreted.

Merge threshold: cosine ≥ :data:`MERGE_THRESHOLD` (0.85) between the new fix's ``title. symptoms`` and an existing
article's summary chunk. Measured with the local model: among 213 dev queries (``bench/data/dev_queries.jsonl``,
plain and standard sets) the best *wrong* article reaches ≥ 0.85 for none (99th percentile 0.817), while the top
eighth of query→gold pairs — close rewordings — do; among the seed articles only 6 % have a neighbour that close,
mostly the same fix for another product version. A missed merge costs a reviewer one duplicate; a wrong merge would
corrupt an article, so the threshold leans high.

A fix merged into a *published* article waits for review as a ``kb_contributions`` row (unless
``TECHPAL_KB_AUTO_PUBLISH``): the published text changes only when an agent approves it. Nearest-lookup and write
run under one transaction-scoped advisory lock, so two identical fixes confirmed at the same moment make one
article, not two.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from server.db.transactions import transaction_of_its_own
from server.domain.knowledge.anonymizer import Account, anonymize_async
from server.domain.knowledge.chunking import chunk_article
from server.domain.knowledge.embeddings import Embedder, vector_literal
from server.domain.knowledge.importer import (
    WRITE_LOCK,
    ArticleRecord,
    prepare_articles,
    refresh_statistics,
    store_articles,
)
from server.domain.knowledge.seed import SeedVectors

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = [
    "MERGE_THRESHOLD",
    "ResolutionOutcome",
    "accounts",
    "add_resolution",
    "anonymized_fix",
    "article_record",
    "lock_writes",
    "with_addition",
]

MERGE_THRESHOLD = 0.85
MERGED_HEADING = "Another confirmed fix"

_ACCOUNTS_SQL = text("SELECT name, username, email FROM users")
_NEAREST_SQL = text(
    """
    SELECT a.id, a.source_id, a.title, a.symptoms, a.cause, a.resolution, a.body, a.origin, a.product_group,
           a.source_repo, a.source_path, a.source_commit, a.license, a.published,
           1 - (c.embedding <=> CAST(:v AS vector)) AS similarity
    FROM kb_chunks c JOIN kb_articles a ON a.id = c.article_id
    WHERE c.ordinal = 0 AND c.embedding_model = :model AND a.source_id IS NOT NULL
    ORDER BY c.embedding <=> CAST(:v AS vector) LIMIT 1
    """
)


@dataclass(frozen=True, slots=True)
class ResolutionOutcome:
    """The article the fix landed in, whether it was merged into an existing one, and the review waiting on it.

    ``contribution_id`` is set when the fix was merged into a published article and waits for review there;
    ``searchable`` when what search reads changed at once (``auto_publish``): only then are statistics refreshed.
    """

    article_id: uuid.UUID
    merged: bool
    contribution_id: uuid.UUID | None = None
    searchable: bool = False


def _body(symptoms: str, cause: str, resolution: str) -> str:
    parts = [("Symptoms", symptoms), ("Cause", cause), ("Resolution", resolution)]
    return "\n\n".join(f"{heading}\n{value}" for heading, value in parts if value.strip())


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()).lower() == " ".join(b.split()).lower()


def _contains(haystack: str, needle: str) -> bool:
    return " ".join(needle.split()).lower() in " ".join(haystack.split()).lower()


async def lock_writes(connection: AsyncConnection) -> None:
    """Serialize read-modify-write of articles (growth, review) until this transaction ends."""
    await connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK})


def article_record(row: Any, **changes: str) -> ArticleRecord:
    """An article row (with its source columns) as an importable record, with ``changes`` applied."""
    fields = {
        "id": row.source_id,
        "title": row.title,
        "body": row.body,
        "symptoms": row.symptoms,
        "cause": row.cause,
        "resolution": row.resolution,
        "source_repo": row.source_repo,
        "source_path": row.source_path,
        "source_commit": row.source_commit,
        "license": row.license,
        "product_group": row.product_group,
    }
    return ArticleRecord(**{**fields, **changes})


def with_addition(row: Any, addition: str) -> ArticleRecord:
    """The article ``row`` with a confirmed fix appended to its resolution and body as an extra section."""
    section = f"\n\n{MERGED_HEADING}\n{addition}"
    return article_record(row, body=row.body + section, resolution=row.resolution + section)


async def accounts(engine: AsyncEngine) -> list[Account]:
    """The name, username and e-mail of every account, deleted ones too: the directory the anonymizer removes."""
    async with transaction_of_its_own(engine) as connection:
        rows = await connection.execute(_ACCOUNTS_SQL)
        return [(row.name, row.username, row.email) for row in rows]


async def anonymized_fix(engine: AsyncEngine, fields: list[str], *, known: tuple[str, ...]) -> list[str]:
    """``fields`` stripped and anonymized in a worker thread, with every account as a known identifier."""
    return await anonymize_async([v.strip() for v in fields], known=known, accounts=await accounts(engine))


async def add_resolution(
    engine: AsyncEngine,
    *,
    title: str | Callable[[str], str],
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
    review. A fix merged into a published article waits for review as a contribution unless ``auto_publish``;
    merged into an article that is itself still pending, it is applied at once (the whole article is reviewed).
    Applying appends an extra section and re-chunks and re-embeds the article.

    ``title`` may be a function that makes it from the anonymized symptoms (``fix_title``): a title cut from the
    raw text could cut a personal value in half before the anonymizer sees it whole.
    """
    known = (user_name, username, email)
    raw_title = "" if callable(title) else title
    symptoms, resolution, cause, anonymous_title = await anonymized_fix(
        engine, [symptoms, resolution, cause or "", raw_title], known=known
    )
    title = title(symptoms) if callable(title) else anonymous_title
    if not title or not (symptoms or resolution):
        raise ValueError("a resolution needs a title and symptoms or a resolution")
    summary = chunk_article(title, symptoms, "")[0]
    vector = (await asyncio.to_thread(embedder.embed, [summary.text]))[0]
    async with transaction_of_its_own(engine) as connection:
        await lock_writes(connection)
        await connection.execute(text("SET LOCAL hnsw.ef_search = 200"))
        nearest = (
            await connection.execute(_NEAREST_SQL, {"v": vector_literal(vector), "model": embedder.model_name})
        ).first()
        if nearest is not None and float(nearest.similarity) >= threshold:
            outcome = await _merge(
                connection, engine, nearest=nearest, resolution=resolution, embedder=embedder, auto_publish=auto_publish
            )
        else:
            record = ArticleRecord(
                id=f"resolution-{uuid.uuid4().hex}",
                title=title,
                body=_body(symptoms, cause, resolution),
                symptoms=symptoms,
                cause=cause,
                resolution=resolution,
            )
            reuse = SeedVectors(embedder.model_name, embedder.dimension, {summary.content_hash: vector})
            prepared = await prepare_articles(
                engine,
                {record.id: record},
                embedder=lambda: embedder,
                model_name=embedder.model_name,
                seed_vectors=reuse,
                origin="resolution",
                force=True,
            )
            (article_id,) = await store_articles(connection, prepared, published=auto_publish)
            outcome = ResolutionOutcome(article_id=article_id, merged=False, searchable=auto_publish)
    if outcome.searchable:
        # Term and corpus counts only: a pending article is not searched (publishing refreshes), and the planner's
        # statistics are autovacuum's job — a full VACUUM ANALYZE per "Fixed it" cost ~1 s of database work.
        await refresh_statistics(engine, embedder.model_name, vacuum=False)
    return outcome


async def _merge(
    connection: AsyncConnection,
    engine: AsyncEngine,
    *,
    nearest: Any,
    resolution: str,
    embedder: Embedder,
    auto_publish: bool,
) -> ResolutionOutcome:
    if not resolution or _contains(nearest.resolution, resolution):
        return ResolutionOutcome(article_id=nearest.id, merged=True)  # nothing new to add
    if nearest.published and not auto_publish:
        pending = await connection.execute(
            text("SELECT id, proposed_text FROM kb_contributions WHERE article_id = :a AND status = 'pending'"),
            {"a": nearest.id},
        )
        for row in pending:
            if _same_text(row.proposed_text, resolution):
                return ResolutionOutcome(article_id=nearest.id, merged=True, contribution_id=row.id)
        contribution_id = (
            await connection.execute(
                text(
                    "INSERT INTO kb_contributions (id, article_id, proposed_text, status, created_at, updated_at) "
                    "VALUES (gen_random_uuid(), :a, :t, 'pending', now(), now()) RETURNING id"
                ),
                {"a": nearest.id, "t": resolution},
            )
        ).scalar_one()
        return ResolutionOutcome(article_id=nearest.id, merged=True, contribution_id=contribution_id)
    record = with_addition(nearest, resolution)
    prepared = await prepare_articles(
        engine,
        {record.id: record},
        embedder=lambda: embedder,
        model_name=embedder.model_name,
        origin=nearest.origin,
        force=True,
    )
    await store_articles(connection, prepared)
    return ResolutionOutcome(article_id=nearest.id, merged=True, searchable=nearest.published)
