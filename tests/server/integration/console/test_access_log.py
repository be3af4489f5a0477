"""The access log: each staff look at a ticket or a screenshot is recorded; admins see it; the owner's export has it."""

from __future__ import annotations

import io
import json
import zipfile
from typing import TYPE_CHECKING

from tests.fixtures.db import fetch_rows
from tests.fixtures.images import png_bytes
from tests.fixtures.tickets import create_ticket
from tests.server.integration.console.conftest import csrf_of, page_text, signed_in_browser

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from tests.fixtures.auth import TestUser, UserFactory
    from tests.server.integration.console.conftest import BrowserFactory, StaffFactory

VIEWS = "SELECT viewer_id::text, viewer_role, screenshot FROM ticket_views WHERE ticket_id = $1::uuid ORDER BY id"


async def _ticket_with_screenshot(client: AsyncTestClient[Litestar], owner: TestUser) -> str:
    created = await create_ticket(client, owner, description="Outlook freezes", screenshots=[png_bytes()])
    return str(created.json()["id"])


async def test_each_look_at_a_ticket_or_a_screenshot_is_recorded(
    client: AsyncTestClient[Litestar],
    user_factory: UserFactory,
    staff_factory: StaffFactory,
    browser_factory: BrowserFactory,
    db_url: str,
) -> None:
    owner, agent = await user_factory(), await staff_factory()
    ticket_id = await _ticket_with_screenshot(client, owner)
    browser = await signed_in_browser(browser_factory, agent)

    await browser.get(f"/console/tickets/{ticket_id}")
    await browser.get(f"/console/tickets/{ticket_id}/screenshots/0")
    await browser.get(f"/console/tickets/{ticket_id}/screenshots/7")  # none: nothing was seen, nothing recorded
    await client.get(f"/api/v1/tickets/{ticket_id}", headers=owner.headers)  # the owner's own looks are not
    await client.get(f"/api/v1/tickets/{ticket_id}/screenshots/0", headers=owner.headers)
    await client.get(f"/api/v1/agent/tickets/{ticket_id}", headers=agent.headers)  # the JSON staff routes are
    await client.get(f"/api/v1/tickets/{ticket_id}/screenshots/0", headers=agent.headers)

    rows = [tuple(row) for row in await fetch_rows(db_url, VIEWS, ticket_id)]
    assert rows == [
        (agent.id, "agent", None),
        (agent.id, "agent", 0),
        (agent.id, "agent", None),
        (agent.id, "agent", 0),
    ]


async def test_admins_see_the_access_log_and_agents_do_not(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, staff_factory: StaffFactory,
    browser_factory: BrowserFactory,
) -> None:  # fmt: skip
    owner = await user_factory()
    agent = await staff_factory(name="Ada Agent")
    admin = await staff_factory("admin", name="Grace Admin")
    ticket_id = await _ticket_with_screenshot(client, owner)
    ada = await signed_in_browser(browser_factory, agent)
    await ada.get(f"/console/tickets/{ticket_id}/screenshots/0")

    agent_page = await ada.get(f"/console/tickets/{ticket_id}")
    grace = await signed_in_browser(browser_factory, admin)
    admin_page = await grace.get(f"/console/tickets/{ticket_id}")

    assert "Access log" not in page_text(agent_page.text)
    text = page_text(admin_page.text)
    assert "Access log (admins only)" in text
    log = text.split("Access log (admins only)", 1)[1]
    assert "Grace Admin (admin) the ticket" in log  # this very look, newest first
    assert "Ada Agent (agent) the ticket" in log
    assert "Ada Agent (agent) screenshot 1" in log


async def test_the_owners_export_lists_staff_views_by_role_without_names(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, staff_factory: StaffFactory,
    browser_factory: BrowserFactory,
) -> None:  # fmt: skip
    owner = await user_factory()
    agent = await staff_factory(name="Ada Agent")
    ticket_id = await _ticket_with_screenshot(client, owner)
    browser = await signed_in_browser(browser_factory, agent)
    await browser.get(f"/console/tickets/{ticket_id}")
    await browser.get(f"/console/tickets/{ticket_id}/screenshots/0")
    await browser.post(f"/console/tickets/{ticket_id}/assign")

    started = await client.post("/api/v1/me/export", headers=owner.headers)
    download = await client.get(f"/api/v1/me/exports/{started.json()['id']}/download", headers=owner.headers)

    archive = zipfile.ZipFile(io.BytesIO(download.content))
    document = json.loads(archive.read(f"tickets/{ticket_id}/ticket.json"))
    assert [(v["role"], v["opened"]) for v in document["staff_views"]] == [
        ("agent", "ticket"),
        ("agent", "screenshot 0"),
    ]
    assert all(v["at"] for v in document["staff_views"])
    [assignment] = [h for h in document["status_history"] if h["field"] == "assignee"]
    assert (assignment["by"], assignment["to"]) == ("agent", "staff")
    whole = json.dumps(document)
    assert "Ada Agent" not in whole
    assert agent.id not in whole
    assert "each time a member of our support" in archive.read("README.txt").decode()


async def test_every_answer_that_shows_a_staff_member_the_ticket_is_recorded(
    client: AsyncTestClient[Litestar],
    user_factory: UserFactory,
    staff_factory: StaffFactory,
    browser_factory: BrowserFactory,
    db_url: str,
) -> None:
    """Refusals that show the ticket again and the JSON answers that carry it count as looks too."""
    owner, agent = await user_factory(), await staff_factory()
    ticket_id = await _ticket_with_screenshot(client, owner)
    browser = await signed_in_browser(browser_factory, agent)
    csrf = csrf_of((await browser.get(f"/console/tickets/{ticket_id}")).text)  # 1: the page

    empty = await browser.post(f"/console/tickets/{ticket_id}/reply", data={"_csrf_token": csrf, "content": " "})
    assert empty.status_code == 422  # 2: refused, the page shown again with the reason
    not_closed = await browser.post(f"/console/tickets/{ticket_id}/reopen", data={"_csrf_token": csrf})
    assert not_closed.status_code == 409  # 3: the same
    replied = await client.post(
        f"/api/v1/agent/tickets/{ticket_id}/reply", json={"content": "Restart it."}, headers=agent.headers
    )
    assert replied.status_code == 201  # 4: the JSON answer is the whole ticket
    for _ in range(2):  # 5, 6: closing (twice: the second changes nothing but still shows the ticket)
        closed = await client.post(f"/api/v1/agent/tickets/{ticket_id}/close", headers=agent.headers)
        assert closed.status_code == 200

    rows = await fetch_rows(db_url, VIEWS, ticket_id)
    assert len(rows) == 6
    assert {tuple(row) for row in rows} == {(agent.id, "agent", None)}
