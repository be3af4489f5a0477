"""``/api/v1/kb``: hybrid search over the knowledge base, whole articles with their attribution, and review.

A search costs an embedding (CPU, or a call to a remote model) and database work, so it is bounded twice: per
account, ``TECHPAL_SEARCHES_PER_MINUTE`` (counted in the database: 429 ``rate_limited``), and per app, a pool of
:data:`EMBEDDING_WORKERS` threads with at most :data:`EMBEDDING_WAITING` queries waiting (503 ``busy`` beyond, or
after :data:`EMBEDDING_WAIT_SECONDS`), both with ``Retry-After``.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Any

import structlog
from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter, SkipValidation
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.db.transactions import request_session_in_autocommit, transaction_of_its_own
from server.domain.accounts import (
    AUTH_DEPENDENCIES,
    BEARER,
    AccountService,
    Principal,
    accepts_api_key,
    bearer,
    bearer_required,
    require_role,
)
from server.domain.knowledge import review
from server.domain.knowledge.embeddings import Embedder, Embedders, EmbeddingError
from server.domain.knowledge.schemas import Article, ArticleUpdate, ReviewPage, SearchResults
from server.domain.knowledge.search import MAX_QUERY_CHARS, QueryVector, clean_query, search
from server.lib.clock import Clock
from server.lib.exceptions import FieldError, NotFound, ValidationFailed
from server.lib.ratelimit import RateLimiter, Rule
from server.lib.workers import BoundedExecutor
from server.settings import Settings

__all__ = ["KnowledgeController"]

logger = structlog.get_logger(__name__)

# An article edit is a few sections of text (each at most 20,000 characters).
REVIEW_BODY_LIMIT = 128 * 1024
SEARCH_WINDOW = datetime.timedelta(minutes=1)


async def _embed(raw_query: str, embedder: Embedder | None, pool: BoundedExecutor) -> QueryVector:
    """The query's embedding from ``pool`` (its 503 ``busy`` propagates); keywords only when there is none."""
    query = clean_query(raw_query)
    if embedder is None or not query:
        return None, None
    try:
        return (await pool.run(embedder.embed, [query]))[0], embedder
    except EmbeddingError as exc:
        # The embedding service is down or misconfigured: answer by keywords and exact matches alone.
        logger.warning("kb_query_embedding_failed", model=embedder.model_name, error=str(exc))
        return None, None


class KnowledgeController(Controller):
    """Search and read articles (signed-in users); review growth, edit and unpublish articles (agents, admins).

    Staff routes take the ``staff`` dependency, which answers 403 ``role_required`` to everyone else.
    """

    path = "/api/v1/kb"
    tags = ["knowledge"]
    dependencies = {**AUTH_DEPENDENCIES, "staff": Provide(require_role("agent", "admin"))}
    security = BEARER
    guards = [bearer_required]
    request_max_body_size = REVIEW_BODY_LIMIT

    @get(
        "/search",
        summary="Search the knowledge base",
        description=(
            "Hybrid search (BM25 + vectors, exact error codes and quoted strings). Articles best first. "
            "`TECHPAL_SEARCHES_PER_MINUTE` per account (429 `rate_limited`); 503 `busy` when the server is "
            "embedding as many queries as it can. Both with `Retry-After`."
        ),
        request_max_body_size=0,
        opt=accepts_api_key("kb:read"),
    )
    async def search_articles(
        self,
        *,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[SkipValidation[AccountService]],
        db_session: NamedDependency[AsyncSession],
        db_engine: NamedDependency[AsyncEngine],
        settings: NamedDependency[SkipValidation[Settings]],
        embedders: NamedDependency[SkipValidation[Embedders]],
        query_embeddings: NamedDependency[SkipValidation[BoundedExecutor]],
        clock: NamedDependency[SkipValidation[Clock]],
        q: Annotated[str, QueryParameter(description="What is wrong, in any words; error codes match exactly.")],
        limit: Annotated[int, QueryParameter(ge=1, le=50, description="How many articles to return.")] = 10,
    ) -> SearchResults:
        """Find the articles that best match ``q``.

        Signs the caller in and counts the search on the request's session in autocommit, whose connection then
        goes back to the pool: the query waits for an embedding worker holding none, and the search takes one.
        """
        async with request_session_in_autocommit(db_session) as db:
            principal = await accounts.authenticate_bearer(bearer(request))
            if len(q) > MAX_QUERY_CHARS:
                raise ValidationFailed(
                    f"q is longer than {MAX_QUERY_CHARS} characters",
                    errors=[FieldError("q", f"at most {MAX_QUERY_CHARS} characters", "query")],
                )
            if not clean_query(q):
                raise ValidationFailed("q is empty", errors=[FieldError("q", "must not be empty", "query")])
            connection = await db.connection()
            rule = Rule("kb_search", settings.tickets.searches_per_minute, SEARCH_WINDOW, policy="kb_search")
            await RateLimiter(connection.engine, clock).hit(rule, str(principal.user.id), connection=connection)
        embedder = await embedders.configured(settings.embeddings, settings.ai)
        embedded = await _embed(q, embedder, query_embeddings)
        return SearchResults(results=await search(db_engine, q, embedder, limit=limit, embedded=embedded))

    @get(
        "/articles/{article_id:uuid}",
        summary="Read an article",
        request_max_body_size=0,
        opt=accepts_api_key("kb:read"),
    )
    async def get_article(
        self,
        principal: NamedDependency[SkipValidation[Principal]],  # resolving it authenticates the caller
        db_engine: NamedDependency[AsyncEngine],
        article_id: FromPath[uuid.UUID],
    ) -> Article:
        """The whole published article with its source attribution (staff see pending ones in the review list)."""
        async with transaction_of_its_own(db_engine) as connection:
            article = await review.read_article(connection, article_id, published_only=True)
        if article is None:
            raise NotFound("No such article.")
        return article

    @get("/review", summary="List what waits for review", request_max_body_size=0)
    async def list_review(
        self,
        staff: NamedDependency[SkipValidation[Principal]],  # resolving it checks the role
        db_engine: NamedDependency[AsyncEngine],
        limit: Annotated[int, QueryParameter(ge=1, le=100, description="Page size.")] = 20,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000, description="Items to skip.")] = 0,
    ) -> ReviewPage:
        """New articles grown from fixes and fixes proposed for published articles, newest first."""
        return await review.pending_reviews(db_engine, limit=limit, offset=offset)

    @patch("/articles/{article_id:uuid}", summary="Approve, unpublish or edit an article")
    async def update_article(
        self,
        *,
        staff: NamedDependency[SkipValidation[Principal]],
        db_engine: NamedDependency[AsyncEngine],
        settings: NamedDependency[SkipValidation[Settings]],
        embedders: NamedDependency[SkipValidation[Embedders]],
        article_id: FromPath[uuid.UUID],
        data: JSONBody[ArticleUpdate],
    ) -> Article:
        """``published: true`` approves, ``false`` unpublishes (seed articles too); text changes re-index it."""
        if all(getattr(data, name) is None for name in data.__struct_fields__):
            raise ValidationFailed(
                "nothing to change",
                errors=[FieldError("body", "give at least one of " + ", ".join(data.__struct_fields__))],
            )
        needs_embedder = any(getattr(data, name) is not None for name in review.TEXT_FIELDS)
        embedder = await embedders.configured(settings.embeddings, settings.ai) if needs_embedder else None
        return await review.update_article(db_engine, article_id, data, embedder)

    @post("/review/{item_id:uuid}/approve", status_code=200, summary="Approve a review item", request_max_body_size=0)
    async def approve(
        self,
        staff: NamedDependency[SkipValidation[Principal]],
        db_engine: NamedDependency[AsyncEngine],
        settings: NamedDependency[SkipValidation[Settings]],
        embedders: NamedDependency[SkipValidation[Embedders]],
        item_id: FromPath[uuid.UUID],
    ) -> Article:
        """Publish a pending article, or append a proposed fix to its article; answers the article."""
        return await review.approve(
            db_engine,
            item_id,
            reviewer_id=staff.user.id,
            embedder=await embedders.configured(settings.embeddings, settings.ai),
        )

    @post("/review/{item_id:uuid}/reject", status_code=204, summary="Reject a review item", request_max_body_size=0)
    async def reject(
        self,
        staff: NamedDependency[SkipValidation[Principal]],
        db_engine: NamedDependency[AsyncEngine],
        item_id: FromPath[uuid.UUID],
    ) -> None:
        """Drop a proposed fix, or delete a pending article that should not be published."""
        await review.reject(db_engine, item_id, reviewer_id=staff.user.id)
