"""Import articles from JSONL: validated line by line, upserted by source id, one transaction per batch.

A bad line is reported with its line number and skipped; an article is written with all its chunks and postings in
one transaction or not at all, and an unchanged article (same content hash, vectors of the current model) is
skipped, so re-running an import after a kill resumes where it stopped. BM25 statistics are refreshed at the end.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec
import structlog
from sqlalchemy import text

from server.db.transactions import autocommit_connection, transaction_of_its_own
from server.domain.knowledge.chunking import Chunk, chunk_article
from server.domain.knowledge.embeddings import Embedder, vector_literal

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    from server.domain.knowledge.seed import SeedVectors

__all__ = [
    "ATTRIBUTION",
    "STATS_LOCK",
    "WRITE_LOCK",
    "ArticleRecord",
    "ImportReport",
    "PreparedBatch",
    "import_records",
    "index_postings",
    "prepare_articles",
    "read_jsonl",
    "refresh_statistics",
    "source_url",
    "store_articles",
]

logger = structlog.get_logger(__name__)
ATTRIBUTION = "Microsoft support articles, CC BY 4.0, modified"
BATCH = 50
# Transaction-scoped advisory lock keys ("KB" in ASCII, then a number): growth and review edits of articles take
# WRITE_LOCK around read-modify-write; statistics refreshes take STATS_LOCK.
WRITE_LOCK = 0x4B42_0001
STATS_LOCK = 0x4B42_0002
Progress = Callable[[int, int], None]


class ArticleRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """One JSONL line of the seed corpus's shape (unknown fields are ignored)."""

    id: str
    title: str
    body: str
    symptoms: str = ""
    cause: str = ""
    resolution: str = ""
    source_repo: str | None = None
    source_path: str | None = None
    source_commit: str | None = None
    license: str | None = None
    product_group: str | None = None


@dataclass
class ImportReport:
    """What an import did."""

    total: int = 0
    written: int = 0
    unchanged: int = 0
    duplicates: int = 0
    bad_lines: list[tuple[int, str]] = field(default_factory=list)
    stopped: bool = False


_decoder = msgspec.json.Decoder(ArticleRecord)


def _validate(record: ArticleRecord) -> str | None:
    if not record.id.strip() or len(record.id) > 128:
        return "id must be 1 to 128 characters"
    if not record.title.strip():
        return "title must not be empty"
    if not record.body.strip() and not record.symptoms.strip():
        return "body and symptoms are both empty"
    if any("\x00" in value for value in (record.title, record.body, record.symptoms, record.cause, record.resolution)):
        return "text contains NUL characters"
    return None


def read_jsonl(path: Path) -> Iterator[tuple[int, ArticleRecord | str]]:
    """Yield ``(line number, record or error message)`` for every non-blank line of a (possibly .xz) JSONL file."""
    with path.open("rb") as probe:
        compressed = probe.read(6) == b"\xfd7zXZ\x00"
    raw_lines: Iterable[bytes]
    if compressed:
        import lzma  # noqa: PLC0415

        with lzma.open(path, "rb") as handle:
            raw_lines = handle.read().splitlines()
    else:
        raw_lines = path.read_bytes().splitlines()
    for number, raw in enumerate(raw_lines, start=1):
        if not raw.strip():
            continue
        try:
            record = _decoder.decode(raw)
        except msgspec.DecodeError as exc:
            yield number, f"not a valid article: {exc}"
            continue
        except UnicodeDecodeError:
            yield number, "not valid UTF-8"
            continue
        problem = _validate(record)
        yield number, (problem if problem else record)


def source_url(record: ArticleRecord) -> str | None:
    """The public link to an article's source file."""
    if record.source_repo and record.source_path:
        return f"https://github.com/{record.source_repo}/blob/main/{record.source_path}"
    return None


def _article_hash(record: ArticleRecord) -> str:
    return hashlib.sha256(msgspec.json.encode(record)).hexdigest()


async def import_records(
    engine: AsyncEngine,
    records: Iterable[tuple[int, ArticleRecord | str]],
    *,
    embedder: Callable[[], Embedder],
    model_name: str,
    seed_vectors: SeedVectors | None = None,
    origin: str = "manual",
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ImportReport:
    """Upsert ``records`` in batches; vectors come from ``seed_vectors`` when they match, else from ``embedder``.

    ``should_stop`` is asked before every batch; when it says so the import ends early (``report.stopped``), every
    batch written so far complete, and a later import resumes.
    """
    items = list(records)
    report = ImportReport(total=len(items))
    done = 0
    if progress is not None:
        progress(0, report.total)
    for start in range(0, len(items), BATCH):
        if should_stop is not None and should_stop():
            report.stopped = True
            return report
        batch: dict[str, ArticleRecord] = {}
        for number, item in items[start : start + BATCH]:
            if isinstance(item, str):
                report.bad_lines.append((number, item))
                continue
            if item.id in batch:
                report.duplicates += 1
            batch[item.id] = item
        if batch:
            written = await _import_batch(
                engine,
                batch=batch,
                embedder=embedder,
                model_name=model_name,
                seed_vectors=seed_vectors,
                origin=origin,
            )
            report.written += written
            report.unchanged += len(batch) - written
        done += len(items[start : start + BATCH])
        if progress is not None:
            progress(done, report.total)
    await refresh_statistics(engine, model_name)
    for number, problem in report.bad_lines:
        logger.warning("kb_import_bad_line", line=number, problem=problem)
    return report


@dataclass
class PreparedBatch:
    """Articles ready to store: their rows, chunks and vectors, computed before any transaction opens."""

    articles: list[dict[str, Any]]
    chunks: dict[str, list[Chunk]]
    vectors: dict[str, Any]
    model_name: str


async def prepare_articles(
    engine: AsyncEngine,
    batch: dict[str, ArticleRecord],
    *,
    embedder: Callable[[], Embedder],
    model_name: str,
    seed_vectors: SeedVectors | None = None,
    origin: str,
    force: bool = False,
) -> PreparedBatch:
    """Chunk and embed the articles of ``batch`` that changed (all of them with ``force``); the slow part."""
    hashes = {source_id: _article_hash(record) for source_id, record in batch.items()}
    current: dict[str, str] = {}
    if not force:
        async with transaction_of_its_own(engine) as connection:
            rows = await connection.execute(
                text(
                    "SELECT a.source_id, a.content_hash, "
                    "bool_and(c.embedding_model IS NOT DISTINCT FROM :model) AS ok "
                    "FROM kb_articles a LEFT JOIN kb_chunks c ON c.article_id = a.id "
                    "WHERE a.source_id = ANY(:ids) GROUP BY a.source_id, a.content_hash"
                ),
                {"ids": list(batch), "model": model_name},
            )
            current = {row.source_id: row.content_hash for row in rows if row.ok}
    todo = {sid: rec for sid, rec in batch.items() if current.get(sid) != hashes[sid]}
    chunks = {sid: chunk_article(rec.title, rec.symptoms, rec.body) for sid, rec in todo.items()}
    vectors: dict[str, Any] = {}
    usable = seed_vectors if seed_vectors and seed_vectors.model == model_name else None
    missing: dict[str, str] = {}
    for article_chunks in chunks.values():
        for chunk in article_chunks:
            if usable and chunk.content_hash in usable.vectors:
                vectors[chunk.content_hash] = usable.vectors[chunk.content_hash]
            else:
                missing[chunk.content_hash] = chunk.text
    if missing:
        model = embedder()
        computed = await asyncio.to_thread(model.embed, list(missing.values()))
        vectors.update(zip(missing, computed, strict=True))

    articles = [
        {
            "source_id": sid,
            "title": rec.title,
            "symptoms": rec.symptoms,
            "cause": rec.cause,
            "resolution": rec.resolution,
            "body": rec.body,
            "origin": origin,
            "product_group": rec.product_group,
            "source_repo": rec.source_repo,
            "source_path": rec.source_path,
            "source_commit": rec.source_commit,
            "source_url": source_url(rec),
            "license": rec.license,
            "attribution": ATTRIBUTION if rec.license and "CC-BY" in rec.license.upper() else None,
            "content_hash": hashes[sid],
        }
        for sid, rec in todo.items()
    ]
    return PreparedBatch(articles=articles, chunks=chunks, vectors=vectors, model_name=model_name)


async def store_articles(connection: AsyncConnection, prepared: PreparedBatch, *, published: bool = True) -> list[Any]:
    """Write prepared articles with all their chunks and postings inside the caller's transaction; their ids.

    ``published`` applies to new articles; an existing article keeps its state.
    """
    if not prepared.articles:
        return []
    ids = await _upsert_articles(connection, prepared.articles, published=published)
    id_list = list(ids.values())
    await connection.execute(text("DELETE FROM kb_chunks WHERE article_id = ANY(:ids)"), {"ids": id_list})
    chunk_rows = [
        {
            "article_id": ids[sid],
            "ordinal": chunk.ordinal,
            "text": chunk.text,
            "content_hash": chunk.content_hash,
            "embedding": vector_literal(prepared.vectors[chunk.content_hash]),
            "model": prepared.model_name,
        }
        for sid, article_chunks in prepared.chunks.items()
        for chunk in article_chunks
    ]
    await connection.execute(
        text(
            "INSERT INTO kb_chunks (article_id, ordinal, text, content_hash, embedding, embedding_model, tsv) "
            "VALUES (:article_id, :ordinal, :text, :content_hash, CAST(:embedding AS vector), :model, "
            "to_tsvector('simple', :text))"
        ),
        chunk_rows,
    )
    await index_postings(connection, id_list)
    return id_list


async def index_postings(connection: AsyncConnection, article_ids: list[Any]) -> None:
    """Rebuild the BM25 postings of ``article_ids``: only published articles have any."""
    await connection.execute(text("DELETE FROM kb_postings WHERE article_id = ANY(:ids)"), {"ids": article_ids})
    await connection.execute(
        text(
            "INSERT INTO kb_postings (term, article_id, tf, doc_len) "
            "SELECT t.lexeme, t.id, t.tf, sum(t.tf) OVER (PARTITION BY t.id) FROM ("
            "SELECT u.lexeme, a.id, coalesce(array_length(u.positions, 1), 1) AS tf "
            "FROM kb_articles a, unnest(a.search_tsv) u WHERE a.id = ANY(:ids) AND a.published) t"
        ),
        {"ids": article_ids},
    )
    await connection.execute(
        text(
            "UPDATE kb_articles a SET doc_len = coalesce(s.len, 0) FROM ("
            "SELECT article_id, sum(tf) AS len FROM kb_postings WHERE article_id = ANY(:ids) GROUP BY article_id"
            ") s WHERE a.id = s.article_id"
        ),
        {"ids": article_ids},
    )


async def _import_batch(
    engine: AsyncEngine,
    *,
    batch: dict[str, ArticleRecord],
    embedder: Callable[[], Embedder],
    model_name: str,
    seed_vectors: SeedVectors | None,
    origin: str,
    published: bool = True,
) -> int:
    prepared = await prepare_articles(
        engine, batch, embedder=embedder, model_name=model_name, seed_vectors=seed_vectors, origin=origin
    )
    if not prepared.articles:
        return 0
    async with transaction_of_its_own(engine) as connection:
        await store_articles(connection, prepared, published=published)
    return len(prepared.articles)


async def _upsert_articles(
    connection: AsyncConnection, rows: list[dict[str, Any]], *, published: bool = True
) -> dict[str, Any]:
    columns = list(rows[0])
    result = await connection.execute(
        text(
            f"INSERT INTO kb_articles (id, {', '.join(columns)}, published, doc_len, search_tsv, created_at, "
            "updated_at) SELECT gen_random_uuid(), "
            + ", ".join(f"r.{c}" for c in columns)
            + ", CAST(:published AS boolean), 0, "
            "to_tsvector('simple', r.title || ' ' || r.symptoms || ' ' || r.body), now(), now() "
            "FROM json_to_recordset(CAST(:rows AS json)) AS r("
            + ", ".join(f"{c} text" for c in columns)
            + ") ON CONFLICT (source_id) DO UPDATE SET "
            + ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != "source_id")
            + ", search_tsv = EXCLUDED.search_tsv, updated_at = now() RETURNING source_id, id"
        ),
        {"rows": json.dumps(rows), "published": published},
    )
    return {row.source_id: row.id for row in result}


async def refresh_statistics(engine: AsyncEngine, model_name: str | None = None, *, vacuum: bool = True) -> None:
    """Recompute document frequencies, corpus size and average length over published articles.

    Serialized by an advisory lock: two refreshes at once would both re-insert every term and one would fail.
    ``vacuum`` also refreshes the planner's statistics (after imports and reviews; one added article leaves that to
    autovacuum).
    """
    async with transaction_of_its_own(engine) as connection:
        await connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": STATS_LOCK})
        await connection.execute(text("DELETE FROM kb_terms"))
        await connection.execute(
            text("INSERT INTO kb_terms (term, df) SELECT term, count(*) FROM kb_postings GROUP BY term")
        )
        await connection.execute(
            text(
                "INSERT INTO kb_meta (id, n_docs, avg_doc_len, embedding_model, embedding_dim) "
                "SELECT 1, count(*), coalesce(avg(doc_len), 0), :model, 384 FROM kb_articles WHERE published "
                "ON CONFLICT (id) DO UPDATE SET n_docs = EXCLUDED.n_docs, avg_doc_len = EXCLUDED.avg_doc_len, "
                "embedding_model = coalesce(EXCLUDED.embedding_model, kb_meta.embedding_model)"
            ),
            {"model": model_name},
        )
    if not vacuum:
        return
    # Fresh planner statistics: without them the BM25 query plans nested loops over thousands of postings.
    async with autocommit_connection(engine) as connection:
        for table in ("kb_articles", "kb_chunks", "kb_postings", "kb_terms", "kb_meta"):
            # VACUUM also sets the visibility map, so the postings are read by index-only scans.
            await connection.execute(text(f"VACUUM (ANALYZE) {table}"))
