"""Importing articles: bad and duplicate lines, idempotence, a kill mid-import, and the CLI."""

from __future__ import annotations

import asyncio
import json
import lzma
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server.__main__ import cli
from server.domain.knowledge.seed import SEED_CORPUS
from server.domain.knowledge.services import import_file
from tests.fixtures.db import connect

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

ROOT = Path(__file__).resolve().parents[4]


def seed_lines(count: int, start: int = 0) -> list[str]:
    with lzma.open(SEED_CORPUS, "rt", encoding="utf-8") as handle:
        lines = [line for line in handle if line.strip()]
    return lines[start : start + count]


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(db_url)
    yield engine
    await engine.dispose()


async def counts(db_url: str) -> dict[str, int]:
    connection = await connect(db_url)
    try:
        return {
            "articles": await connection.fetchval("SELECT count(*) FROM kb_articles"),
            "chunks": await connection.fetchval("SELECT count(*) FROM kb_chunks"),
            # "never half an article": every article has its summary chunk, vectors and BM25 postings
            "incomplete": await connection.fetchval(
                "SELECT count(*) FROM kb_articles a WHERE NOT EXISTS "
                "(SELECT 1 FROM kb_chunks c WHERE c.article_id = a.id AND c.ordinal = 0 AND c.embedding IS NOT NULL)"
                " OR NOT EXISTS (SELECT 1 FROM kb_postings p WHERE p.article_id = a.id)"
            ),
            "terms": await connection.fetchval("SELECT count(*) FROM kb_terms"),
        }
    finally:
        await connection.close()


async def test_bad_lines_are_reported_by_number_and_skipped(engine: AsyncEngine, db_url: str, tmp_path: Path) -> None:
    good = seed_lines(3)
    missing_title = json.loads(good[0]) | {"id": "x-1", "title": ""}
    lines = [
        good[0],
        "{not json\n",
        json.dumps(missing_title) + "\n",
        good[1],
        '{"id": "x-2"}\n',
        "\n",
        good[2],
    ]
    path = tmp_path / "articles.jsonl"
    path.write_bytes("".join(lines).encode() + b'{"id": "x-3", "title": "\xff\xfe"}\n')

    report = await import_file(engine, path)

    assert report.written == 3
    assert [number for number, _ in report.bad_lines] == [2, 3, 5, 8]
    assert "title" in report.bad_lines[1][1]
    assert (await counts(db_url))["articles"] == 3
    assert (await counts(db_url))["incomplete"] == 0


async def test_import_is_idempotent_and_upserts_by_source_id(engine: AsyncEngine, db_url: str, tmp_path: Path) -> None:
    lines = seed_lines(5)
    path = tmp_path / "articles.jsonl"
    path.write_text("".join(lines) + lines[0], encoding="utf-8")  # a duplicate id in the file

    first = await import_file(engine, path)
    again = await import_file(engine, path)
    changed = json.loads(lines[1]) | {"title": "An edited title"}
    path.write_text(json.dumps(changed) + "\n", encoding="utf-8")
    edited = await import_file(engine, path)

    assert (first.written, first.duplicates) == (5, 1)
    assert (again.written, again.unchanged) == (0, 5)
    assert edited.written == 1
    state = await counts(db_url)
    assert state["articles"] == 5
    assert state["incomplete"] == 0
    connection = await connect(db_url)
    try:
        title = await connection.fetchval(
            "SELECT title FROM kb_articles WHERE source_id = $1", json.loads(lines[1])["id"]
        )
    finally:
        await connection.close()
    assert title == "An edited title"


@pytest.mark.slow
async def test_an_import_killed_midway_resumes_without_half_articles(
    engine: AsyncEngine, db_url: str, tmp_path: Path
) -> None:
    # GIVEN an import of 600 articles running in another process
    path = tmp_path / "articles.jsonl"
    path.write_text("".join(seed_lines(600)), encoding="utf-8")
    code = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from sqlalchemy.ext.asyncio import create_async_engine\n"
        "from server.domain.knowledge.services import import_file\n"
        "asyncio.run(import_file(create_async_engine(sys.argv[1]), Path(sys.argv[2])))\n"
    )
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", code, db_url, str(path), cwd=ROOT)
    # WHEN it is killed (SIGKILL: no cleanup at all) once some articles are in
    try:
        for _ in range(600):
            if (await counts(db_url))["articles"] >= 100 or process.returncode is not None:
                break
            await asyncio.sleep(0.05)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        await process.wait()
    partial = await counts(db_url)
    assert 0 < partial["articles"] < 600
    assert partial["incomplete"] == 0  # never half an article

    # THEN importing again finishes the job and skips what was done
    report = await import_file(engine, path)

    assert report.unchanged >= partial["articles"]
    assert report.written == 600 - report.unchanged
    state = await counts(db_url)
    assert (state["articles"], state["incomplete"]) == (600, 0)
    assert state["terms"] > 1000


async def test_cli_imports_with_a_summary_and_reports_bad_lines(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "articles.jsonl"
    path.write_text("".join(seed_lines(2)) + "oops\n", encoding="utf-8")
    env = {"TECHPAL_DATABASE_URL": db_url, "TECHPAL_SECRET_KEY": "k" * 40, "TECHPAL_DATA_DIR": str(tmp_path / "d")}

    # The command runs its own event loop, as it does from a shell.
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["kb", "import", str(path)], env=env, catch_exceptions=False
    )

    assert result.exit_code == 0, result.output
    assert "line 3: skipped" in result.output
    assert "2 written" in result.output
