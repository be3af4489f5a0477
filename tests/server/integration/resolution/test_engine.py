"""The resolver with a chat model: the real ``openai`` SDK against the local fake server, on the seeded KB."""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING

import pytest

from server.domain.resolution.engine import ResolutionInput, Resolver, ScreenshotInput
from server.domain.resolution.retrieval_only import AFTER_FAILURE_NOTE
from server.domain.resolution.schemas import Citation, Delta, Failure, Outcome, Triage
from server.integrations.openai import ChatModelError, OpenAIChatModel
from server.settings import AISettings
from tests.fixtures.openai_api import FakeOpenAI, split_reply

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from server.domain.knowledge.embeddings import Embedder
    from tests.fixtures.resolution import ChatModelFactory

Event = Triage | Citation | Delta | Failure | Outcome
REPLY = "Open Services, restart the Print Spooler [1]. If it stops again, clear the queue folder [2]."
SHOT = ScreenshotInput(
    image=b"\x89PNG\r\n\x1a\n-model-copy", media_type="image/png", ocr_text="Windows\nThe print spooler service stopped"
)


def _request(**changes: object) -> ResolutionInput:
    values: dict[str, object] = {
        "description": "Print spooler keeps stopping, nothing prints",
        "category": "printer",
        "priority": "normal",
        "screenshots": [SHOT],
    }
    return ResolutionInput(**(values | changes))  # type: ignore[arg-type]


async def _collect(resolver: Resolver, request: ResolutionInput) -> list[Event]:
    return [event async for event in resolver.run(request)]


def _resolver(engine: AsyncEngine, embedder: Embedder, make: ChatModelFactory, **kwargs: object) -> Resolver:
    return Resolver(engine=engine, embedder=embedder, chat=make(**kwargs))


async def test_request_carries_images_and_fenced_numbered_context_and_answer_streams(
    kb_engine: AsyncEngine, local_embedder: Embedder, chat_model_factory: ChatModelFactory, openai_server: FakeOpenAI
) -> None:
    openai_server.reply = REPLY
    events = await _collect(_resolver(kb_engine, local_embedder, chat_model_factory), _request())

    (stream,) = openai_server.requests_of("stream")
    assert stream.body["model"] == "gpt-test"
    assert stream.body["stream_options"] == {"include_usage": True}
    assert stream.headers["authorization"] == "Bearer sk-test-secret"
    parts = stream.body["messages"][1]["content"]
    images = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    assert images == ["data:image/png;base64,iVBORw0KGgotbW9kZWwtY29weQ=="]
    text = "\n".join(p["text"] for p in parts if p["type"] == "text")
    fenced = re.findall(r'<kb_passage n="(\d+)" trust="untrusted">\n([^\n]*)', text)
    assert "The print spooler service stopped" in text

    citations = [e for e in events if isinstance(e, Citation)]
    assert [(str(c.number), c.title) for c in citations] == fenced  # exactly the passages given, in rank order
    assert len(citations) == 5
    assert all(c.source_id and c.source_url for c in citations)
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "Triage"
    assert kinds[1 : 1 + len(citations)] == ["Citation"] * len(citations)
    assert kinds[-1] == "Outcome"
    deltas = [e.text for e in events if isinstance(e, Delta)]
    assert deltas == split_reply(REPLY)  # streamed piece by piece, in order
    outcome = events[-1]
    assert isinstance(outcome, Outcome)
    assert outcome.model_answered
    assert outcome.content == REPLY
    assert outcome.citations == citations
    assert (outcome.usage.model, outcome.usage.tokens_in) == ("gpt-test", openai_server.prompt_tokens)
    assert outcome.usage.tokens_out == len(deltas)
    assert outcome.triage == Triage("printer", "normal", category_by_ai=False, priority_by_ai=False)
    assert openai_server.requests_of("structured") == []  # the user chose both: no triage call


async def test_rate_limit_then_success_is_retried(
    kb_engine: AsyncEngine, local_embedder: Embedder, chat_model_factory: ChatModelFactory, openai_server: FakeOpenAI
) -> None:
    openai_server.fail_next(429, retry_after=0.2, kind="stream")
    started = time.perf_counter()
    events = await _collect(_resolver(kb_engine, local_embedder, chat_model_factory), _request())
    assert time.perf_counter() - started >= 0.2  # Retry-After honoured
    assert len(openai_server.requests_of("stream")) == 2
    assert not [e for e in events if isinstance(e, Failure)]
    outcome = events[-1]
    assert isinstance(outcome, Outcome)
    assert outcome.model_answered
    assert outcome.content == openai_server.reply


async def test_provider_failing_gives_an_error_then_the_retrieval_only_answer(
    kb_engine: AsyncEngine, local_embedder: Embedder, chat_model_factory: ChatModelFactory, openai_server: FakeOpenAI
) -> None:
    openai_server.fail_next(500, times=10, kind="stream")
    events = await _collect(_resolver(kb_engine, local_embedder, chat_model_factory, backoff_base=0.01), _request())
    assert len(openai_server.requests_of("stream")) == 3  # bounded retries
    kinds = [type(e).__name__ for e in events]
    failure_at = kinds.index("Failure")
    assert events[failure_at] == Failure("ai_unavailable", "The AI model is unavailable right now.")
    assert kinds[failure_at + 1 : -1] == ["Delta"] * (len(kinds) - failure_at - 2)
    outcome = events[-1]
    assert isinstance(outcome, Outcome)
    assert not outcome.model_answered
    assert outcome.content.startswith(AFTER_FAILURE_NOTE)
    assert "[1]" in outcome.content
    assert outcome.content == "".join(e.text for e in events if isinstance(e, Delta))


async def test_a_hanging_provider_times_out_within_the_budget(
    kb_engine: AsyncEngine, local_embedder: Embedder, chat_model_factory: ChatModelFactory, openai_server: FakeOpenAI
) -> None:
    resolver = _resolver(kb_engine, local_embedder, chat_model_factory, timeout=1)
    openai_server.hang = True
    events = await _collect(resolver, _request())
    failures = [e for e in events if isinstance(e, Failure)]
    assert [f.code for f in failures] == ["ai_timeout"]
    assert len(openai_server.requests_of("stream")) == 1  # the budget ends the answer: no second attempt to wait on
    outcome = events[-1]
    assert isinstance(outcome, Outcome)
    assert not outcome.model_answered


async def test_ai_triage_runs_beside_the_answer_and_never_delays_the_first_delta(
    kb_engine: AsyncEngine, local_embedder: Embedder, chat_model_factory: ChatModelFactory, openai_server: FakeOpenAI
) -> None:
    triage_answer = openai_server.hold("structured")
    openai_server.structured_reply = {"category": "printer", "priority": "high"}
    resolver = _resolver(kb_engine, local_embedder, chat_model_factory)
    seen = []
    async for event in resolver.run(_request(category=None, priority=None)):
        if isinstance(event, Delta) and not triage_answer.is_set():
            # The answer streams while the triage call is held unanswered; only now may it answer. (Were the
            # answer waiting for triage, the triage call would time out and the rules would triage instead.)
            assert not [e for e in seen if isinstance(e, Triage)]
            triage_answer.set()
        seen.append(event)
    assert triage_answer.is_set(), "no answer text arrived while the triage call was held"
    (structured,) = openai_server.requests_of("structured")
    assert structured.body["response_format"]["type"] == "json_schema"
    assert structured.body["response_format"]["json_schema"]["strict"] is True
    triages = [e for e in seen if isinstance(e, Triage)]
    assert triages == [Triage("printer", "high", category_by_ai=True, priority_by_ai=True)]
    outcome = seen[-1]
    assert isinstance(outcome, Outcome)
    assert outcome.triage == triages[0]
    assert outcome.usage.tokens_in == 2 * openai_server.prompt_tokens  # the answer's and the triage's


async def test_failed_ai_triage_falls_back_to_rules_and_user_choice_wins(
    kb_engine: AsyncEngine, local_embedder: Embedder, chat_model_factory: ChatModelFactory, openai_server: FakeOpenAI
) -> None:
    openai_server.fail_next(400, times=5, kind="structured")
    resolver = _resolver(kb_engine, local_embedder, chat_model_factory)
    events = await _collect(resolver, _request(priority="low", category=None))
    triages = [e for e in events if isinstance(e, Triage)]
    assert triages == [Triage("printer", "low", category_by_ai=False, priority_by_ai=False)]  # the rules chose
    assert isinstance(events[-1], Outcome)
    assert events[-1].model_answered


async def test_follow_up_question_has_no_triage_and_goes_last(
    kb_engine: AsyncEngine, local_embedder: Embedder, chat_model_factory: ChatModelFactory, openai_server: FakeOpenAI
) -> None:
    request = _request(category=None, priority=None, history=[("assistant", "Try [1].")], question="Still stuck?")
    events = await _collect(_resolver(kb_engine, local_embedder, chat_model_factory), request)
    assert not [e for e in events if isinstance(e, Triage)]
    assert openai_server.requests_of("structured") == []
    messages = openai_server.requests_of("stream")[0].body["messages"]
    assert messages[2] == {"role": "assistant", "content": "Try [1]."}
    assert "Still stuck?" in messages[-1]["content"]


async def test_the_api_key_never_shows(
    chat_model_factory: ChatModelFactory, openai_server: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    openai_server.fail_next(401, kind="stream")  # a refused key: the failure most likely to echo it
    chat = chat_model_factory()
    with pytest.raises(ChatModelError) as failed:
        async for _ in chat.stream([{"role": "user", "content": "Outlook keeps asking for my password"}]):
            pass

    assert openai_server.requests_of("stream")[0].headers["authorization"] == "Bearer sk-test-secret"
    for shown in (repr(chat), str(failed.value), caplog.text):
        assert "sk-test-secret" not in shown


async def test_no_key_with_a_base_url_sends_a_placeholder(openai_server: FakeOpenAI) -> None:
    """Ollama and vLLM need no key; the SDK must still start, and no real key is invented."""
    chat = OpenAIChatModel(AISettings(base_url=openai_server.base_url, api_key=None, model="llama3.2-vision"))
    try:
        pieces = [piece async for piece in chat.stream([{"role": "user", "content": "hi"}])]
    finally:
        await chat.aclose()
    assert "".join(pieces) == openai_server.reply
    assert openai_server.requests[0].headers["authorization"] == "Bearer not-needed"


async def test_a_stream_cut_midway_is_not_replayed_and_falls_back(
    kb_engine: AsyncEngine, local_embedder: Embedder, chat_model_factory: ChatModelFactory, openai_server: FakeOpenAI
) -> None:
    openai_server.reply = REPLY
    openai_server.cut_after = 3
    events = await _collect(_resolver(kb_engine, local_embedder, chat_model_factory), _request())
    assert len(openai_server.requests_of("stream")) == 1  # half an answer out: no retry
    kinds = [type(e).__name__ for e in events]
    assert kinds.count("Failure") == 1
    assert kinds.index("Failure") > kinds.index("Delta")
    outcome = events[-1]
    assert isinstance(outcome, Outcome)
    assert not outcome.model_answered
    assert outcome.content.startswith("".join(split_reply(REPLY)[:3]))
    assert AFTER_FAILURE_NOTE in outcome.content
