"""Live over real HTTP: the staff stream hears every ticket; a console reply reaches the owner's own stream."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import httpx

from server.domain.accounts.cli import change_role
from tests.fixtures.auth import create_user
from tests.server.integration.console.conftest import add_answer, csrf_of
from tests.server.integration.tickets.test_events import events_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tests.fixtures.auth import TestUser
    from tests.fixtures.mail import Mailbox
    from tests.fixtures.server import LiveServer


ANSWERED = {"field": "status", "from": "escalated", "to": "answered"}


async def console_sign_in(http: httpx.AsyncClient, user: TestUser) -> str:
    """Sign ``http`` (its own cookie jar) in to the console; the CSRF token for its forms."""
    form = await http.get("/console/login")
    token = csrf_of(form.text)
    signed_in = await http.post(
        "/console/login", data={"_csrf_token": token, "login": user.email, "password": user.password}
    )
    assert signed_in.status_code == 303, signed_in.text
    return csrf_of((await http.get("/console")).text)  # sign-in renewed the token: the console's pages carry it


class Listener:
    """Collects a stream's events in the background; ``ready`` once the server listens."""

    def __init__(self, http: httpx.AsyncClient, path: str, headers: dict[str, str] | None = None) -> None:
        self.events: list[tuple[str, Any]] = []
        self.ready = asyncio.Event()
        self.arrived = asyncio.Condition()
        self._task = asyncio.create_task(self._run(http, path, headers or {}))

    async def _run(self, http: httpx.AsyncClient, path: str, headers: dict[str, str]) -> None:
        async with http.stream("GET", path, headers=headers) as response:
            assert response.status_code == 200, await response.aread()
            async for name, data in events_of(response):
                if name == "ready":
                    self.ready.set()
                    continue
                async with self.arrived:
                    self.events.append((name, data))
                    self.arrived.notify_all()

    async def wait_for(self, name: str, **match: Any) -> dict[str, Any]:
        """The first event ``name`` whose data has ``match``'s items, waiting up to 15 s for it."""

        def found() -> dict[str, Any] | None:
            for event, data in self.events:
                if event == name and all(data.get(k) == v for k, v in match.items()):
                    return dict(data)
            return None

        async def wait() -> dict[str, Any]:
            async with self.arrived:
                await self.arrived.wait_for(lambda: found() is not None)
            result = found()
            assert result is not None
            return result

        return await asyncio.wait_for(wait(), timeout=15)

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@contextlib.asynccontextmanager
async def listening(
    http: httpx.AsyncClient, path: str, headers: dict[str, str] | None = None
) -> AsyncIterator[Listener]:
    listener = Listener(http, path, headers)
    try:
        await asyncio.wait_for(listener.ready.wait(), timeout=15)
        yield listener
    finally:
        await listener.stop()


async def test_staff_hear_new_tickets_and_escalations_and_the_owner_hears_the_console_reply(
    live_server: LiveServer, mailbox: Mailbox, db_url: str
) -> None:
    async with (
        httpx.AsyncClient(base_url=live_server.url, timeout=30) as api,
        httpx.AsyncClient(base_url=live_server.url, timeout=30) as console,
    ):
        owner, agent = await create_user(api, mailbox), await create_user(api, mailbox)
        await change_role(db_url, agent.email, "agent", grant=True)
        csrf = await console_sign_in(console, agent)
        async with (
            listening(console, "/console/events") as staff,
            listening(api, "/api/v1/events", owner.headers) as mine,
        ):
            created = await api.post(
                "/api/v1/tickets", files={"description": (None, "VPN drops")}, headers=owner.headers
            )
            ticket_id = created.json()["id"]
            await staff.wait_for("created", ticket_id=ticket_id)  # a new ticket appears in the queue

            await add_answer(db_url, ticket_id, "Reconnect.")
            await api.post(f"/api/v1/tickets/{ticket_id}/feedback", json={"resolved": False}, headers=owner.headers)
            escalation = await staff.wait_for("changed", ticket_id=ticket_id)

            forms = {"_csrf_token": csrf}
            assert (await console.post(f"/console/tickets/{ticket_id}/assign", data=forms)).status_code == 303
            assigned = await staff.wait_for("changed", ticket_id=ticket_id, changes=[
                {"field": "assignee", "from": None, "to": agent.id}])  # fmt: skip
            reply = {**forms, "content": "Update the VPN client to version 5, then restart."}
            assert (await console.post(f"/console/tickets/{ticket_id}/reply", data=reply)).status_code == 303
            heard = await mine.wait_for("message", ticket_id=ticket_id, role="agent")
            await mine.wait_for("changed", ticket_id=ticket_id, changes=[ANSWERED])
            staff_heard = await staff.wait_for("message", ticket_id=ticket_id, role="agent")

    assert escalation["changes"] == [{"field": "status", "from": "open", "to": "escalated"}]
    assert assigned["kind"] == "changed"
    assert heard["preview"] == "Update the VPN client to version 5, then restart."
    assert "preview" not in staff_heard  # staff read messages by opening the ticket, which the access log records
    assert "owner_id" not in heard
    # The assignment was committed before the reply, so the owner's stream would have carried it by now.
    owner_fields = [change["field"] for name, data in mine.events if name == "changed" for change in data["changes"]]
    assert owner_fields == ["status", "status"]


async def test_the_staff_stream_is_for_signed_in_staff_only(live_server: LiveServer, mailbox: Mailbox) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        anonymous = await http.get("/console/events")
        user = await create_user(http, mailbox)
        bearer = await http.get("/console/events", headers=user.headers)  # the API's token is no console session

    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"  # EventSource gives up, reads no page
    assert bearer.status_code == 401


async def test_the_staff_stream_ends_when_the_role_is_taken_away(
    live_server: LiveServer, mailbox: Mailbox, db_url: str
) -> None:
    live_server.app.context.ticket_events.keepalive = 0.2
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as console:
        agent = await create_user(console, mailbox)
        await change_role(db_url, agent.email, "agent", grant=True)
        await console_sign_in(console, agent)
        listener = Listener(console, "/console/events")
        await asyncio.wait_for(listener.ready.wait(), timeout=15)
        await asyncio.sleep(0.5)
        assert not listener._task.done()  # keep-alives keep a staff member's stream open

        await change_role(db_url, agent.email, "agent", grant=False)
        await asyncio.wait_for(listener._task, timeout=10)  # ends by itself at the next check

    assert live_server.app.context.ticket_events.open_streams == 0


async def test_a_busy_staff_stream_still_ends_when_the_role_is_taken_away(
    live_server: LiveServer, mailbox: Mailbox, db_url: str
) -> None:
    """Events every 0.1 s never leave a quiet spell of one keep-alive: the check runs on a clock all the same."""
    live_server.app.context.ticket_events.keepalive = 0.5
    async with (
        httpx.AsyncClient(base_url=live_server.url, timeout=30) as console,
        httpx.AsyncClient(base_url=live_server.url, timeout=30) as api,
    ):
        agent, owner = await create_user(console, mailbox), await create_user(api, mailbox)
        await change_role(db_url, agent.email, "agent", grant=True)
        await console_sign_in(console, agent)
        listener = Listener(console, "/console/events")
        await asyncio.wait_for(listener.ready.wait(), timeout=15)
        await change_role(db_url, agent.email, "agent", grant=False)

        for _ in range(40):  # 4 s of a busy helpdesk
            if listener._task.done():
                break
            await api.post("/api/v1/tickets", files={"description": (None, "Busy")}, headers=owner.headers)
            await asyncio.sleep(0.1)
        assert listener._task.done(), "the stream of a former agent kept running while events flowed"
        assert any(name == "created" for name, _ in listener.events)  # events did flow meanwhile
