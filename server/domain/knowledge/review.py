"""Review of the knowledge base's growth by agents and admins: the queue, approval, rejection, edits, unpublishing.

Waiting for review are articles grown from fixes that are not published yet (origin ``resolution``) and fixes
proposed for an already-published article (``kb_contributions``, status ``pending``). Every change runs in one
transaction under the same advisory lock as :func:`~server.domain.knowledge.growth.add_resolution`, goes through the
importer's own functions (re-chunk, re-embed, postings) and is followed by a BM25 statistics refresh, so an article
is never half-edited and a concurrent merge is never lost.

Staff edits of a ``resolution`` article are anonymized again: the text came from a user, and an agent correcting it
may paste details from the ticket (an address, a host name) that must not reach the knowledge base either. Seed
and manual articles are edited verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from server.db.transactions import transaction_of_its_own
from server.domain.knowledge.anonymizer import anonymize_async
from server.domain.knowledge.embeddings import Embedder, EmbeddingError
from server.domain.knowledge.growth import accounts, article_record, lock_writes, with_addition
from server.domain.knowledge.importer import (
    ArticleRecord,
    index_postings,
    prepare_articles,
    refresh_statistics,
    store_articles,
)
from server.domain.knowledge.schemas import Article, ArticleUpdate, ReviewItem, ReviewPage
from server.lib.exceptions import Conflict, FieldError, NotFound, ServiceUnavailable, ValidationFailed

if TYPE_CHECKING:
    import datetime
    import uuid

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = [
    "ArticleForReview",
    "ProposedFix",
    "approve",
    "article_for_review",
    "pending_reviews",
    "read_article",
    "reject",
    "update_article",
]

TEXT_FIELDS = ("title", "symptoms", "cause", "resolution")
_ARTICLE_COLUMNS = (
    "id, source_id, title, symptoms, cause, resolution, body, origin, product_group, source_url, source_repo, "
    "source_path, source_commit, license, attribution, published, created_at, updated_at"
)
_QUEUE = """
    SELECT a.id, 'article' AS kind, a.id AS article_id, a.title, a.symptoms, a.cause, a.resolution, a.origin,
           a.published, NULL AS proposed_text, a.created_at, a.updated_at
    FROM kb_articles a WHERE a.origin = 'resolution' AND NOT a.published
    UNION ALL
    SELECT c.id, 'merge', a.id, a.title, a.symptoms, a.cause, a.resolution, a.origin,
           a.published, c.proposed_text, c.created_at, a.updated_at
    FROM kb_contributions c JOIN kb_articles a ON a.id = c.article_id WHERE c.status = 'pending'
"""


async def read_article(connection: AsyncConnection, article_id: uuid.UUID, *, published_only: bool) -> Article | None:
    """The whole article, or ``None`` (also for an unpublished one when ``published_only``)."""
    row = (
        await connection.execute(
            text(
                f"SELECT {_ARTICLE_COLUMNS} FROM kb_articles WHERE id = :id"  # noqa: S608 - constant columns
                + (" AND published" if published_only else "")
            ),
            {"id": article_id},
        )
    ).first()
    return None if row is None else Article(**row._asdict())


@dataclass(frozen=True, slots=True)
class ProposedFix:
    """A fix proposed for an article and what became of it: ``pending``, or who approved or rejected it, and when."""

    id: uuid.UUID
    proposed_text: str
    status: str
    created_at: datetime.datetime
    reviewed_by: uuid.UUID | None
    reviewed_at: datetime.datetime | None


@dataclass(frozen=True, slots=True)
class ArticleForReview:
    """An article as staff see it (published or not), with every fix proposed for it, newest first."""

    article: Article
    proposed_fixes: list[ProposedFix]


async def article_for_review(engine: AsyncEngine, article_id: uuid.UUID) -> ArticleForReview | None:
    """The article, published or not, with its proposed fixes; ``None`` when there is no such article."""
    async with transaction_of_its_own(engine) as connection:
        article = await read_article(connection, article_id, published_only=False)
        if article is None:
            return None
        rows = await connection.execute(
            text(
                "SELECT id, proposed_text, status, created_at, reviewed_by, reviewed_at FROM kb_contributions "
                "WHERE article_id = :id ORDER BY created_at DESC, id DESC"
            ),
            {"id": article_id},
        )
        fixes = [ProposedFix(**row._asdict()) for row in rows]
    return ArticleForReview(article=article, proposed_fixes=fixes)


async def pending_reviews(engine: AsyncEngine, *, limit: int, offset: int) -> ReviewPage:
    """One page of the review queue, newest first."""
    async with transaction_of_its_own(engine) as connection:
        total = (await connection.execute(text(f"SELECT count(*) FROM ({_QUEUE}) q"))).scalar_one()  # noqa: S608
        rows = await connection.execute(
            text(f"SELECT * FROM ({_QUEUE}) q ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset"),  # noqa: S608
            {"limit": limit, "offset": offset},
        )
        items = [ReviewItem(**row._asdict()) for row in rows]
    return ReviewPage(items=items, total=total, limit=limit, offset=offset)


async def _locked_article(connection: AsyncConnection, article_id: uuid.UUID) -> Any:
    await lock_writes(connection)
    return (
        await connection.execute(text("SELECT * FROM kb_articles WHERE id = :id FOR UPDATE"), {"id": article_id})
    ).first()


async def _rewrite(
    connection: AsyncConnection, engine: AsyncEngine, row: Any, record: ArticleRecord, embedder: Embedder | None
) -> None:
    """Re-chunk, re-embed and re-index ``row`` as ``record``, inside the caller's transaction."""
    if embedder is None:
        raise ServiceUnavailable(
            "The embedding model is unavailable, so the article cannot be re-indexed; try again later.",
            code="embeddings_unavailable",
        )
    try:
        prepared = await prepare_articles(
            engine,
            {record.id: record},
            embedder=lambda: embedder,
            model_name=embedder.model_name,
            origin=row.origin,
            force=True,
        )
    except EmbeddingError as exc:
        raise ServiceUnavailable(
            "The embedding model cannot be reached, so the article was not changed; try again later.",
            code="embeddings_unavailable",
        ) from exc
    await store_articles(connection, prepared)


async def _edited(engine: AsyncEngine, row: Any, update: ArticleUpdate) -> dict[str, str]:
    """The changed text fields (anonymized for grown articles), with the body rewritten to match."""
    given = {name: value.strip() for name in TEXT_FIELDS if (value := getattr(update, name)) is not None}
    if row.origin == "resolution" and given:  # off the event loop, with every account as the directory
        cleaned = await anonymize_async(list(given.values()), accounts=await accounts(engine))
        given = dict(zip(given, cleaned, strict=True))
    changes = {name: value for name, value in given.items() if value != getattr(row, name)}
    if "title" in changes and not changes["title"]:
        raise ValidationFailed("title is empty", errors=[FieldError("title", "must not be empty")])
    merged = {name: changes.get(name, getattr(row, name)) for name in TEXT_FIELDS}
    if not merged["symptoms"] and not merged["resolution"]:
        raise ValidationFailed(
            "an article needs symptoms or a resolution",
            errors=[FieldError("symptoms", "symptoms and resolution must not both be empty")],
        )
    body = row.body
    for name in ("symptoms", "cause", "resolution"):
        if name in changes:
            old = getattr(row, name)
            if old.strip() and old in body:
                body = body.replace(old, changes[name], 1)
            else:  # the section is not in the body verbatim: rebuild the body from the sections
                parts = [
                    ("Symptoms", merged["symptoms"]),
                    ("Cause", merged["cause"]),
                    ("Resolution", merged["resolution"]),
                ]
                body = "\n\n".join(f"{heading}\n{value}" for heading, value in parts if value)
                break
    if body != row.body:
        changes["body"] = body
    return changes


async def _set_published(connection: AsyncConnection, article_id: uuid.UUID, published: bool) -> None:
    await connection.execute(
        text("UPDATE kb_articles SET published = :p, updated_at = now() WHERE id = :id"),
        {"p": published, "id": article_id},
    )
    await index_postings(connection, [article_id])  # only published articles are in the BM25 index


async def update_article(
    engine: AsyncEngine, article_id: uuid.UUID, update: ArticleUpdate, embedder: Embedder | None
) -> Article:
    """Apply an agent's change to an article: approve/unpublish (``published``) and/or corrected text."""
    async with transaction_of_its_own(engine) as connection:
        row = await _locked_article(connection, article_id)
        if row is None:
            raise NotFound("No such article.")
        changes = await _edited(engine, row, update)
        if changes:
            if row.source_id is None:  # every write path sets one; upserts are keyed by it
                row = row._replace(source_id=f"manual-{row.id.hex}")
                await connection.execute(
                    text("UPDATE kb_articles SET source_id = :s WHERE id = :id"), {"s": row.source_id, "id": row.id}
                )
            await _rewrite(connection, engine, row, article_record(row, **changes), embedder)
        changed_state = update.published is not None and update.published != row.published
        if changed_state:
            await _set_published(connection, article_id, bool(update.published))
        article = await read_article(connection, article_id, published_only=False)
    assert article is not None
    if changes or changed_state:
        await refresh_statistics(engine)
    return article


async def approve(
    engine: AsyncEngine, item_id: uuid.UUID, *, reviewer_id: uuid.UUID, embedder: Embedder | None
) -> Article:
    """Approve a review item: publish a pending article, or append a pending fix to its article."""
    async with transaction_of_its_own(engine) as connection:
        await lock_writes(connection)
        contribution = await _contribution(connection, item_id)
        if contribution is not None:
            row = await _locked_article(connection, contribution.article_id)
            await _rewrite(connection, engine, row, with_addition(row, contribution.proposed_text), embedder)
            await _decide(connection, item_id, "approved", reviewer_id)
            article_id = row.id
        else:
            row = await _pending_article(connection, item_id)
            await _set_published(connection, row.id, True)
            article_id = row.id
        article = await read_article(connection, article_id, published_only=False)
    assert article is not None
    await refresh_statistics(engine)
    return article


async def reject(engine: AsyncEngine, item_id: uuid.UUID, *, reviewer_id: uuid.UUID) -> None:
    """Reject a review item: a pending fix is marked rejected; a pending article is deleted with its chunks."""
    async with transaction_of_its_own(engine) as connection:
        await lock_writes(connection)
        if await _contribution(connection, item_id) is not None:
            await _decide(connection, item_id, "rejected", reviewer_id)
            return
        row = await _pending_article(connection, item_id)
        await connection.execute(text("DELETE FROM kb_articles WHERE id = :id"), {"id": row.id})


async def _contribution(connection: AsyncConnection, item_id: uuid.UUID) -> Any:
    row = (
        await connection.execute(
            text("SELECT id, article_id, proposed_text, status FROM kb_contributions WHERE id = :id FOR UPDATE"),
            {"id": item_id},
        )
    ).first()
    if row is not None and row.status != "pending":
        raise Conflict(f"This fix was already {row.status}.", code="already_reviewed")
    return row


async def _pending_article(connection: AsyncConnection, item_id: uuid.UUID) -> Any:
    row = await _locked_article(connection, item_id)
    if row is None or row.origin != "resolution":
        raise NotFound("Nothing with this id waits for review.")
    if row.published:
        raise Conflict("This article is already published.", code="already_reviewed")
    return row


async def _decide(connection: AsyncConnection, item_id: uuid.UUID, status: str, reviewer_id: uuid.UUID) -> None:
    await connection.execute(
        text(
            "UPDATE kb_contributions SET status = :s, reviewed_by = :r, reviewed_at = now(), updated_at = now() "
            "WHERE id = :id"
        ),
        {"s": status, "r": reviewer_id, "id": item_id},
    )
