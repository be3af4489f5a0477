"""Hybrid search: BM25 over the ``kb_postings`` inverted index + dense HNSW search, fused per kind of query.

BM25 is computed in SQL from term statistics kept in the database (``kb_terms``, ``kb_meta``); Postgres' own
``ts_rank`` has no IDF and ranks worse on this corpus. Quoted strings are matched as phrases through the GIN index
on ``kb_articles.search_tsv``, and error codes (``0x80070005``, ``AADSTS50076``) through their exact postings, so a
literal error is never lost to semantics. The fusion is weighted reciprocal-rank fusion whose weights depend on what
the query looks like (:func:`lexical_share`): error texts lean on BM25 and exact matches, plain language on the
vectors. Text is indexed with the ``simple`` configuration (lower-casing, no stemming, no stop words): measured on the
dev queries it beats ``english`` on all three sets (error texts R@1 0.924 vs 0.899 for BM25 alone), since error
messages are matched word for word.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import structlog
from sqlalchemy import text

from server.db.transactions import transaction_of_its_own
from server.domain.knowledge.embeddings import Embedder, EmbeddingError, Vectors, vector_literal
from server.domain.knowledge.schemas import SearchResult

if TYPE_CHECKING:
    import uuid

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = [
    "FUSION",
    "ArticleHit",
    "Candidates",
    "Fusion",
    "QueryVector",
    "classify",
    "find_articles",
    "fuse",
    "gather",
    "search",
    "start_query_embedding",
]

logger = structlog.get_logger(__name__)
QueryKind = Literal["error", "technical", "plain"]
# BM25 with k1 = 1 and no length normalisation (b = 0): the parameters the fusion's thresholds are tuned for. On the
# dev queries, Okapi's usual 1.2 and 0.75 with the same fusion rank no better overall (standard R@1 0.916 / R@5 0.991,
# plain 0.611 / 0.889, error_text 0.949 / 0.987); see ADR 6.
K1, B = 1.0, 0.0
# Coverage is the best score over Σ idf × COVERAGE_NORM; 2.2 is what the fusion's cov_low/cov_high were tuned with.
COVERAGE_NORM = 2.2
DEPTH = 100
# Chunks the vector search returns (~160 distinct articles at the seed's size). 200 would save 1.5 ms but lost one
# error-text query's first place (R@1 0.949 → 0.937).
DENSE_DEPTH = 3 * DEPTH
# Terms in more than this share of articles (the, to, a, and …: idf < 0.11) are skipped: they are a third to a half of
# the postings a query sums (BM25 4.8 → 2.9 ms on the rendered-desktop queries) and leave every dev-set figure as it
# was. Mid-frequency terms must stay: at 0.5 the coverage calibration broke (error texts R@1 0.95 → 0.67).
MAX_DF = 0.9
MAX_QUERY_CHARS = 2000

_CODE = re.compile(
    r"\b(?:0x[0-9a-f]{4,}|[a-z]{2,}[0-9]{3,}[a-z0-9]*|[0-9]{4,}|[a-z]+(?:_[a-z0-9]+)+|[a-z0-9]+(?:\.[a-z0-9]+){2,})\b",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"[\"“”„']([^\"“”„']{6,200})[\"“”„']")
_ERROR_WORDS = re.compile(
    r"\b(error|exception|failed|fails|failure|denied|cannot|can't|couldn't|unable|invalid|code|event id|hresult)\b",
    re.IGNORECASE,
)
_CAMEL = re.compile(r"\b[A-Z][a-z]+[A-Z][A-Za-z]+\b")


@dataclass(frozen=True, slots=True)
class Fusion:
    """How much each retriever counts, as a function of the query's BM25 *coverage*.

    Coverage is the best BM25 score over the query's terms' IDF sum times :data:`COVERAGE_NORM`. A pasted error
    message is found almost word for word (coverage ≳ ``cov_high``): trust BM25 and the exact
    matches. Plain language shares few rare words with any article (coverage ≲ ``cov_low``): trust the vectors. Between
    the two the weights slide linearly. Error codes and quoted strings (:func:`classify` says ``error``) lift the
    BM25 share to at least ``literal_floor``. Tuned on the dev queries (ADR 6; figures in bench/README.md).
    """

    cov_low: float = 0.45
    cov_high: float = 0.7
    bm25_min: float = 0.3
    dense_min: float = 0.0
    exact: float = 0.5
    literal_floor: float = 0.5
    rrf_k: int = 10


FUSION = Fusion()


@dataclass
class Candidates:
    """Everything the fusion needs for one query: ranked article ids from each retriever and the exact matches."""

    kind: QueryKind
    bm25: list[uuid.UUID] = field(default_factory=list)
    bm25_scores: list[float] = field(default_factory=list)
    dense: list[uuid.UUID] = field(default_factory=list)
    dense_chunks: dict[uuid.UUID, int] = field(default_factory=dict)
    exact: list[uuid.UUID] = field(default_factory=list)
    idf_sum: float = 0.0


def clean_query(raw: str) -> str:
    """Collapse whitespace, drop control characters and cap the length."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in raw)
    return " ".join(cleaned.split())[:MAX_QUERY_CHARS]


def classify(query: str) -> QueryKind:
    """Tell error texts and codes from technical and from plain-language descriptions."""
    if _QUOTED.search(query) or any(_looks_like_code(m.group(0)) for m in _CODE.finditer(query)):
        return "error"
    words = query.split()
    signals = len(_ERROR_WORDS.findall(query)) + len(_CAMEL.findall(query)) + query.count(":")
    capitalised = sum(1 for w in words[1:] if w[:1].isupper())
    if signals >= 2 or (words and words[0][:1].isupper() and capitalised >= 3 and signals >= 1):
        return "error"
    if signals or capitalised >= 2:
        return "technical"
    return "plain"


def _looks_like_code(token: str) -> bool:
    return token.lower().startswith("0x") or (any(ch.isdigit() for ch in token) and any(ch.isalpha() for ch in token))


def exact_phrases(query: str) -> list[str]:
    """Quoted strings and code-like tokens of ``query``: they must match literally."""
    phrases = [m.group(1).strip() for m in _QUOTED.finditer(query)]
    phrases += [m.group(0) for m in _CODE.finditer(query) if _looks_like_code(m.group(0))]
    return [p for p in dict.fromkeys(phrases) if p][:8]


def lexical_share(c: Candidates, f: Fusion = FUSION) -> float:
    """How far (0 = plain language, 1 = literal error text) this query leans on words rather than meaning."""
    coverage = c.bm25_scores[0] / (COVERAGE_NORM * c.idf_sum) if c.bm25_scores and c.idf_sum > 0 else 0.0
    share = min(1.0, max(0.0, (coverage - f.cov_low) / (f.cov_high - f.cov_low)))
    return max(share, f.literal_floor) if c.kind == "error" else share


def fuse(c: Candidates, f: Fusion = FUSION) -> list[tuple[uuid.UUID, float]]:
    """Weighted reciprocal-rank fusion of the candidate lists, best first."""
    share = lexical_share(c, f)
    weights = (f.bm25_min + share * (1 - f.bm25_min), 1 - share * (1 - f.dense_min), f.exact)
    scores: dict[uuid.UUID, float] = {}
    for weight, ranked in zip(weights, (c.bm25, c.dense, c.exact), strict=True):
        for rank, article_id in enumerate(ranked):
            scores[article_id] = scores.get(article_id, 0.0) + weight / (f.rrf_k + rank + 1)
    return sorted(scores.items(), key=lambda item: -item[1])


# Every number is float8: with `numeric` (what ln() of integers and 0.5 gives) summing ~30k postings took twice as long.
_BM25_SQL = text(
    """
    WITH q AS (SELECT DISTINCT lexeme AS term FROM unnest(to_tsvector('simple', :q))),
    t AS (
        SELECT q.term, ln(1 + (m.n_docs - k.df + 0.5) / (k.df + 0.5))::float8 AS idf,
               greatest(m.avg_doc_len, 1)::float8 AS avg_len
        FROM q JOIN kb_terms k ON k.term = q.term CROSS JOIN kb_meta m
        WHERE k.df <= CAST(:max_df AS float8) * m.n_docs
    )
    SELECT p.article_id, (SELECT sum(idf) FROM t) AS idf_sum,
           sum(t.idf * p.tf * (CAST(:k1 AS float8) + 1)
               / (p.tf + CAST(:k1 AS float8) * (1 - CAST(:b AS float8) + CAST(:b AS float8) * p.doc_len / t.avg_len)))
             AS score
    FROM t JOIN kb_postings p ON p.term = t.term
    GROUP BY p.article_id ORDER BY score DESC LIMIT :depth
    """
)
_DENSE_SQL = text(
    """
    SELECT d.id, d.article_id, d.distance FROM (
        SELECT c.id, c.article_id, c.embedding <=> CAST(:v AS vector) AS distance
        FROM kb_chunks c
        WHERE c.embedding_model = :model
        ORDER BY c.embedding <=> CAST(:v AS vector) LIMIT :depth
    ) d JOIN kb_articles a ON a.id = d.article_id
    WHERE a.published
    ORDER BY d.distance
    """
)
# One round trip for every literal string: per phrase, up to 50 articles containing it (GIN index), counted.
_EXACT_SQL = text(
    """
    SELECT m.id, count(*) AS matched
    FROM unnest(CAST(:phrases AS text[])) AS p(phrase)
    CROSS JOIN LATERAL (
        SELECT a.id FROM kb_articles a
        WHERE a.published AND a.search_tsv @@ phraseto_tsquery('simple', p.phrase)
        LIMIT 50
    ) m
    GROUP BY m.id
    """
)
# At the seed's size the planner prefers an exact scan + sort of every chunk (~30 ms here) to the HNSW index (~7 ms):
# steer it to the index, wide enough (ef_search ≥ depth) to return the whole depth. Transaction-local, one round trip.
_USE_HNSW_SQL = text(
    f"SELECT set_config('hnsw.ef_search', '{DENSE_DEPTH}', true), set_config('enable_seqscan', 'off', true)"
)
# The found articles with what search results and answer passages show, and the best chunk when the vectors chose one.
_ARTICLES_SQL = text(
    """
    SELECT a.id, a.source_id, a.title, a.symptoms, a.resolution, a.product_group, a.source_url, a.attribution,
           c.text AS chunk
    FROM kb_articles a LEFT JOIN kb_chunks c ON c.article_id = a.id AND c.id = ANY(:chunk_ids)
    WHERE a.id = ANY(:ids) AND a.published
    """
)


@dataclass(frozen=True, slots=True)
class ArticleHit:
    """A search result with the article text an answer is built from."""

    result: SearchResult
    symptoms: str
    resolution: str
    product_group: str | None


QueryVector = tuple[Sequence[float] | None, Embedder | None]


def _start_embedding(
    query: str, embedder: Embedder | None, vector: Sequence[float] | None = None
) -> asyncio.Future[QueryVector]:
    """The query's embedding, handed to a worker thread before this returns.

    The database can run the keyword retrievers meanwhile (``vector`` instead, when the caller has it; no vector
    search when the embedder fails).
    """
    loop = asyncio.get_running_loop()
    if vector is not None or embedder is None:
        known: asyncio.Future[QueryVector] = loop.create_future()
        known.set_result((vector, embedder) if vector is not None else (None, None))
        return known
    return asyncio.ensure_future(_vector_of(loop.run_in_executor(None, embedder.embed, [query]), embedder))


async def _vector_of(embedding: asyncio.Future[Vectors], embedder: Embedder) -> QueryVector:
    try:
        return (await embedding)[0], embedder
    except EmbeddingError as exc:
        # The embedding service is down or misconfigured: answer by keywords and exact matches alone.
        logger.warning("kb_query_embedding_failed", model=embedder.model_name, error=str(exc))
        return None, None


async def gather(
    engine: AsyncEngine,
    query: str,
    embedder: Embedder | None,
    vector: Sequence[float] | None = None,
    kind: QueryKind | None = None,
) -> Candidates:
    """Run the retrievers for ``query`` (a cleaned query) and collect their ranked lists.

    ``kind`` is best classified from the raw query (line breaks tell pasted error texts apart).
    """
    embedding = _start_embedding(query, embedder, vector)
    try:
        async with transaction_of_its_own(engine) as connection:
            return await _collect(connection, query, embedding, kind or classify(query))
    finally:
        embedding.cancel()  # a no-op once done; a failed search leaves nothing running


async def _collect(
    connection: AsyncConnection,
    query: str,
    embedding: asyncio.Future[QueryVector],
    kind: QueryKind,
) -> Candidates:
    """The retrievers' ranked lists, on one connection (the dense search leaves sequential scans off).

    The dense search waits for ``embedding`` only after the keyword retrievers are done.
    """
    candidates = Candidates(kind=kind)
    params = {"q": query, "k1": K1, "b": B, "depth": DEPTH, "max_df": MAX_DF}
    rows = (await connection.execute(_BM25_SQL, params)).all()
    candidates.bm25 = [row.article_id for row in rows]
    candidates.bm25_scores = [float(row.score) for row in rows]
    candidates.idf_sum = float(rows[0].idf_sum) if rows else 0.0
    if phrases := exact_phrases(query):
        exact = {row.id: row.matched for row in await connection.execute(_EXACT_SQL, {"phrases": phrases})}
        # Articles matching more of the literal strings first, then in BM25 order.
        bm25_rank = {a: i for i, a in enumerate(candidates.bm25)}
        candidates.exact = sorted(exact, key=lambda a: (-exact[a], bm25_rank.get(a, DEPTH)))
    if not embedding.done() or embedding.result()[0] is not None:
        await connection.execute(_USE_HNSW_SQL)  # while the query is still being embedded, if it is
    vector, embedder = await embedding
    if vector is not None and embedder is not None:
        params = {"v": vector_literal(vector), "model": embedder.model_name, "depth": DENSE_DEPTH}
        for row in await connection.execute(_DENSE_SQL, params):
            if row.article_id not in candidates.dense_chunks:
                candidates.dense_chunks[row.article_id] = row.id
                candidates.dense.append(row.article_id)
    return candidates


async def search(
    engine: AsyncEngine,
    raw_query: str,
    embedder: Embedder | None,
    limit: int = 10,
    *,
    embedded: QueryVector | None = None,
) -> list[SearchResult]:
    """The best ``limit`` articles for ``raw_query``, de-duplicated, best first, each with its best chunk.

    ``embedded``: the query's vector and its embedder, computed by the caller (``(None, None)``: keywords only).
    """
    embedding = None
    if embedded is not None:
        vector, embedder = embedded
        embedding = _start_embedding(clean_query(raw_query), embedder, vector)  # already done
    return [hit.result for hit in await find_articles(engine, raw_query, embedder, limit, embedding=embedding)]


def start_query_embedding(raw_query: str, embedder: Embedder | None) -> asyncio.Future[QueryVector]:
    """:func:`find_articles`' embedding of ``raw_query``, handed to a worker thread now.

    Pass it on (``embedding=``) and whatever the caller does before the search overlaps it.
    """
    return _start_embedding(clean_query(raw_query), embedder)


async def find_articles(
    engine: AsyncEngine,
    raw_query: str,
    embedder: Embedder | None,
    limit: int = 10,
    *,
    embedding: asyncio.Future[QueryVector] | None = None,
) -> list[ArticleHit]:
    """:func:`search` with each article's symptoms, resolution and product group.

    The retrievers and the read of the found articles (with their best chunks) share one pooled connection.
    ``embedding``: from :func:`start_query_embedding` for the same query.
    """
    query = clean_query(raw_query)
    if not query:
        return []
    if embedding is None:
        embedding = _start_embedding(query, embedder)
    try:
        async with transaction_of_its_own(engine) as connection:
            candidates = await _collect(connection, query, embedding, classify(raw_query[:MAX_QUERY_CHARS]))
            ranked = fuse(candidates)[:limit]
            if not ranked:
                return []
            ids = [article_id for article_id, _ in ranked]
            chunk_ids = [candidates.dense_chunks[a] for a in ids if a in candidates.dense_chunks]
            rows = await connection.execute(_ARTICLES_SQL, {"ids": ids, "chunk_ids": chunk_ids})
            articles = {row.id: row for row in rows}
    finally:
        embedding.cancel()
    hits = []
    phrases = exact_phrases(query)
    for article_id, score in ranked:
        row = articles.get(article_id)
        if row is None:
            continue
        snippet = _snippet(row.chunk or row.symptoms or row.title, row.title, phrases)
        result = SearchResult(
            article_id=article_id,
            source_id=row.source_id,
            title=row.title,
            snippet=snippet,
            score=round(score, 6),
            source_url=row.source_url,
            attribution=row.attribution,
        )
        hits.append(ArticleHit(result, row.symptoms or "", row.resolution or "", row.product_group))
    return hits


def _snippet(chunk: str, title: str, phrases: list[str], width: int = 300) -> str:
    body = chunk.removeprefix(title).strip(" .\n")
    lowered = body.lower()
    for phrase in phrases:
        at = lowered.find(phrase.lower())
        if at >= 0:
            start = max(0, at - width // 3)
            return ("…" if start else "") + body[start : start + width].strip() + "…"
    return body[:width].strip() + ("…" if len(body) > width else "")
