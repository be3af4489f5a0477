"""``/api/v1/kb``: hybrid search over the knowledge base, whole articles with their attribution, and review."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter, SkipValidation
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.transactions import transaction_of_its_own
from server.domain.accounts import AUTH_DEPENDENCIES, BEARER, Principal, bearer_required, require_role
from server.domain.knowledge import review
from server.domain.knowledge.embeddings import Embedders
from server.domain.knowledge.schemas import Article, ArticleUpdate, ReviewPage, SearchResults
from server.domain.knowledge.search import MAX_QUERY_CHARS, clean_query, search
from server.lib.exceptions import FieldError, NotFound, ValidationFailed
from server.settings import Settings

__all__ = ["KnowledgeController"]

# An article edit is a few sections of text (each at most 20,000 characters).
REVIEW_BODY_LIMIT = 128 * 1024


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
        description="Hybrid search (BM25 + vectors, exact error codes and quoted strings). Articles best first.",
        request_max_body_size=0,
    )
    async def search_articles(
        self,
        *,
        principal: NamedDependency[SkipValidation[Principal]],  # resolving it authenticates the caller
        db_engine: NamedDependency[AsyncEngine],
        settings: NamedDependency[SkipValidation[Settings]],
        embedders: NamedDependency[SkipValidation[Embedders]],
        q: Annotated[str, QueryParameter(description="What is wrong, in any words; error codes match exactly.")],
        limit: Annotated[int, QueryParameter(ge=1, le=50, description="How many articles to return.")] = 10,
    ) -> SearchResults:
        """Find the articles that best match ``q``."""
        if len(q) > MAX_QUERY_CHARS:
            raise ValidationFailed(
                f"q is longer than {MAX_QUERY_CHARS} characters",
                errors=[FieldError("q", f"at most {MAX_QUERY_CHARS} characters", "query")],
            )
        if not clean_query(q):
            raise ValidationFailed("q is empty", errors=[FieldError("q", "must not be empty", "query")])
        hits = await search(db_engine, q, await embedders.configured(settings.embeddings, settings.ai), limit=limit)
        return SearchResults(results=hits)

    @get("/articles/{article_id:uuid}", summary="Read an article", request_max_body_size=0)
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
