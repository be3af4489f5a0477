"""Knowledge-base chunks (one vector each, model recorded) and the BM25 statistics kept next to them."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from advanced_alchemy.base import orm_registry
from pgvector.sqlalchemy import Vector
from sqlalchemy import BigInteger, Float, ForeignKey, Identity, Index, Integer, String, Text, Uuid
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

if TYPE_CHECKING:
    from server.db.models._kb_article import KbArticle

__all__ = ["EMBEDDING_DIM", "KbChunk", "KbMeta", "KbPosting", "KbTerm"]

EMBEDDING_DIM = 384


class _Base(DeclarativeBase):
    registry = orm_registry


class KbChunk(_Base):
    """A piece of an article with its embedding (HNSW, cosine) and full text (GIN)."""

    __tablename__ = "kb_chunks"
    __table_args__ = (
        Index("uq_kb_chunks_article_ordinal", "article_id", "ordinal", unique=True),
        Index(
            "ix_kb_chunks_embedding_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_with={"m": 16, "ef_construction": 64},
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
        Index("ix_kb_chunks_tsv", "tsv", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    article_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("kb_articles.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    embedding: Mapped[list[float] | None] = mapped_column(Vector(EMBEDDING_DIM))
    embedding_model: Mapped[str | None] = mapped_column(String(100))
    tsv: Mapped[str | None] = mapped_column(TSVECTOR)

    article: Mapped[KbArticle] = relationship(back_populates="chunks", lazy="raise")


class KbPosting(_Base):
    """The BM25 inverted index: how often ``term`` occurs in a published article, and that article's length.

    Only published articles have postings; ``doc_len`` is copied here so scoring never visits ``kb_articles``.
    """

    __tablename__ = "kb_postings"
    __table_args__ = (
        Index("ix_kb_postings_article_id", "article_id"),
        Index("ix_kb_postings_term_cover", "term", postgresql_include=["article_id", "tf", "doc_len"]),
    )

    term: Mapped[str] = mapped_column(Text, primary_key=True)
    article_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("kb_articles.id", ondelete="CASCADE"), primary_key=True
    )
    tf: Mapped[int] = mapped_column(Integer)
    doc_len: Mapped[int] = mapped_column(Integer)


class KbTerm(_Base):
    """Document frequency per term over published articles (refreshed after every import)."""

    __tablename__ = "kb_terms"

    term: Mapped[str] = mapped_column(Text, primary_key=True)
    df: Mapped[int] = mapped_column(Integer)


class KbMeta(_Base):
    """One row: corpus size and average length for BM25, and the embedding model the vectors belong to."""

    __tablename__ = "kb_meta"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    n_docs: Mapped[int] = mapped_column(Integer, default=0)
    avg_doc_len: Mapped[float] = mapped_column(Float, default=0.0)
    embedding_model: Mapped[str | None] = mapped_column(String(100))
    embedding_dim: Mapped[int] = mapped_column(Integer, default=EMBEDDING_DIM)
    seed_digest: Mapped[str | None] = mapped_column(String(64))
