"""Wire types of the knowledge-base endpoints. Every article shown carries its source attribution."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from server.lib.schema import RequestBody, ResponseBody

__all__ = ["Article", "ArticleUpdate", "KbHealth", "ReviewItem", "ReviewPage", "SearchResult", "SearchResults"]

Origin = Literal["seed", "resolution", "manual"]
# Bounds well above the seed corpus (longest title 157, longest resolution ~15k characters).
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
Section = Annotated[str, msgspec.Meta(max_length=20_000)]


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
    origin: Origin
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
    """The knowledge base's import state, as ``/health`` reports it (see :class:`KbStatus`); probes watch ``state``."""

    state: Literal["pending", "importing", "ready", "failed"]
    done: int
    total: int


class ArticleUpdate(RequestBody, frozen=True, omit_defaults=True):
    """What an agent changes: approve (``published: true``), unpublish, or correct the text. Absent fields stay."""

    published: bool | None = None
    title: Title | None = None
    symptoms: Section | None = None
    cause: Section | None = None
    resolution: Section | None = None


class ReviewItem(ResponseBody, frozen=True):
    """Something waiting for review: a new article grown from a fix, or a fix to append to a published article.

    A new article has ``kind: article`` and ``id`` is the article; a fix to append has ``kind: merge``, ``id`` is the
    contribution, ``article_id`` the target and ``proposed_text`` what approval appends. The text fields are the
    article's current ones.
    """

    id: uuid.UUID
    kind: Literal["article", "merge"]
    article_id: uuid.UUID
    title: str
    symptoms: str
    cause: str
    resolution: str
    origin: Origin
    published: bool
    proposed_text: str | None
    created_at: datetime
    updated_at: datetime


class ReviewPage(ResponseBody, frozen=True):
    """A page of the review queue, newest first."""

    items: list[ReviewItem]
    total: int
    limit: int
    offset: int
