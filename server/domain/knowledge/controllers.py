"""``/api/v1/kb``: hybrid search over the knowledge base, and whole articles with their attribution."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter, SkipValidation
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.accounts.deps import AUTH_DEPENDENCIES
from server.domain.accounts.guards import BEARER, bearer_required
from server.domain.accounts.services import Principal
from server.domain.knowledge.embeddings import EmbeddingError, get_embedder
from server.domain.knowledge.schemas import Article, SearchResults
from server.domain.knowledge.search import MAX_QUERY_CHARS, clean_query, search
from server.lib.exceptions import FieldError, NotFound, ValidationFailed
from server.settings import Settings

__all__ = ["KnowledgeController"]


class KnowledgeController(Controller):
    """Search and read knowledge-base articles (signed-in users)."""

    path = "/api/v1/kb"
    tags = ["knowledge"]
    dependencies = AUTH_DEPENDENCIES
    security = BEARER
    guards = [bearer_required]

    @get(
        "/search",
        summary="Search the knowledge base",
        description="Hybrid search (BM25 + vectors, exact error codes and quoted strings). Articles best first.",
        request_max_body_size=0,
    )
    async def search_articles(
        self,
        principal: NamedDependency[SkipValidation[Principal]],  # resolving it authenticates the caller
        db_engine: NamedDependency[AsyncEngine],
        settings: NamedDependency[SkipValidation[Settings]],
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
        try:
            embedder = await asyncio.to_thread(get_embedder, settings.embeddings)
        except EmbeddingError:
            embedder = None  # keyword search still answers
        hits = await search(db_engine, q, embedder, limit=limit)
        return SearchResults(results=hits)

    @get("/articles/{article_id:uuid}", summary="Read an article", request_max_body_size=0)
    async def get_article(
        self,
        principal: NamedDependency[SkipValidation[Principal]],  # resolving it authenticates the caller
        db_engine: NamedDependency[AsyncEngine],
        article_id: FromPath[uuid.UUID],
    ) -> Article:
        """The whole article with its source attribution."""
        async with db_engine.connect() as connection:
            row = (
                await connection.execute(
                    text(
                        "SELECT id, source_id, title, symptoms, cause, resolution, body, origin, product_group, "
                        "source_url, source_repo, source_path, source_commit, license, attribution, published, "
                        "created_at, updated_at FROM kb_articles WHERE id = :id AND published"
                    ),
                    {"id": article_id},
                )
            ).first()
        if row is None:
            raise NotFound("No such article.")
        return Article(**row._asdict())
