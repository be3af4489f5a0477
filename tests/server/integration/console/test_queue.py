"""The queue: escalated tickets and user replies to agents, then open, then answered, newest activity first.

Also its filters, search, paging and the list fragment.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tests.fixtures.db import connect
from tests.fixtures.tickets import create_ticket, parse_sse
from tests.server.integration.console.conftest import (
    add_answer,
    page_text,
    parse,
    set_activity,
    signed_in_browser,
    ticket_links,
)

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from tests.fixtures.auth import TestUser, UserFactory
    from tests.server.integration.console.conftest import Browser, BrowserFactory, StaffFactory


async def _ticket(client: AsyncTestClient[Litestar], owner: TestUser, description: str, **fields: str) -> str:
    return str((await create_ticket(client, owner, description=description, **fields)).json()["id"])


async def _escalated(client: AsyncTestClient[Litestar], owner: TestUser, db_url: str, description: str) -> str:
    ticket_id = await _ticket(client, owner, description)
    await add_answer(db_url, ticket_id, "Restart it.")
    still_broken = await client.post(
        f"/api/v1/tickets/{ticket_id}/feedback", json={"resolved": False}, headers=owner.headers
    )
    assert still_broken.json()["status"] == "escalated"
    return ticket_id


async def _agent_answers(client: AsyncTestClient[Litestar], agent: TestUser, ticket_id: str, path: str) -> None:
    body = {"content": "Done."} if path == "reply" else None
    response = await client.post(f"/api/v1/agent/tickets/{ticket_id}/{path}", json=body, headers=agent.headers)
    assert response.status_code in {200, 201}, response.text


async def _user_writes(client: AsyncTestClient[Litestar], owner: TestUser, ticket_id: str, content: str) -> None:
    """The owner's follow-up from the app: stored as a user message, then the AI answers it."""
    follow_up = await client.post(
        f"/api/v1/tickets/{ticket_id}/messages", json={"content": content}, headers=owner.headers
    )
    assert follow_up.status_code == 200, follow_up.text
    assert "done" in [name for name, _data in parse_sse(follow_up.text)]


def _marked_replied(html: str) -> list[str]:
    """The ids of the queue rows marked "User replied"."""
    rows = html.split("<tr")[1:]
    return [ticket_links(row)[0] for row in rows if ticket_links(row) and "User replied" in page_text("<tr" + row)]


async def _queue(browser: Browser, **params: str) -> list[str]:
    response = await browser.get("/console", params=params)
    assert response.status_code == 200, response.text
    return ticket_links(response.text)


async def test_escalated_first_then_open_then_answered_each_newest_activity_first(
    client: AsyncTestClient[Litestar],
    user_factory: UserFactory,
    staff_factory: StaffFactory,
    browser_factory: BrowserFactory,
    db_url: str,
) -> None:
    owner, agent = await user_factory(), await staff_factory()
    escalated_old = await _escalated(client, owner, db_url, "VPN drops every hour")
    escalated_new = await _escalated(client, owner, db_url, "Outlook keeps asking for my password")
    open_old = await _ticket(client, owner, "The printer on floor 3 is offline")
    open_new = await _ticket(client, owner, "My mouse is slow")
    answered = await _ticket(client, owner, "Teams shows a black screen")
    await _agent_answers(client, agent, answered, "reply")
    closed = await _ticket(client, owner, "Old laptop battery")
    await _agent_answers(client, agent, closed, "close")
    for ticket_id, minutes_ago in [(escalated_old, 90), (escalated_new, 60), (open_old, 30), (open_new, 20),
                                   (answered, 1), (closed, 0)]:  # fmt: skip
        await set_activity(db_url, ticket_id, minutes_ago)
    browser = await signed_in_browser(browser_factory, agent)

    assert await _queue(browser) == [escalated_new, escalated_old, open_new, open_old, answered]
    assert await _queue(browser, status="closed") == [closed]
    assert await _queue(browser, status="bogus") == await _queue(browser)  # an unknown value filters nothing


async def test_a_user_reply_after_an_agent_answered_ranks_with_the_escalated_and_is_marked(
    client: AsyncTestClient[Litestar],
    user_factory: UserFactory,
    staff_factory: StaffFactory,
    browser_factory: BrowserFactory,
    db_url: str,
) -> None:
    owner, agent = await user_factory(), await staff_factory()
    escalated = await _escalated(client, owner, db_url, "VPN drops every hour")
    replied = await _escalated(client, owner, db_url, "Outlook keeps asking for my password")
    await _agent_answers(client, agent, replied, "reply")
    await _user_writes(client, owner, replied, "I did that, and it still asks for it.")
    answered_again = await _escalated(client, owner, db_url, "Teams shows a black screen")
    await _agent_answers(client, agent, answered_again, "reply")
    await _user_writes(client, owner, answered_again, "Which setting do you mean?")
    await _agent_answers(client, agent, answered_again, "reply")  # the agent answered the user's reply
    asked_the_ai = await _ticket(client, owner, "The printer on floor 3 is offline")
    await add_answer(db_url, asked_the_ai, "Turn it off and on.")
    await _user_writes(client, owner, asked_the_ai, "It is still offline.")  # no agent ever answered
    opened = await _ticket(client, owner, "My mouse is slow")
    for ticket_id, minutes_ago in [(escalated, 30), (replied, 60), (answered_again, 2), (asked_the_ai, 10),
                                   (opened, 20)]:  # fmt: skip
        await set_activity(db_url, ticket_id, minutes_ago)
    statuses = {
        ticket_id: (await client.get(f"/api/v1/tickets/{ticket_id}", headers=owner.headers)).json()["status"]
        for ticket_id in (replied, answered_again, asked_the_ai)
    }
    browser = await signed_in_browser(browser_factory, agent)

    page = await browser.get("/console")

    assert statuses == {replied: "answered", answered_again: "answered", asked_the_ai: "answered"}
    assert ticket_links(page.text) == [escalated, replied, opened, answered_again, asked_the_ai]
    assert _marked_replied(page.text) == [replied]
    mark = next(
        attrs for tag, attrs in parse(page.text).tags if tag == "span" and "replied" in (attrs.get("class") or "")
    )
    assert mark.get("aria-hidden") is None  # the words themselves say it, not a colour
    assert await _queue(browser, status="answered") == [replied, answered_again, asked_the_ai]


async def test_filters_by_category_and_priority_and_searches_the_description(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, staff_factory: StaffFactory,
    browser_factory: BrowserFactory,
) -> None:  # fmt: skip
    owner, agent = await user_factory(), await staff_factory()
    printer = await _ticket(client, owner, "The PRINTER jams", category="printer", priority="urgent")
    mail = await _ticket(client, owner, "Mail is slow", category="email", priority="urgent")
    half = await _ticket(client, owner, "The disk is 50% full", category="hardware", priority="low")
    await _ticket(client, owner, "The disk is 500 GB and full", category="hardware", priority="low")
    browser = await signed_in_browser(browser_factory, agent)

    assert await _queue(browser, category="printer") == [printer]
    assert set(await _queue(browser, priority="urgent")) == {printer, mail}
    assert await _queue(browser, priority="urgent", category="email") == [mail]
    assert await _queue(browser, q="printer") == [printer]  # any case
    assert await _queue(browser, q="50%") == [half]  # % and _ are literal, not wildcards
    assert await _queue(browser, q="nothing like this") == []
    empty = await browser.get("/console", params={"q": "nothing like this"})
    assert "No tickets match" in page_text(empty.text)


async def _insert_open_tickets(db_url: str, owner_id: str, count: int) -> list[str]:
    """``count`` open tickets straight into the table, the first the most recently active."""
    connection = await connect(db_url)
    ids = [uuid.uuid4() for _ in range(count)]
    try:
        for minutes, ticket_id in enumerate(ids):
            await connection.execute(
                "INSERT INTO tickets (id, owner_id, description, priority, status, created_at, updated_at) "
                "VALUES ($1, $2::uuid, $3, 'normal', 'open', now(), now() - make_interval(mins => $4))",
                ticket_id,
                owner_id,
                f"Problem number {minutes}",
                minutes,
            )
    finally:
        await connection.close()
    return [str(i) for i in ids]


async def test_pages_of_25(
    user_factory: UserFactory, staff_factory: StaffFactory, browser_factory: BrowserFactory, db_url: str
) -> None:
    owner, agent = await user_factory(), await staff_factory()
    ids = await _insert_open_tickets(db_url, owner.id, 27)
    browser = await signed_in_browser(browser_factory, agent)

    first = await browser.get("/console")
    second = await browser.get("/console", params={"page": "2"})

    assert ticket_links(first.text) == ids[:25]
    assert ticket_links(second.text) == ids[25:]
    assert "27 tickets · page 1 of 2" in page_text(first.text)
    assert 'href="/console?page=2"' in first.text
    assert 'href="/console?page=1"' in second.text
    assert ticket_links((await browser.get("/console", params={"page": "3"})).text) == []


async def test_htmx_refreshes_the_list_alone_with_the_filters_kept(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, staff_factory: StaffFactory,
    browser_factory: BrowserFactory,
) -> None:  # fmt: skip
    owner, agent = await user_factory(), await staff_factory()
    printer = await _ticket(client, owner, "Printer jams", category="printer")
    browser = await signed_in_browser(browser_factory, agent)
    page = await browser.get("/console", params={"category": "printer"})

    await _ticket(client, owner, "Another printer problem", category="printer")
    await _ticket(client, owner, "Mail is slow", category="email")
    refreshed = await browser.get(
        "/console", params={"category": "printer", "page": "1"}, headers={"HX-Request": "true", "HX-Target": "queue"}
    )

    assert 'hx-get="/console?category=printer&amp;page=1"' in page.text  # the list knows how to refresh itself
    assert refreshed.status_code == 200
    assert "<html" not in refreshed.text
    assert refreshed.text.lstrip().startswith('<section id="queue"')
    assert len(ticket_links(refreshed.text)) == 2
    assert printer in ticket_links(refreshed.text)
    assert refreshed.headers["cache-control"] == "no-store"
