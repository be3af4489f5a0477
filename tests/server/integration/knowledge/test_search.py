"""Hybrid search on the real seed corpus: error codes found exactly, plain language found semantically."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server.domain.knowledge.embeddings import Embedder, Vectors, build_embedder
from server.domain.knowledge.evaluation import evaluate, load_queries
from server.domain.knowledge.search import search
from tests.fixtures.db import connect
from tests.fixtures.kb import RecordingEmbedder

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

DEV_QUERIES = Path(__file__).resolve().parents[4] / "bench" / "data" / "dev_queries.jsonl"


@pytest.fixture
async def kb_engine(kb_db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(kb_db_url)
    yield engine
    await engine.dispose()


async def article_text(url: str, source_id: str | None) -> str:
    connection = await connect(url)
    try:
        return str(
            await connection.fetchval(
                "SELECT title || ' ' || symptoms || ' ' || body FROM kb_articles WHERE source_id = $1", source_id
            )
        )
    finally:
        await connection.close()


@pytest.mark.parametrize(
    "literal",
    [
        "0x80070005",
        "AADSTS50076",
        "0x800F081F",
        "The trust relationship between this workstation and the primary domain",
    ],
)
async def test_error_codes_and_messages_are_matched_literally(
    kb_engine: AsyncEngine, kb_db_url: str, literal: str
) -> None:
    hits = await search(kb_engine, f'"{literal}"' if " " in literal else literal, build_embedder("local"), limit=5)

    assert hits
    for hit in hits[:3]:
        assert literal.lower() in (await article_text(kb_db_url, hit.source_id)).lower()


async def test_plain_language_finds_articles_by_meaning(kb_engine: AsyncEngine) -> None:
    hits = await search(kb_engine, "i can't print anything, the printer just sits there", build_embedder("local"))

    assert any("print" in hit.title.lower() for hit in hits[:5])
    assert len({hit.article_id for hit in hits}) == len(hits)  # de-duplicated
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)


class EmbedderWaitingForKeywords(RecordingEmbedder):
    """The local model, answering only once the keyword search has reached the database."""

    def __init__(self, inner: Embedder, keyword_search_sent: threading.Event) -> None:
        super().__init__(inner)
        self._keyword_search_sent = keyword_search_sent

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not self._keyword_search_sent.wait(timeout=5):
            raise AssertionError("the query was embedded before the keyword search was sent: one waited for the other")
        return super().embed(texts)


async def test_the_query_is_embedded_while_the_keyword_search_runs(kb_engine: AsyncEngine) -> None:
    # The embedding is the slowest step before the answer's first token: it must not wait for the database.
    keyword_search_sent = threading.Event()

    def note_keyword_search(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "kb_postings" in statement:
            keyword_search_sent.set()

    event.listen(kb_engine.sync_engine, "before_cursor_execute", note_keyword_search)
    embedder = EmbedderWaitingForKeywords(build_embedder("local"), keyword_search_sent)

    hits = await search(kb_engine, "the printer just sits there and nothing comes out", embedder)

    assert embedder.inputs == ["the printer just sits there and nothing comes out"]
    assert any("print" in hit.title.lower() for hit in hits[:5])


@pytest.mark.slow
async def test_dev_queries_reach_the_quality_targets(kb_engine: AsyncEngine) -> None:
    scores, _, _ = await evaluate(kb_engine, load_queries(DEV_QUERIES), build_embedder("local"))

    rows = {name: s.row() for name, s in scores.items()}
    # The measured values are in bench/README.md; these floors catch regressions.
    assert rows["standard"]["R@5"] >= 0.95
    assert rows["plain"]["R@5"] >= 0.75
    assert rows["error_text"]["R@1"] >= 0.90


async def test_cli_eval_prints_recall_and_mrr_per_set(kb_db_url: str, tmp_path: Path) -> None:
    import asyncio

    from click.testing import CliRunner

    from server.__main__ import cli

    queries = tmp_path / "queries.jsonl"
    queries.write_text("".join(DEV_QUERIES.read_text(encoding="utf-8").splitlines(keepends=True)[:6]), encoding="utf-8")
    env = {"TECHPAL_DATABASE_URL": kb_db_url, "TECHPAL_SECRET_KEY": "k" * 40, "TECHPAL_DATA_DIR": str(tmp_path / "d")}

    result = await asyncio.to_thread(CliRunner().invoke, cli, ["kb", "eval", str(queries)], env=env)

    assert result.exit_code == 0, result.output
    assert "R@1" in result.output
    assert "MRR" in result.output
    assert "standard" in result.output
