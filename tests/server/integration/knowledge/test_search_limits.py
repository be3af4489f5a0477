"""``GET /api/v1/kb/search`` is bounded per account and by the embedding queue, both answering with ``Retry-After``.

``TECHPAL_SEARCHES_PER_MINUTE`` per account (429 ``rate_limited``), and a bounded queue for query embeddings (503
``busy`` when it is full).
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from typing import TYPE_CHECKING

import httpx
import pytest

from server.context import build_context
from server.domain.knowledge.embeddings import Embedders
from tests.fixtures.auth import create_user
from tests.fixtures.server import serve

if TYPE_CHECKING:
    from collections.abc import Sequence

    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from server.context import Models
    from server.domain.knowledge.embeddings import Embedder, Vectors
    from server.settings import AISettings, Settings
    from tests.fixtures.mail import Mailbox

SEARCH = "/api/v1/kb/search"


@pytest.fixture
def kb_settings(kb_settings: Settings) -> Settings:
    return kb_settings.replace(tickets=dataclasses.replace(kb_settings.tickets, searches_per_minute=2))


async def test_searches_past_the_per_minute_limit_are_refused_per_account(
    kb_client: AsyncTestClient[Litestar], mailbox: Mailbox
) -> None:
    answers = [(await kb_client.get(SEARCH, params={"q": "printer offline"})).status_code for _ in range(2)]
    refused = await kb_client.get(SEARCH, params={"q": "printer offline"})
    other = await create_user(kb_client, mailbox)
    others = await kb_client.get(SEARCH, params={"q": "printer offline"}, headers=other.headers)

    assert answers == [200, 200]
    assert (refused.status_code, refused.json()["code"]) == (429, "rate_limited")
    assert 0 < int(refused.headers["retry-after"]) <= 60
    assert others.status_code == 200  # the limit is per account


class _GatedEmbedder:
    """The real embedder, holding every call until the gate opens (a worker busy for as long as the test likes)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.gate = threading.Event()

    @property
    def model_name(self) -> str:
        return self.inner.model_name

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed(self, texts: Sequence[str]) -> Vectors:
        assert self.gate.wait(timeout=30)
        return self.inner.embed(texts)


class _GatedEmbedders(Embedders):
    def __init__(self, embedder: _GatedEmbedder) -> None:
        super().__init__()
        self.embedder = embedder

    async def configured(self, kind: str, ai: AISettings | None = None) -> Embedder | None:
        return self.embedder


async def test_a_full_embedding_queue_answers_busy_and_the_queued_searches_still_answer(
    kb_settings: Settings, models: Models, mailbox: Mailbox
) -> None:
    settings = kb_settings.replace(tickets=dataclasses.replace(kb_settings.tickets, searches_per_minute=1000))
    embedder = _GatedEmbedder(models.embedders.get("local"))
    context = dataclasses.replace(build_context(settings, models=models), embedders=_GatedEmbedders(embedder))
    admitted, extra = context.query_embeddings.workers + context.query_embeddings.max_waiting, 3
    with serve(context=context) as server:  # real concurrency: the in-process client runs one request at a time
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            user = await create_user(http, mailbox)
            searches = [
                asyncio.create_task(http.get(SEARCH, params={"q": f"printer offline {n}"}, headers=user.headers))
                for n in range(admitted + extra)
            ]
            try:
                refused: set[asyncio.Task[httpx.Response]] = set()
                async with asyncio.timeout(20):
                    while len(refused) < extra:  # the refused ones answer at once; the admitted ones wait
                        done, _ = await asyncio.wait(set(searches) - refused, return_when=asyncio.FIRST_COMPLETED)
                        refused |= done
            finally:
                embedder.gate.set()
            answers = await asyncio.wait_for(asyncio.gather(*searches), timeout=60)

    busy = [r for r in answers if r.status_code == 503]
    assert len(busy) == extra, [r.status_code for r in answers]
    assert {r.json()["code"] for r in busy} == {"busy"}
    assert all(int(r.headers["retry-after"]) > 0 for r in busy)
    served = [r for r in answers if r.status_code != 503]
    assert [r.status_code for r in served] == [200] * admitted
    assert all(r.json()["results"] for r in served)
