"""Knowledge base: articles, chunks with pgvector embeddings (HNSW, cosine) and tsvectors (GIN), BM25 statistics.

Revision ID: 0003_knowledge
Revises: 0002_accounts
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects import postgresql

revision = "0003_knowledge"
down_revision = "0002_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kb_articles",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("source_id", sa.String(128), nullable=True, unique=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("symptoms", sa.Text(), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("product_group", sa.String(100), nullable=True),
        sa.Column("source_repo", sa.String(200), nullable=True),
        sa.Column("source_path", sa.String(500), nullable=True),
        sa.Column("source_commit", sa.String(64), nullable=True),
        sa.Column("source_url", sa.String(1000), nullable=True),
        sa.Column("license", sa.String(64), nullable=True),
        sa.Column("attribution", sa.String(300), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("doc_len", sa.Integer(), nullable=False),
        sa.Column("search_tsv", postgresql.TSVECTOR(), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("origin IN ('seed', 'resolution', 'manual')", name="ck_kb_articles_origin"),
    )
    op.create_index("ix_kb_articles_search_tsv", "kb_articles", ["search_tsv"], postgresql_using="gin")

    op.create_table(
        "kb_chunks",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("article_id", sa.Uuid(), sa.ForeignKey("kb_articles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("embedding", Vector(384), nullable=True),
        sa.Column("embedding_model", sa.String(100), nullable=True),
        sa.Column("tsv", postgresql.TSVECTOR(), nullable=True),
    )
    op.create_index("uq_kb_chunks_article_ordinal", "kb_chunks", ["article_id", "ordinal"], unique=True)
    op.create_index(
        "ix_kb_chunks_embedding_hnsw",
        "kb_chunks",
        ["embedding"],
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.create_index("ix_kb_chunks_tsv", "kb_chunks", ["tsv"], postgresql_using="gin")

    op.create_table(
        "kb_postings",
        sa.Column("term", sa.Text(), primary_key=True),
        sa.Column(
            "article_id", sa.Uuid(), sa.ForeignKey("kb_articles.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("tf", sa.Integer(), nullable=False),
        sa.Column("doc_len", sa.Integer(), nullable=False),
    )
    op.create_index("ix_kb_postings_article_id", "kb_postings", ["article_id"])
    # Scoring reads only this index (an index-only scan per query term), never the heap.
    op.create_index(
        "ix_kb_postings_term_cover", "kb_postings", ["term"], postgresql_include=["article_id", "tf", "doc_len"]
    )
    op.create_table(
        "kb_terms",
        sa.Column("term", sa.Text(), primary_key=True),
        sa.Column("df", sa.Integer(), nullable=False),
    )
    op.create_table(
        "kb_meta",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("n_docs", sa.Integer(), nullable=False),
        sa.Column("avg_doc_len", sa.Float(), nullable=False),
        sa.Column("embedding_model", sa.String(100), nullable=True),
        sa.Column("embedding_dim", sa.Integer(), nullable=False),
        sa.Column("seed_digest", sa.String(64), nullable=True),
        sa.CheckConstraint("id = 1", name="ck_kb_meta_single_row"),
    )


def downgrade() -> None:
    op.drop_table("kb_meta")
    op.drop_table("kb_terms")
    op.drop_table("kb_postings")
    op.drop_table("kb_chunks")
    op.drop_table("kb_articles")
