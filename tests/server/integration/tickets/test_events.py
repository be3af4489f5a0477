"""``GET /api/v1/events``: the owner hears about agent replies and status changes as they are committed."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx

from server.domain.accounts.cli import change_role
from tests.fixtures.auth import create_user
from tests.fixtures.tickets import events_of

if TYPE_CHECKING:
    from tests.fixtures.mail import Mailbox
    from tests.fixtures.server import LiveServer


async def test_the_owner_hears_an_agent_reply_and_nobody_else_does(
    live_server: LiveServer, mailbox: Mailbox, db_url: str
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        users = [await create_user(http, mailbox) for _ in range(3)]
        owner, other, agent = (user.headers for user in users)
        await change_role(db_url, users[2].email, "agent", grant=True)
        ticket = await http.post("/api/v1/tickets", files={"description": (None, "Printer jams")}, headers=owner)
        ticket_id = ticket.json()["id"]

        async def collect(headers: dict[str, str], ready: asyncio.Event, seen: list[tuple[str, Any]]) -> None:
            async with http.stream("GET", "/api/v1/events", headers=headers) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                async for event in events_of(response):
                    if event[0] == "ready":
                        ready.set()
                    else:
                        seen.append(event)
                        if event[0] == "changed":
                            return

        owner_ready, other_ready = asyncio.Event(), asyncio.Event()
        owner_seen: list[tuple[str, Any]] = []
        other_seen: list[tuple[str, Any]] = []
        listeners = [
            asyncio.create_task(collect(owner, owner_ready, owner_seen)),
            asyncio.create_task(collect(other, other_ready, other_seen)),
        ]
        await asyncio.wait_for(asyncio.gather(owner_ready.wait(), other_ready.wait()), timeout=15)
        reply = await http.post(
            f"/api/v1/agent/tickets/{ticket_id}/reply",
            json={"content": "Open tray 2 and remove the paper."},
            headers=agent,
        )
        assert reply.status_code == 201, reply.text
        await asyncio.wait_for(listeners[0], timeout=15)
        listeners[1].cancel()

    message = next(data for name, data in owner_seen if name == "message")
    assert (message["ticket_id"], message["role"]) == (ticket_id, "agent")
    assert message["preview"] == "Open tray 2 and remove the paper."
    changed = next(data for name, data in owner_seen if name == "changed")
    assert changed["changes"] == [{"field": "status", "from": "open", "to": "answered"}]
    assert "owner_id" not in message
    assert other_seen == []


async def test_signing_out_ends_the_stream(live_server: LiveServer, mailbox: Mailbox) -> None:
    live_server.app.context.ticket_events.keepalive = 0.2
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        user = (await create_user(http, mailbox)).headers

        async def listen() -> list[tuple[str, Any]]:
            async with http.stream("GET", "/api/v1/events", headers=user) as response:
                return [event async for event in events_of(response)]

        listener = asyncio.create_task(listen())
        await asyncio.sleep(0.5)
        assert not listener.done()  # keep-alives keep a live session's stream open
        assert (await http.post("/api/v1/auth/logout", headers=user)).status_code == 204
        seen = await asyncio.wait_for(listener, timeout=10)  # ends by itself after the next check
    assert seen == [("ready", None)]


async def test_the_stream_needs_a_signed_in_user(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        response = await http.get("/api/v1/events")
    assert response.status_code == 401
