"""The live ticket events as the desktop reads them from the real server.

An agent's reply becomes a notification carrying the reply's own words.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING

import httpx
import pytest

from desktop.core.api import ApiClient, TicketChanged
from desktop.core.auth import MemoryTokenStore
from desktop.core.question import Question
from desktop.services.events_worker import describe_change
from tests.fixtures.auth import TEST_PASSWORD
from tests.fixtures.db import fetch_value
from tests.fixtures.mail import link_token

if TYPE_CHECKING:
    from collections.abc import Iterator

    from server.settings import Settings
    from tests.fixtures.mail import Mailbox
    from tests.fixtures.server import LiveServer

pytestmark = pytest.mark.usefixtures("anyio_backend")  # the server fixtures are async


def signed_in(url: str, mailbox: Mailbox, email: str, username: str) -> ApiClient:
    client = ApiClient(url, tokens=MemoryTokenStore())
    client.register(name=username.title(), email=email, username=username, password=TEST_PASSWORD, age_confirmed=True)
    client.verify_email(link_token([m for m in mailbox.messages() if m["To"] == email][-1], "verify-email"))
    client.login(email, TEST_PASSWORD)
    return client


@pytest.fixture
def owner(live_server: LiveServer, mailbox: Mailbox) -> Iterator[ApiClient]:
    with signed_in(live_server.url, mailbox, "owner@example.com", "owner") as client:
        yield client


def test_an_agent_reply_reaches_the_owners_stream_with_its_text(
    owner: ApiClient, live_server: LiveServer, mailbox: Mailbox, settings: Settings
) -> None:
    ticket = owner.create_ticket(Question(description="The printer on floor 2 says offline."))
    signed_in(live_server.url, mailbox, "agent@example.com", "agent").close()
    asyncio.run(
        fetch_value(
            settings.db.url.get_secret_value(),
            "UPDATE users SET role = 'agent' WHERE username = 'agent' RETURNING id",
        )
    )
    login = httpx.post(f"{live_server.url}/api/v1/auth/login", json={"login": "agent", "password": TEST_PASSWORD})
    agent_token = login.json()["access_token"]

    received: list[TicketChanged] = []
    stream = owner.events()
    reader = threading.Thread(
        target=lambda: received.extend(c for c in stream if c.kind == "message" and c.role == "agent"), daemon=True
    )
    reader.start()
    reply = "Restart the print spooler: Services → Print Spooler → Restart."
    for _ in range(50):  # the stream is open once the server has subscribed it; retry the reply until it is heard
        answer = httpx.post(
            f"{live_server.url}/api/v1/agent/tickets/{ticket.id}/reply",
            json={"content": reply},
            headers={"Authorization": f"Bearer {agent_token}"},
        )
        assert answer.status_code == 201, answer.text
        reader.join(timeout=0.2)
        if received:
            break
    stream.close()

    assert received, "no agent reply event reached the owner's stream"
    assert received[0].preview == reply
    assert describe_change(received[0]) == ("New reply from support", reply)
