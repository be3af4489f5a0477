"""Knowledge base: troubleshooting articles in PostgreSQL, split into chunks with pgvector embeddings and BM25.

Other slices use what is exported here: embedders, the search, the import status and growth from confirmed fixes.
"""

from server.domain.knowledge.embeddings import Embedder, Embedders, query_embedding_pool
from server.domain.knowledge.growth import add_resolution
from server.domain.knowledge.schemas import KbHealth
from server.domain.knowledge.search import QueryVector, find_articles, start_query_embedding
from server.domain.knowledge.services import KbStatus

__all__ = [
    "Embedder",
    "Embedders",
    "KbHealth",
    "KbStatus",
    "QueryVector",
    "add_resolution",
    "find_articles",
    "query_embedding_pool",
    "start_query_embedding",
]
