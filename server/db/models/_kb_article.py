"""Knowledge-base articles: troubleshooting knowledge with its origin and source attribution."""

from __future__ import annotations

from typing import TYPE_CHECKING

from advanced_alchemy.base import UUIDv7AuditBase
from sqlalchemy import Boolean, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

if TYPE_CHECKING:
    from server.db.models._kb_chunk import KbChunk

__all__ = ["KbArticle"]


class KbArticle(UUIDv7AuditBase):
    """One article. ``search_tsv`` (title, symptoms, body) feeds BM25 through ``kb_postings``."""

    __tablename__ = "kb_articles"
    __table_args__ = (
        CheckConstraint("origin IN ('seed', 'resolution', 'manual')", name="ck_kb_articles_origin"),
        Index("ix_kb_articles_search_tsv", "search_tsv", postgresql_using="gin"),
    )

    source_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    title: Mapped[str] = mapped_column(Text)
    symptoms: Mapped[str] = mapped_column(Text, default="")
    cause: Mapped[str] = mapped_column(Text, default="")
    resolution: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(String(16), default="manual")
    product_group: Mapped[str | None] = mapped_column(String(100))
    source_repo: Mapped[str | None] = mapped_column(String(200))
    source_path: Mapped[str | None] = mapped_column(String(500))
    source_commit: Mapped[str | None] = mapped_column(String(64))
    source_url: Mapped[str | None] = mapped_column(String(1000))
    license: Mapped[str | None] = mapped_column(String(64))
    attribution: Mapped[str | None] = mapped_column(String(300))
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    doc_len: Mapped[int] = mapped_column(Integer, default=0)
    search_tsv: Mapped[str | None] = mapped_column(TSVECTOR)

    chunks: Mapped[list[KbChunk]] = relationship(
        back_populates="article", cascade="all, delete-orphan", order_by="KbChunk.ordinal", lazy="raise"
    )
