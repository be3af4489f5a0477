"""OpenAI embeddings through the real SDK against a local OpenAI-compatible server; switching models never mixes."""

from __future__ import annotations

import lzma
from typing import TYPE_CHECKING

import numpy as np
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server.app import create_app
from server.domain.accounts.cli import change_role
from server.domain.knowledge.embeddings import EmbeddingError, build_embedder
from server.domain.knowledge.search import gather, search
from server.domain.knowledge.seed import SEED_CORPUS
from server.domain.knowledge.services import ModelMismatchError, import_file
from server.settings import AISettings, Secret, Settings
from tests.fixtures.auth import create_user
from tests.fixtures.db import connect
from tests.fixtures.server import run_server_command

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from tests.fixtures.mail import Mailbox
    from tests.fixtures.openai_api import FakeOpenAI

OPENAI_MODEL = "openai:text-embedding-3-small"
LOCAL_MODEL = "all-MiniLM-L6-v2-int8"


@pytest.fixture
def ai(openai_server: FakeOpenAI) -> AISettings:
    """Embeddings pointed at the fake server; the chat model's URL stays elsewhere."""
    return AISettings(
        base_url="http://127.0.0.1:9/v1", embeddings_base_url=openai_server.base_url, api_key=Secret("sk-test-kb")
    )


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """The first 12 seed articles as a JSONL file."""
    with lzma.open(SEED_CORPUS, "rt", encoding="utf-8") as handle:
        lines = [line for line in handle if line.strip()][:12]
    path = tmp_path / "few.jsonl"
    path.write_text("".join(lines), encoding="utf-8")
    return path


async def models_in(db_url: str) -> tuple[set[str], str | None]:
    """The embedding models of the stored chunks, and the one ``kb_meta`` records."""
    connection = await connect(db_url)
    try:
        chunks = {row["embedding_model"] for row in await connection.fetch("SELECT embedding_model FROM kb_chunks")}
        return chunks, await connection.fetchval("SELECT embedding_model FROM kb_meta")
    finally:
        await connection.close()


def test_openai_embedder_sends_model_and_dimensions(openai_server: FakeOpenAI, ai: AISettings) -> None:
    embedder = build_embedder("openai", ai)

    vectors = embedder.embed(["Outlook keeps asking for the password", "printer offline"])

    assert embedder.model_name == OPENAI_MODEL
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    (request,) = openai_server.requests_of("embeddings")
    assert request.path == "/v1/embeddings"
    assert request.body["model"] == "text-embedding-3-small"
    assert request.body["dimensions"] == 384
    assert request.body["input"] == ["Outlook keeps asking for the password", "printer offline"]
    assert request.headers["authorization"] == "Bearer sk-test-kb"
    # the chat model's base URL was not used for embeddings
    assert openai_server.requests == [request]


@pytest.mark.parametrize("ai", [None, AISettings(), AISettings(model="gpt-4o")])
def test_openai_without_key_or_url_is_a_clear_error(ai: AISettings | None) -> None:
    with pytest.raises(EmbeddingError, match="TECHPAL_AI_API_KEY"):
        build_embedder("openai", ai)


def test_an_unreachable_server_is_an_embedding_error() -> None:
    embedder = build_embedder("openai", AISettings(embeddings_base_url="http://127.0.0.1:9/v1", timeout=2))
    with pytest.raises(EmbeddingError, match="OpenAI embeddings failed"):
        embedder.embed(["anything"])


async def test_import_with_openai_records_the_model_with_every_vector(
    engine: AsyncEngine, db_url: str, corpus: Path, openai_server: FakeOpenAI, ai: AISettings
) -> None:
    report = await import_file(engine, corpus, kind="openai", ai=ai)

    assert report.written == 12
    assert await models_in(db_url) == ({OPENAI_MODEL}, OPENAI_MODEL)
    requests = openai_server.requests_of("embeddings")
    assert requests
    assert {(r.body["model"], r.body["dimensions"]) for r in requests} == {("text-embedding-3-small", 384)}
    hits = await search(engine, "azure ad management agent", build_embedder("openai", ai))
    assert hits


async def test_switching_to_openai_never_mixes_until_reembed(
    engine: AsyncEngine, db_url: str, corpus: Path, openai_server: FakeOpenAI, ai: AISettings, *, tmp_path: Path
) -> None:
    await import_file(engine, corpus, kind="local")
    openai = build_embedder("openai", ai)

    # importing with the other model is refused with the command that fixes it
    with pytest.raises(ModelMismatchError, match="kb reembed"):
        await import_file(engine, corpus, kind="openai", ai=ai)
    # search with the new model ignores the old model's vectors: no dense candidates, keywords still answer
    candidates = await gather(engine, "azure ad management agent stops", openai)
    assert candidates.dense == []
    assert candidates.bm25
    assert await search(engine, "azure ad management agent stops", openai)

    code, output = await run_kb_cli(db_url, tmp_path, openai_server, "reembed")

    assert code == 0, output
    assert "chunks re-embedded" in output
    assert await models_in(db_url) == ({OPENAI_MODEL}, OPENAI_MODEL)
    candidates = await gather(engine, "azure ad management agent stops", openai)
    assert candidates.dense
    # and the local model's search now finds no vectors of its own, rather than comparing across models
    assert (await gather(engine, "azure ad management agent stops", build_embedder("local"))).dense == []


async def test_reembed_without_openai_configuration_is_a_clear_cli_error(
    db_url: str, tmp_path: Path, openai_server: FakeOpenAI
) -> None:
    code, output = await run_kb_cli(db_url, tmp_path, None, "reembed")

    assert code != 0
    assert "TECHPAL_AI_API_KEY" in output
    assert "Traceback" not in output


async def test_search_answers_by_keywords_when_openai_is_not_configured(
    settings: Settings, engine: AsyncEngine, corpus: Path, mailbox: Mailbox
) -> None:
    await import_file(engine, corpus, kind="local")
    app = create_app(settings.replace(embeddings="openai", ai=AISettings()))
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        client.headers.update((await create_user(client, mailbox)).headers)
        response = await client.get("/api/v1/kb/search", params={"q": "Azure AD Management Agent stops responding"})

    assert response.status_code == 200
    results = response.json()["results"]
    assert results
    assert "Management Agent" in results[0]["title"]


async def test_review_edit_with_openai_unconfigured_is_503_and_changes_nothing(
    settings: Settings, engine: AsyncEngine, db_url: str, corpus: Path, mailbox: Mailbox
) -> None:
    await import_file(engine, corpus, kind="local")
    connection = await connect(db_url)
    try:
        article_id, before = await connection.fetchrow("SELECT id, content_hash FROM kb_articles LIMIT 1")
    finally:
        await connection.close()
    app = create_app(settings.replace(embeddings="openai", ai=AISettings()))
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        user = await create_user(client, mailbox)
        await change_role(db_url, user.email, "admin", grant=True)
        response = await client.patch(
            f"/api/v1/kb/articles/{article_id}", json={"title": "A better title"}, headers=user.headers
        )

    assert response.status_code == 503
    assert response.json()["code"] == "embeddings_unavailable"
    connection = await connect(db_url)
    try:
        assert await connection.fetchval("SELECT content_hash FROM kb_articles WHERE id = $1", article_id) == before
    finally:
        await connection.close()


async def run_kb_cli(db_url: str, tmp_path: Path, server: FakeOpenAI | None, *args: str) -> tuple[int, str]:
    """``techpal-server kb …`` as an operator runs it, with ``TECHPAL_EMBEDDINGS=openai``."""
    extra = {"TECHPAL_EMBEDDINGS_BASE_URL": server.base_url, "TECHPAL_AI_API_KEY": "sk-test-kb"} if server else {}
    return await run_server_command(tmp_path / "cli", db_url, "kb", *args, TECHPAL_EMBEDDINGS="openai", **extra)


async def test_search_answers_by_keywords_when_the_embeddings_server_fails(
    settings: Settings,
    engine: AsyncEngine,
    corpus: Path,
    mailbox: Mailbox,
    *,
    openai_server: FakeOpenAI,
    ai: AISettings,
) -> None:
    await import_file(engine, corpus, kind="openai", ai=ai)
    app = create_app(settings.replace(embeddings="openai", ai=ai))
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        client.headers.update((await create_user(client, mailbox)).headers)
        openai_server.reset()
        openai_server.fail_next(400, times=10, kind="embeddings")  # 400: the SDK does not retry
        response = await client.get("/api/v1/kb/search", params={"q": "Azure AD Management Agent stops responding"})

    assert response.status_code == 200
    assert openai_server.requests_of("embeddings")  # it did try
    results = response.json()["results"]
    assert results
    assert "Management Agent" in results[0]["title"]
