"""Knowledge-base operations the app and the CLI share: seed import on first start, file import, re-embedding."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server.db.transactions import transaction_of_its_own
from server.domain.knowledge.embeddings import (
    LOCAL_MODEL_NAME,
    OPENAI_MODEL_NAME,
    Embedder,
    Embedders,
    build_embedder,
    vector_literal,
)
from server.domain.knowledge.importer import ImportReport, import_records, read_jsonl, refresh_statistics
from server.domain.knowledge.seed import SEED_CORPUS, load_seed_vectors

if TYPE_CHECKING:
    from pathlib import Path

    from server.settings import AISettings

__all__ = [
    "KbState",
    "KbStatus",
    "ModelMismatchError",
    "SeedImport",
    "import_file",
    "model_name_for",
    "reembed",
    "stored_model",
]

logger = structlog.get_logger(__name__)
Progress = Callable[[int, int], None]
SEED_STOP_TIMEOUT_S = 5.0


KbState = Literal["pending", "importing", "ready", "failed"]


@dataclass
class KbStatus:
    """The state of this process's knowledge-base import, reported by ``/health``.

    ``pending`` from the moment a server that will import starts until the import begins (or finds nothing to do),
    ``importing`` with ``done``/``total`` articles while it runs, ``ready`` when the knowledge base is complete,
    ``failed`` when the import broke off (the log says why; the next start resumes it).
    """

    state: KbState = "ready"
    done: int = 0
    total: int = 0

    @property
    def ready(self) -> bool:
        """Whether the knowledge base is complete (what a readiness probe waits for)."""
        return self.state == "ready"

    @property
    def share_done(self) -> float:
        """The share of the import done, 0.0–1.0 (0.0 while the total is unknown)."""
        return self.done / self.total if self.total else 0.0


class ModelMismatchError(RuntimeError):
    """The stored vectors belong to another embedding model than the configured one."""


def model_name_for(kind: str) -> str:
    """The model name recorded with vectors made by the ``kind`` embedder (without loading it)."""
    return LOCAL_MODEL_NAME if kind == "local" else f"openai:{OPENAI_MODEL_NAME}"


async def stored_model(engine: AsyncEngine) -> str | None:
    """The embedding model the stored vectors belong to (``None`` before the first import)."""
    async with transaction_of_its_own(engine) as connection:
        return (await connection.execute(text("SELECT embedding_model FROM kb_meta WHERE id = 1"))).scalar()


async def _check_model(engine: AsyncEngine, model: str) -> None:
    stored = await stored_model(engine)
    if stored is not None and stored != model:
        raise ModelMismatchError(
            f"the knowledge base holds vectors of {stored!r} but TECHPAL_EMBEDDINGS selects {model!r}: "
            "run `techpal-server kb reembed` first"
        )


async def import_file(
    engine: AsyncEngine,
    path: Path,
    *,
    kind: str = "local",
    ai: AISettings | None = None,
    origin: str = "manual",
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    embedders: Embedders | None = None,
) -> ImportReport:
    """Import a JSONL file of articles (idempotent: upsert by source id).

    The embedder comes from ``embedders`` (the app's, built once) or, without it, is built for this import.
    """
    model = model_name_for(kind)
    await _check_model(engine, model)
    return await import_records(
        engine,
        await asyncio.to_thread(lambda: list(read_jsonl(path))),
        embedder=(lambda: embedders.get(kind, ai)) if embedders is not None else (lambda: build_embedder(kind, ai)),
        model_name=model,
        seed_vectors=await asyncio.to_thread(load_seed_vectors),
        origin=origin,
        progress=progress,
        should_stop=should_stop,
    )


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def import_seed(
    engine: AsyncEngine,
    kind: str,
    status: KbStatus,
    *,
    should_stop: Callable[[], bool] | None = None,
    ai: AISettings | None = None,
    embedders: Embedders | None = None,
) -> None:
    """Import the shipped seed corpus unless this exact corpus was fully imported already."""
    digest = await asyncio.to_thread(_digest, SEED_CORPUS)
    async with transaction_of_its_own(engine) as connection:
        done = (await connection.execute(text("SELECT seed_digest FROM kb_meta WHERE id = 1"))).scalar()
    if done == digest:
        status.state = "ready"  # nothing is due: the seed is in the database already
        return

    def progress(count: int, total: int) -> None:
        status.done, status.total = count, total

    status.state = "importing"
    outcome: KbState = "failed"
    try:
        report = await import_file(
            engine,
            SEED_CORPUS,
            kind=kind,
            ai=ai,
            origin="seed",
            progress=progress,
            should_stop=should_stop,
            embedders=embedders,
        )
        if report.stopped:
            outcome = "importing"  # stopped for shutdown: the next start resumes it
            return
        async with transaction_of_its_own(engine) as connection:
            await connection.execute(text("UPDATE kb_meta SET seed_digest = :d WHERE id = 1"), {"d": digest})
        logger.info("kb_seed_imported", written=report.written, unchanged=report.unchanged, bad=len(report.bad_lines))
        outcome = "ready"
    finally:
        status.state = outcome


class SeedImport:
    """The seed import of a starting server, in a thread of its own, stopped at shutdown.

    The import runs on its own event loop and connection pool, so its CPU work (chunking, hashing, vector literals)
    never stalls requests, and shutdown only has to raise a flag: the import stops before its next batch (every
    batch is one transaction, so nothing is left half-written) and resumes on the next start.
    """

    def __init__(self, url: str, kind: str, ai: AISettings | None, status: KbStatus, embedders: Embedders) -> None:
        self._url, self._kind, self._ai, self._status, self._embedders = url, kind, ai, status, embedders
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kb-seed-import", daemon=True)

    def start(self) -> None:
        """Begin importing in the background; returns at once."""
        self._thread.start()

    async def stop(self) -> None:
        """Ask the import to stop before its next batch and wait a moment for it."""
        self._stop.set()
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join, SEED_STOP_TIMEOUT_S)

    def _run(self) -> None:
        async def main() -> None:
            engine = create_async_engine(self._url, pool_size=1, max_overflow=0)
            try:
                await import_seed(
                    engine,
                    self._kind,
                    self._status,
                    should_stop=self._stop.is_set,
                    ai=self._ai,
                    embedders=self._embedders,
                )
            finally:
                await engine.dispose()

        try:
            asyncio.run(main())
        except ModelMismatchError as exc:  # the knowledge base there is complete, embedded by another model
            logger.error("kb_seed_skipped", reason=str(exc))
            self._status.state = "ready"
        except Exception:
            logger.exception("kb_seed_failed")
            self._status.state = "failed"


async def reembed(engine: AsyncEngine, embedder: Embedder, progress: Progress | None = None, batch: int = 256) -> int:
    """Re-embed every chunk whose vector belongs to another model, then record the model. Resumable."""
    async with transaction_of_its_own(engine) as connection:
        total = (
            await connection.execute(
                text("SELECT count(*) FROM kb_chunks WHERE embedding_model IS DISTINCT FROM :m"),
                {"m": embedder.model_name},
            )
        ).scalar_one()
    done = 0
    while True:
        async with transaction_of_its_own(engine) as connection:
            rows = (
                await connection.execute(
                    text(
                        "SELECT id, text FROM kb_chunks WHERE embedding_model IS DISTINCT FROM :m ORDER BY id LIMIT :n"
                    ),
                    {"m": embedder.model_name, "n": batch},
                )
            ).all()
        if not rows:
            break
        vectors = await asyncio.to_thread(embedder.embed, [row.text for row in rows])
        async with transaction_of_its_own(engine) as connection:
            await connection.execute(
                text("UPDATE kb_chunks SET embedding = CAST(:v AS vector), embedding_model = :m WHERE id = :id"),
                [
                    {
                        "id": row.id,
                        "m": embedder.model_name,
                        "v": vector_literal(v),
                    }
                    for row, v in zip(rows, vectors, strict=True)
                ],
            )
        done += len(rows)
        if progress is not None:
            progress(done, total)
    async with transaction_of_its_own(engine) as connection:
        await connection.execute(
            text("UPDATE kb_meta SET embedding_model = :m WHERE id = 1"), {"m": embedder.model_name}
        )
    await refresh_statistics(engine, embedder.model_name)
    return done
