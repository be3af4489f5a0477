"""The fake OpenAI server speaks the current API shapes: the real SDK parses what it answers."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import openai
import pytest

from tests.fixtures.openai_api import FakeOpenAI, embedding_for


def _client(server: FakeOpenAI, **kwargs: object) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0, **kwargs)  # type: ignore[arg-type]


async def test_streamed_reply_arrives_as_several_deltas_with_usage(openai_server: FakeOpenAI) -> None:
    openai_server.reply = "Turn it off and on again."
    texts, usage = [], None
    async with _client(openai_server) as client:
        stream = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}], stream=True, stream_options={"include_usage": True}
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                texts.append(chunk.choices[0].delta.content)
            if chunk.usage is not None:
                usage = chunk.usage
    assert "".join(texts) == "Turn it off and on again."
    assert len(texts) == 6
    assert usage is not None
    assert usage.completion_tokens == 6
    assert usage.prompt_tokens == openai_server.prompt_tokens
    (request,) = openai_server.requests
    assert request.path == "/v1/chat/completions"
    assert request.kind == "stream"
    assert request.body["messages"] == [{"role": "user", "content": "hi"}]
    assert request.headers["authorization"] == "Bearer sk-test"


async def test_structured_reply_and_failures_with_retry_after(openai_server: FakeOpenAI) -> None:
    openai_server.structured_reply = {"category": "email", "priority": "high"}
    openai_server.fail_next(429, retry_after=0, kind="structured")
    async with _client(openai_server) as client:
        await _structured_then_failures(openai_server, client)


async def _structured_then_failures(openai_server: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    schema = {"type": "object", "properties": {"category": {"type": "string"}}}
    response_format: Any = {"type": "json_schema", "json_schema": {"name": "t", "schema": schema, "strict": True}}
    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(model="m", messages=[], response_format=response_format)
    assert caught.value.response.headers["retry-after"] == "0"
    answer = await client.chat.completions.create(model="m", messages=[], response_format=response_format)
    assert answer.choices[0].message.content == '{"category": "email", "priority": "high"}'
    openai_server.fail_next(503, times=2)
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            await client.chat.completions.create(model="m", messages=[])
    assert (await client.chat.completions.create(model="m", messages=[])).choices[0].message.content


async def test_hang_and_first_token_delay(openai_server: FakeOpenAI) -> None:
    openai_server.first_token_delay = 0.3
    async with _client(openai_server) as client:
        started = time.perf_counter()
        async with await client.chat.completions.create(model="m", messages=[], stream=True) as stream:
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    break
        assert time.perf_counter() - started >= 0.3
    openai_server.hang = True
    async with _client(openai_server, timeout=0.3) as client:
        with pytest.raises(openai.APITimeoutError):
            await client.chat.completions.create(model="m", messages=[])


@pytest.mark.parametrize("encoding", ["float", None])
async def test_embeddings_are_deterministic_unit_vectors(openai_server: FakeOpenAI, encoding: str | None) -> None:
    """``None``: the SDK asks for base64 on its own and decodes it; the fake must answer in that encoding."""
    extra = {"encoding_format": encoding} if encoding else {}
    async with _client(openai_server) as client:
        response = await client.embeddings.create(
            model="text-embedding-3-small",
            input=["printer offline", "vpn"],
            dimensions=384,
            **extra,  # type: ignore[arg-type]
        )
    assert openai_server.requests[0].body["encoding_format"] == (encoding or "base64")
    assert response.object == "list"
    assert [d.index for d in response.data] == [0, 1]
    first = np.asarray(response.data[0].embedding)
    assert first.shape == (384,)
    assert abs(np.linalg.norm(first) - 1) < 1e-5
    assert np.allclose(first, embedding_for("printer offline", 384), atol=1e-6)
    assert not np.allclose(first, response.data[1].embedding)
