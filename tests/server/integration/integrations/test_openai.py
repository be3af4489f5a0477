"""OpenAIChatModel's own retry budget and error mapping, through the real SDK against the fake server."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from server.integrations.openai import ChatModelError, OpenAIChatModel
from server.settings import AISettings, Secret

if TYPE_CHECKING:
    from tests.fixtures.openai_api import FakeOpenAI


async def test_chat_model_gives_up_when_retry_after_exceeds_its_budget(openai_server: FakeOpenAI) -> None:
    """A provider asking for a 30 s pause inside a 2 s budget: fail now with ``ai_rate_limited``, do not sleep."""
    openai_server.fail_next(429, times=5, retry_after=30)
    settings = AISettings(base_url=openai_server.base_url, api_key=Secret("sk-x"), model="m", timeout=2)
    chat = OpenAIChatModel(settings)
    try:
        with pytest.raises(ChatModelError) as caught:
            async with asyncio.timeout(10):  # waiting out the 30 s would end here with TimeoutError
                await chat.structured([{"role": "user", "content": "hi"}], {"type": "object"}, "t")
    finally:
        await chat.aclose()
    assert caught.value.code == "ai_rate_limited"
    assert len(openai_server.requests) == 1


async def test_chat_model_maps_a_refusal_without_echoing_the_provider(openai_server: FakeOpenAI) -> None:
    body = {"error": {"message": "Incorrect API key provided: sk-x***", "type": "invalid_request_error", "code": None}}
    openai_server.fail_next(401, body=body)
    chat = OpenAIChatModel(AISettings(base_url=openai_server.base_url, api_key=Secret("sk-x"), model="m", timeout=2))
    try:
        with pytest.raises(ChatModelError) as caught:
            [piece async for piece in chat.stream([{"role": "user", "content": "hi"}])]
    finally:
        await chat.aclose()
    assert caught.value.code == "ai_rejected"
    assert "sk-x" not in caught.value.message
    assert len(openai_server.requests) == 1  # a 401 is not retried
