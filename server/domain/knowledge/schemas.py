"""Wire types of the knowledge-base endpoints. Every article shown carries its source attribution."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from server.lib.schema import ResponseBody

__all__ = ["Article", "KbHealth", "SearchResult", "SearchResults"]


class SearchResult(ResponseBody, frozen=True):
    """One article found: its best chunk as the snippet, and where it comes from."""

    article_id: uuid.UUID
    source_id: str | None
    title: str
    snippet: str
    score: float
    source_url: str | None
    attribution: str | None


class SearchResults(ResponseBody, frozen=True):
    """Articles in rank order, de-duplicated."""

    results: list[SearchResult]


class Article(ResponseBody, frozen=True):
    """A whole article with its origin and attribution."""

    id: uuid.UUID
    source_id: str | None
    title: str
    symptoms: str
    cause: str
    resolution: str
    body: str
    origin: Literal["seed", "resolution", "manual"]
    product_group: str | None
    source_url: str | None
    source_repo: str | None
    source_path: str | None
    source_commit: str | None
    license: str | None
    attribution: str | None
    published: bool
    created_at: datetime
    updated_at: datetime


class KbHealth(ResponseBody, frozen=True):
    """The knowledge base's import state, as ``/health`` reports it."""

    state: Literal["importing", "ready"]
    done: int
    total: int
