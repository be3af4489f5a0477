"""Knowledge-base search benchmark: latency at the seed size and at 100k chunks, HNSW recall, numpy baseline.

    nice .venv/bin/python bench/kb_search.py [--url postgresql+asyncpg://…] [--chunks 100000]

Without ``--url`` it starts a throwaway embedded PostgreSQL, migrates it and imports the seed corpus (timed). Then,
with the dev queries (bench/data/dev_queries.jsonl) embedded once:

1. seed size: p50/p95 of the whole hybrid search (BM25 + HNSW + exact matches + fusion, query embedding excluded
   and reported apart), of the HNSW query alone, and of a numpy brute-force scan of the same vectors; HNSW
   recall@10 against exact search (numpy) on the same queries;
2. grown to ``--chunks`` chunks with synthetic vectors (perturbed copies of real ones, re-normalised) under
   synthetic articles: the same figures.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine  # noqa: E402

from server.domain.knowledge.embeddings import LOCAL_MODEL_NAME, build_embedder  # noqa: E402
from server.domain.knowledge.evaluation import load_queries  # noqa: E402
from server.domain.knowledge.search import clean_query, fuse, gather  # noqa: E402
from server.domain.knowledge.seed import SEED_CORPUS  # noqa: E402
from server.domain.knowledge.services import import_file  # noqa: E402

QUERIES = ROOT / "bench" / "data" / "dev_queries.jsonl"
EF_SEARCH = 200


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


def literal(v: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.6g}" for x in v.tolist()) + "]"


async def load_matrix(engine: AsyncEngine) -> tuple[np.ndarray, np.ndarray]:
    async with engine.connect() as c:
        rows = (
            await c.execute(text("SELECT id, embedding::text AS e FROM kb_chunks WHERE embedding IS NOT NULL"))
        ).all()
    ids = np.array([r.id for r in rows])
    matrix = np.array([np.fromstring(r.e.strip("[]"), sep=",", dtype=np.float32) for r in rows])
    return ids, matrix


async def measure(engine: AsyncEngine, label: str, queries: list[str], vectors: np.ndarray) -> None:
    embedder = build_embedder("local")
    ids, matrix = await load_matrix(engine)
    # numpy brute force: exact top-10 chunk ids, and its latency
    exact, brute = [], []
    for v in vectors:
        t = time.perf_counter()
        scores = matrix @ v
        top = np.argpartition(-scores, 10)[:10]
        brute.append((time.perf_counter() - t) * 1000)
        exact.append(set(ids[top].tolist()))
    # HNSW alone
    hnsw, recalls = [], []
    async with engine.connect() as c:
        await c.execute(text(f"SET hnsw.ef_search = {EF_SEARCH}"))
        await c.execute(text("SET enable_seqscan = off"))  # as search does: the index even where a scan looks cheaper
        for v, truth in zip(vectors, exact, strict=True):
            t = time.perf_counter()
            rows = (
                await c.execute(
                    text("SELECT id FROM kb_chunks ORDER BY embedding <=> CAST(:v AS vector) LIMIT 10"),
                    {"v": literal(v)},
                )
            ).all()
            hnsw.append((time.perf_counter() - t) * 1000)
            recalls.append(len(truth & {r.id for r in rows}) / 10)
    # the whole hybrid search (embedding excluded)
    hybrid = []
    for q, v in zip(queries, vectors, strict=True):
        t = time.perf_counter()
        fuse(await gather(engine, q, embedder, v))
        hybrid.append((time.perf_counter() - t) * 1000)
    print(
        f"{label}: {len(ids)} chunks\n"
        f"  hybrid search  p50 {pct(hybrid, 50):6.1f} ms  p95 {pct(hybrid, 95):6.1f} ms\n"
        f"  HNSW top-10    p50 {pct(hnsw, 50):6.1f} ms  p95 {pct(hnsw, 95):6.1f} ms  "
        f"recall@10 vs exact {statistics.mean(recalls):.3f} (ef_search {EF_SEARCH})\n"
        f"  numpy brute    p50 {pct(brute, 50):6.1f} ms  p95 {pct(brute, 95):6.1f} ms",
        flush=True,
    )


async def grow(engine: AsyncEngine, target: int, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    _, matrix = await load_matrix(engine)
    missing = target - len(matrix)
    if missing <= 0:
        return
    started = time.perf_counter()
    per_article = 50
    async with engine.begin() as c:
        await c.execute(text("DROP INDEX IF EXISTS ix_kb_chunks_embedding_hnsw"))
        for start in range(0, missing, per_article * 100):
            articles = []
            chunks = []
            for _ in range(min(100, -(-(missing - start) // per_article))):
                article_id = uuid.uuid4()
                articles.append({"id": article_id, "sid": f"synthetic-{article_id.hex[:12]}"})
                for ordinal in range(per_article):
                    if start + len(chunks) >= missing:
                        break
                    base = matrix[rng.integers(len(matrix))]
                    v = base + rng.normal(0, 0.35 / np.sqrt(len(base)), len(base)).astype(np.float32)
                    v /= np.linalg.norm(v)
                    chunks.append({"a": article_id, "o": ordinal, "v": literal(v)})
            await c.execute(
                text(
                    "INSERT INTO kb_articles (id, source_id, title, symptoms, cause, resolution, body, origin, "
                    "published, content_hash, doc_len, created_at, updated_at) VALUES (:id, :sid, 'synthetic', '', "
                    "'', '', '', 'manual', true, '', 0, now(), now())"
                ),
                articles,
            )
            await c.execute(
                text(
                    "INSERT INTO kb_chunks (article_id, ordinal, text, content_hash, embedding, embedding_model) "
                    f"VALUES (:a, :o, '', '', CAST(:v AS vector), '{LOCAL_MODEL_NAME}')"
                ),
                chunks,
            )
        await c.execute(text("SET maintenance_work_mem = '512MB'"))
        await c.execute(
            text(
                "CREATE INDEX ix_kb_chunks_embedding_hnsw ON kb_chunks USING hnsw (embedding vector_cosine_ops) "
                "WITH (m = 16, ef_construction = 64)"
            )
        )
        await c.execute(text("ANALYZE kb_chunks"))
    print(f"grew by {missing} synthetic chunks (+ HNSW rebuild) in {time.perf_counter() - started:.0f} s", flush=True)


async def run(url: str, chunks: int, do_import: bool) -> None:
    engine = create_async_engine(url)
    if do_import:
        started = time.perf_counter()
        await import_file(engine, SEED_CORPUS, kind="local", origin="seed")
        print(f"seed import: {time.perf_counter() - started:.1f} s", flush=True)
    labelled = load_queries(QUERIES)
    queries = [clean_query(q.query) for q in labelled]
    embedder = build_embedder("local")
    timings = []
    for q in queries[:100]:
        t = time.perf_counter()
        embedder.embed([q])
        timings.append((time.perf_counter() - t) * 1000)
    print(f"query embedding: p50 {pct(timings, 50):.1f} ms  p95 {pct(timings, 95):.1f} ms", flush=True)
    vectors = embedder.embed(queries)
    await measure(engine, "seed size", queries, vectors)
    if chunks:
        await grow(engine, chunks)
        await measure(engine, f"grown to {chunks}", queries, vectors)
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a migrated database WITH the seed imported (it is grown in place!)")
    parser.add_argument("--chunks", type=int, default=100_000)
    args = parser.parse_args()
    if args.url:
        asyncio.run(run(args.url, args.chunks, do_import=False))
        return
    from server.db.embedded import EmbeddedPostgres  # noqa: PLC0415
    from server.db.migrate import upgrade  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="techpal-bench-") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "postgres", extra_settings={"fsync": "off", "synchronous_commit": "off"})
        pg.start()
        try:
            upgrade(pg.url)
            asyncio.run(run(pg.url, args.chunks, do_import=True))
        finally:
            pg.stop()


if __name__ == "__main__":
    main()
