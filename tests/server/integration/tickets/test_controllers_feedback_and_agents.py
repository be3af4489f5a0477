"""Feedback → resolved (and into the knowledge base, anonymized) or → escalated → an agent replies and closes."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from server.domain.accounts.cli import change_role
from server.domain.tickets.contribution import fix_title
from tests.fixtures.db import connect
from tests.fixtures.server import run_app_jobs
from tests.fixtures.tickets import create_ticket, parse_sse

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from tests.fixtures.auth import TestUser, UserFactory


async def answered_ticket(client: AsyncTestClient[Litestar], user: TestUser, description: str) -> dict[str, Any]:
    """A ticket with its (retrieval-only) answer."""
    ticket = (await create_ticket(client, user, description=description)).json()
    response = await client.post(f"/api/v1/tickets/{ticket['id']}/resolve", headers=user.headers)
    assert response.status_code == 200, response.text
    assert [name for name, _ in parse_sse(response.text)][-1] == "done"
    return ticket


async def kb_articles(db_url: str) -> list[dict[str, Any]]:
    connection = await connect(db_url)
    try:
        rows = await connection.fetch("SELECT title, symptoms, resolution, origin, published FROM kb_articles")
    finally:
        await connection.close()
    return [dict(row) for row in rows]


async def test_a_confirmed_fix_resolves_the_ticket_and_reaches_the_kb_anonymized(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, db_url: str
) -> None:
    user = await user_factory(name="Margot Fairweather", email="margot.fairweather@example.com")
    description = (
        "Outlook keeps asking for my password. I am Margot Fairweather, reach me at margot.fairweather@example.com "
        "or +44 20 7946 0958, my PC is 10.20.30.40."
    )
    ticket = await answered_ticket(client, user, description)

    response = await client.post(
        f"/api/v1/tickets/{ticket['id']}/feedback",
        json={"resolved": True, "comment": "Clearing the saved credentials did it"},
        headers=user.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "resolved"
    await run_app_jobs(client.app)  # the fix reaches the knowledge base as a job
    [article] = await kb_articles(db_url)
    assert (article["origin"], article["published"]) == ("resolution", False)  # waits for review
    stored = " ".join(str(article[k]) for k in ("title", "symptoms", "resolution"))
    for personal in ("Margot", "Fairweather", "margot.fairweather@example.com", "7946", "10.20.30.40"):
        assert personal not in stored
    assert "Outlook keeps asking for my password" in stored
    assert "Clearing the saved credentials did it" in stored

    url = f"/api/v1/tickets/{ticket['id']}/feedback"
    repeats = await asyncio.gather(*(client.post(url, json={"resolved": True}, headers=user.headers) for _ in range(3)))
    assert [r.status_code for r in repeats] == [200] * 3
    await run_app_jobs(client.app)
    [again] = await kb_articles(db_url)  # the fix reaches the knowledge base once
    assert again == article
    history = repeats[-1].json()["history"]
    assert [h["to"] for h in history if h["field"] == "feedback"] == [
        {"resolved": True, "comment": "Clearing the saved credentials did it"}
    ]


async def test_users_who_opted_out_contribute_nothing(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, db_url: str
) -> None:
    user = await user_factory()
    opted_out = await client.patch("/api/v1/me", json={"kb_contribution": False}, headers=user.headers)
    assert opted_out.status_code == 200, opted_out.text
    ticket = await answered_ticket(client, user, "The printer on floor 3 prints blank pages")

    response = await client.post(
        f"/api/v1/tickets/{ticket['id']}/feedback", json={"resolved": True}, headers=user.headers
    )

    assert response.json()["status"] == "resolved"
    await run_app_jobs(client.app)
    assert await kb_articles(db_url) == []


async def test_feedback_needs_an_answer_and_an_open_ticket(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, db_url: str
) -> None:
    user = await user_factory()
    ticket = (await create_ticket(client, user, description="VPN drops every hour")).json()
    url = f"/api/v1/tickets/{ticket['id']}/feedback"

    early = await client.post(url, json={"resolved": False}, headers=user.headers)
    bad = await client.post(url, json={"resolved": "yes"}, headers=user.headers)

    assert (early.status_code, early.json()["code"]) == (409, "not_answered")
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_error")
    assert (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=user.headers)).json()["status"] == "open"


async def test_still_broken_escalates_to_agents_who_reply_and_close(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, db_url: str
) -> None:
    owner, agent = await user_factory(), await user_factory()
    await change_role(db_url, agent.email, "agent", grant=True)
    ticket = await answered_ticket(client, owner, "Teams shows a black screen when I share")
    ticket_url = f"/api/v1/tickets/{ticket['id']}"

    escalated = await client.post(f"{ticket_url}/feedback", json={"resolved": False}, headers=owner.headers)
    queue = await client.get("/api/v1/agent/tickets?status=escalated", headers=agent.headers)
    reply = await client.post(
        f"/api/v1/agent/tickets/{ticket['id']}/reply",
        json={"content": "Turn off hardware acceleration in Teams settings."},
        headers=agent.headers,
    )
    seen_by_owner = (await client.get(ticket_url, headers=owner.headers)).json()
    closed = await client.post(f"/api/v1/agent/tickets/{ticket['id']}/close", headers=agent.headers)

    assert escalated.json()["status"] == "escalated"
    assert [item["id"] for item in queue.json()["items"]] == [ticket["id"]]
    assert reply.status_code == 201, reply.text
    assert seen_by_owner["status"] == "answered"
    assert seen_by_owner["messages"][-1]["role"] == "agent"
    assert seen_by_owner["messages"][-1]["content"] == "Turn off hardware acceleration in Teams settings."
    assert closed.json()["status"] == "closed"
    history = [(h["actor"], h["field"], h["to"]) for h in closed.json()["history"]]
    assert ("user", "status", "escalated") in history
    assert ("agent", "status", "answered") in history
    assert ("agent", "status", "closed") in history
    late = await client.post(f"{ticket_url}/feedback", json={"resolved": True}, headers=owner.headers)
    assert (late.status_code, late.json()["code"]) == (409, "ticket_closed")


async def test_agent_routes_refuse_everyone_but_agents_and_admins(
    client: AsyncTestClient[Litestar], user_factory: UserFactory
) -> None:
    owner = await user_factory()
    ticket = await answered_ticket(client, owner, "Laptop fan is very loud")
    routes = [
        ("GET", "/api/v1/agent/tickets", None),
        ("GET", f"/api/v1/agent/tickets/{ticket['id']}", None),
        ("POST", f"/api/v1/agent/tickets/{ticket['id']}/reply", {"content": "Hi"}),
        ("POST", f"/api/v1/agent/tickets/{ticket['id']}/close", None),
    ]
    for method, url, body in routes:
        refused = await client.request(method, url, json=body, headers=owner.headers)
        anonymous = await client.request(method, url, json=body)
        assert (refused.status_code, refused.json()["code"]) == (403, "role_required"), url
        assert anonymous.status_code == 401, url
    assert (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=owner.headers)).json()["status"] == "answered"


async def test_another_users_ticket_is_a_404_on_every_route(
    client: AsyncTestClient[Litestar], user_factory: UserFactory
) -> None:
    owner, stranger = await user_factory(), await user_factory()
    ticket = await answered_ticket(client, owner, "Cannot map the S: drive")
    url = f"/api/v1/tickets/{ticket['id']}"
    attempts = [
        await client.get(url, headers=stranger.headers),
        await client.post(f"{url}/resolve", headers=stranger.headers),
        await client.post(f"{url}/messages", json={"content": "and now?"}, headers=stranger.headers),
        await client.post(f"{url}/feedback", json={"resolved": False}, headers=stranger.headers),
        await client.get(f"{url}/screenshots/0", headers=stranger.headers),
    ]
    assert [(r.status_code, r.json()["code"]) for r in attempts] == [(404, "ticket_not_found")] * len(attempts)
    after = (await client.get(url, headers=owner.headers)).json()
    assert (after["status"], len(after["messages"])) == ("answered", 1)


def test_fix_titles_are_the_first_sentence_cut_at_a_word() -> None:
    assert (
        fix_title("Outlook keeps asking for my password. It started today.") == "Outlook keeps asking for my password."
    )
    long = "word " * 40
    title = fix_title(long)
    assert len(title) <= 101
    assert title.endswith("…")
    assert not title.endswith(" …")
