"""Knowledge base: troubleshooting articles in PostgreSQL, split into chunks with pgvector embeddings and BM25.

Other slices use what is exported here: embedders, the search, the import status and growth from confirmed fixes;
for the support console, the review of that growth (the queue, approval, rejection, edits, unpublishing).
"""

from server.domain.knowledge.embeddings import Embedder, Embedders, query_embedding_pool
from server.domain.knowledge.growth import MERGED_HEADING, add_resolution
from server.domain.knowledge.review import (
    ArticleForReview,
    ProposedFix,
    article_for_review,
    pending_reviews,
    update_article,
)
from server.domain.knowledge.review import approve as approve_review_item
from server.domain.knowledge.review import reject as reject_review_item
from server.domain.knowledge.schemas import Article, ArticleUpdate, KbHealth, ReviewItem, ReviewPage
from server.domain.knowledge.search import QueryVector, find_articles, start_query_embedding
from server.domain.knowledge.services import KbStatus

__all__ = [
    "MERGED_HEADING",
    "Article",
    "ArticleForReview",
    "ArticleUpdate",
    "Embedder",
    "Embedders",
    "KbHealth",
    "KbStatus",
    "ProposedFix",
    "QueryVector",
    "ReviewItem",
    "ReviewPage",
    "add_resolution",
    "approve_review_item",
    "article_for_review",
    "find_articles",
    "pending_reviews",
    "query_embedding_pool",
    "reject_review_item",
    "start_query_embedding",
    "update_article",
]
