"""``/resolve`` and ``/messages`` over HTTP: the SSE contract, stored answers, triage, quotas, disconnects."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from server.app import create_app
from server.domain.resolution.retrieval_only import AI_OFF_NOTE, NO_MODEL_NOTE
from server.settings import AISettings, BillingSettings, Secret, Settings
from server.settings.plans import load_catalogue
from tests.fixtures.auth import UserFactory, create_user
from tests.fixtures.db import connect
from tests.fixtures.images import png_bytes
from tests.fixtures.screens import error_queries, render_desktop
from tests.fixtures.server import LiveServer, serve
from tests.fixtures.tickets import create_ticket, parse_sse

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

    from litestar import Litestar

    from tests.fixtures.mail import Mailbox
    from tests.fixtures.openai_api import FakeOpenAI
    from tests.fixtures.stripe_api import FakeStripe


@pytest.fixture
def settings(settings: Settings, kb_db_url: str) -> Settings:
    """Answers search the shared seeded knowledge base (these tests write tickets there, never articles)."""
    return settings.replace(
        db=dataclasses.replace(settings.db, url=Secret(kb_db_url)),
        auth=dataclasses.replace(settings.auth, register_limit=1_000_000),
    )


@pytest.fixture
def ai_settings(settings: Settings, openai_server: FakeOpenAI) -> Settings:
    """The same, with a chat model: the fake OpenAI-compatible server."""
    ai = AISettings(base_url=openai_server.base_url, api_key=Secret("sk-test-secret"), model="gpt-test", timeout=5)
    return settings.replace(ai=ai)


@pytest.fixture
async def ai_client(ai_settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=create_app(ai_settings), base_url="http://127.0.0.1:8000") as client:
        yield client


def names(events: list[tuple[str, Any]]) -> list[str]:
    return [name for name, _ in events]


async def test_retrieval_only_reads_the_error_dialog_and_cites_its_article(
    client: AsyncTestClient[Litestar], user_factory: UserFactory
) -> None:
    screen = next(s for s in error_queries() if "80070005" in s.query)
    user = await user_factory()
    ticket = (
        await create_ticket(client, user, description="This popped up", screenshots=[render_desktop(screen.query)])
    ).json()

    response = await client.post(f"/api/v1/tickets/{ticket['id']}/resolve", headers=user.headers)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    kinds = names(events)
    assert kinds[0] == "triage"
    assert kinds[-1] == "done"
    assert "error" not in kinds
    citations = [data for name, data in events if name == "citation"]
    assert {c["source_id"] for c in citations[:3]} & screen.answers
    answer = "".join(data["text"] for name, data in events if name == "delta")
    assert answer.startswith(NO_MODEL_NOTE)
    stored = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=user.headers)).json()
    assert stored["status"] == "answered"
    assert stored["category"] is not None  # rules triage: the user chose none…
    assert events[0][1]["category_by_ai"] is False  # …and no model did either
    [message] = stored["messages"]
    assert message["id"] == events[-1][1]["message_id"]
    assert message["content"] == answer
    assert [c["article_id"] for c in message["citations"]] == [c["article_id"] for c in citations]


async def test_the_model_gets_the_screenshot_and_fenced_kb_context_and_its_answer_streams(
    ai_client: AsyncTestClient[Litestar], openai_server: FakeOpenAI, user_factory: UserFactory, kb_db_url: str
) -> None:
    user = await user_factory()
    openai_server.reply = "Reset the Outlook profile as described in [1]. Then restart Outlook."
    ticket = (
        await create_ticket(
            ai_client,
            user,
            description="Outlook keeps prompting for my password",
            priority="high",
            category="email",
            screenshots=[png_bytes(640, 400)],
        )
    ).json()

    response = await ai_client.post(f"/api/v1/tickets/{ticket['id']}/resolve", headers=user.headers)

    events = parse_sse(response.text)
    assert names(events)[0] == "triage"
    assert names(events)[-1] == "done"
    assert events[0][1] == {"category": "email", "priority": "high", "category_by_ai": False, "priority_by_ai": False}
    answer = "".join(data["text"] for name, data in events if name == "delta")
    assert answer == openai_server.reply
    [sent] = openai_server.requests_of("stream")
    parts = [part for message in sent.body["messages"] for part in _parts(message)]
    assert any(p.get("type") == "image_url" and p["image_url"]["url"].startswith("data:image/") for p in parts)
    context = "\n".join(p.get("text", "") for p in parts)
    citations = [data for name, data in events if name == "citation"]
    assert citations, "the seeded KB has articles about Outlook passwords"
    for citation in citations:
        assert citation["title"] in context  # every cited article was in the model's context…
    assert "<kb_passage" in context  # …fenced as data
    stored = (await ai_client.get(f"/api/v1/tickets/{ticket['id']}", headers=user.headers)).json()
    assert (stored["status"], stored["category"], stored["priority"]) == ("answered", "email", "high")
    assert stored["messages"][-1]["content"] == answer
    connection = await connect(kb_db_url)
    try:  # what the answer cost, for cost reports and quotas
        usage = await connection.fetchrow(
            "SELECT model, tokens_in, tokens_out, latency_ms FROM ticket_messages WHERE id = $1",
            uuid.UUID(stored["messages"][-1]["id"]),
        )
    finally:
        await connection.close()
    assert usage["model"] == "gpt-test"
    assert usage["tokens_in"] > 0
    assert usage["tokens_out"] > 0
    assert usage["latency_ms"] > 0


def _parts(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message["content"]
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content)


async def test_a_follow_up_is_stored_and_answered_with_the_conversation(
    ai_client: AsyncTestClient[Litestar], openai_server: FakeOpenAI, user_factory: UserFactory
) -> None:
    user = await user_factory()
    ticket = (await create_ticket(ai_client, user, description="Wi-Fi drops every few minutes")).json()
    url = f"/api/v1/tickets/{ticket['id']}"
    await ai_client.post(f"{url}/resolve", headers=user.headers)
    openai_server.reply = "Then update the wireless driver."

    again = await ai_client.post(f"{url}/resolve", headers=user.headers)
    blank = await ai_client.post(f"{url}/messages", json={"content": "   "}, headers=user.headers)
    follow_up = await ai_client.post(f"{url}/messages", json={"content": "I tried that already"}, headers=user.headers)

    assert (again.status_code, again.json()["code"]) == (409, "already_answered")
    assert (blank.status_code, blank.json()["code"]) == (422, "validation_error")
    assert names(parse_sse(follow_up.text))[-1] == "done"
    sent = openai_server.requests_of("stream")[-1].body["messages"]
    assert sent[-1]["role"] == "user"
    assert "I tried that already" in str(sent[-1]["content"])
    assert any(m["role"] == "assistant" for m in sent)  # the earlier answer is part of the conversation
    stored = (await ai_client.get(url, headers=user.headers)).json()
    assert [(m["role"], m["content"]) for m in stored["messages"]][-2:] == [
        ("user", "I tried that already"),
        ("assistant", "Then update the wireless driver."),
    ]


async def test_a_failing_model_sends_an_error_event_then_the_retrieval_only_answer(
    ai_client: AsyncTestClient[Litestar], openai_server: FakeOpenAI, user_factory: UserFactory
) -> None:
    user = await user_factory()
    openai_server.fail_next(500, times=10)
    ticket = await create_ticket(ai_client, user, description="Excel crashes when I open a file", category="software")
    tid = ticket.json()["id"]

    events = parse_sse((await ai_client.post(f"/api/v1/tickets/{tid}/resolve", headers=user.headers)).text)

    kinds = names(events)
    assert "error" in kinds
    assert kinds[-1] == "done"
    error = dict(events)["error"]
    assert error["code"] == "ai_unavailable"
    assert "sk-test-secret" not in str(events)
    assert kinds.index("error") < max(i for i, k in enumerate(kinds) if k == "delta")  # help still follows
    stored = (await ai_client.get(f"/api/v1/tickets/{tid}", headers=user.headers)).json()
    assert stored["messages"][-1]["content"]


@pytest.fixture
def live_server(ai_settings: Settings) -> Iterator[LiveServer]:
    """The AI-enabled app on a real socket."""
    with serve(ai_settings) as server:
        yield server


async def test_an_answer_is_stored_even_when_the_client_walks_away(
    live_server: LiveServer, openai_server: FakeOpenAI, mailbox: Mailbox
) -> None:
    openai_server.reply = " ".join(f"step{n}" for n in range(40))
    openai_server.chunk_delay = 0.05
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        user = (await create_user(http, mailbox)).headers
        ticket = (
            await http.post("/api/v1/tickets", files={"description": (None, "Screen flickers")}, headers=user)
        ).json()
        async with http.stream("POST", f"/api/v1/tickets/{ticket['id']}/resolve", headers=user) as stream:
            async for line in stream.aiter_lines():
                if line.startswith("event: delta"):
                    break  # hang up mid-answer
        for _ in range(100):
            stored = (await http.get(f"/api/v1/tickets/{ticket['id']}", headers=user)).json()
            if stored["messages"]:
                break
            await asyncio.sleep(0.1)
    assert stored["messages"][-1]["content"] == openai_server.reply
    assert stored["status"] == "answered"


async def test_the_quota_is_checked_before_each_model_answer_and_only_model_answers_count(
    ai_settings: Settings, openai_server: FakeOpenAI, stripe_api: FakeStripe, tmp_path: Path, mailbox: Mailbox
) -> None:
    plans = tmp_path / "plans.toml"
    plans.write_text('[plans.free]\nname = "Free"\nprice = "0"\nmonthly_resolutions = 1\n', encoding="utf-8")
    billing = BillingSettings(
        secret_key=Secret("sk_test_" + "s" * 24), api_base=stripe_api.url, plans_file=plans, plans=load_catalogue(plans)
    )
    async with AsyncTestClient(app=create_app(ai_settings.replace(billing=billing))) as client:
        user = await create_user(client, mailbox)
        tickets = [(await create_ticket(client, user, description=f"Problem {n}")).json()["id"] for n in range(3)]

        openai_server.fail_next(500, times=10)
        failed = await client.post(f"/api/v1/tickets/{tickets[0]}/resolve", headers=user.headers)
        openai_server.reset()  # the provider is back
        counted = await client.post(f"/api/v1/tickets/{tickets[1]}/resolve", headers=user.headers)
        refused = await client.post(f"/api/v1/tickets/{tickets[2]}/resolve", headers=user.headers)
        usage = (await client.get("/api/v1/billing/subscription", headers=user.headers)).json()

    assert "error" in names(parse_sse(failed.text))  # a provider failure and its fallback are free…
    assert names(parse_sse(counted.text))[-1] == "done"  # …so the one unit is still there for this answer
    assert refused.status_code == 402
    body = refused.json()
    assert (body["code"], body["plan"], body["quota"]) == ("quota_exceeded", "free", 1)
    assert body["resets_at"]
    assert (usage["usage"], usage["quota"]) == (1, 1)


async def test_with_ai_processing_off_nothing_of_the_user_reaches_the_model(
    ai_client: AsyncTestClient[Litestar], openai_server: FakeOpenAI, user_factory: UserFactory
) -> None:
    user = await user_factory()
    response = await ai_client.patch("/api/v1/me", json={"ai_processing": False}, headers=user.headers)
    assert response.json()["ai_processing"] is False
    ticket = (
        await create_ticket(
            ai_client, user, description="Outlook keeps prompting for my password", screenshots=[png_bytes(640, 400)]
        )
    ).json()

    first = parse_sse((await ai_client.post(f"/api/v1/tickets/{ticket['id']}/resolve", headers=user.headers)).text)
    follow_up = parse_sse(
        (
            await ai_client.post(
                f"/api/v1/tickets/{ticket['id']}/messages", json={"content": "Still asks."}, headers=user.headers
            )
        ).text
    )

    assert openai_server.requests == [], "no chat, vision or embedding request for a user who objected"
    for events in (first, follow_up):
        assert names(events)[0] == "note"
        assert events[0][1]["code"] == "ai_processing_off"
        assert "knowledge base only" in events[0][1]["message"]
        assert names(events)[-1] == "done"
        answer = "".join(data["text"] for name, data in events if name == "delta")
        assert answer.startswith(AI_OFF_NOTE)  # a retrieval-only answer that says why, not "no model configured"
    triage = next(data for name, data in first if name == "triage")
    assert (triage["category_by_ai"], triage["priority_by_ai"]) == (False, False)  # the rules triaged

    await ai_client.patch("/api/v1/me", json={"ai_processing": True}, headers=user.headers)
    again = parse_sse(
        (
            await ai_client.post(
                f"/api/v1/tickets/{ticket['id']}/messages", json={"content": "And now?"}, headers=user.headers
            )
        ).text
    )
    assert "note" not in names(again)
    assert openai_server.requests_of("stream"), "with AI processing back on, the model answers again"
