"""A ticket in the console: the whole conversation with citations, screenshots, device, triage, history; the actions."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from server.domain.accounts.cli import change_role
from tests.fixtures.images import png_bytes
from tests.fixtures.tickets import create_ticket
from tests.server.integration.console.conftest import (
    Browser,
    add_answer,
    page_text,
    parse,
    signed_in_browser,
)

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from tests.fixtures.auth import TestUser, UserFactory
    from tests.server.integration.console.conftest import BrowserFactory, StaffFactory

ARTICLE_ID = str(uuid.uuid4())
CITATION = {
    "article_id": ARTICLE_ID,
    "source_id": "ms-printer-offline",
    "title": "Fix a printer that shows as offline",
    "source_url": "https://support.microsoft.com/printer-offline",
}


async def _ticket(client: AsyncTestClient[Litestar], owner: TestUser, **fields: object) -> str:
    return str((await create_ticket(client, owner, **fields)).json()["id"])


async def test_the_page_shows_conversation_citations_screenshot_device_triage_and_history(
    client: AsyncTestClient[Litestar],
    user_factory: UserFactory,
    staff_factory: StaffFactory,
    browser_factory: BrowserFactory,
    db_url: str,
) -> None:
    owner = await user_factory(name="Margot Fairweather")
    agent = await staff_factory()
    device = {"os": "Windows", "os_version": "11 23H2", "ram_gb": 16, "network": "limited"}
    ticket_id = await _ticket(
        client, owner, description="My printer is offline", category="printer", device=device,
        screenshots=[png_bytes(320, 200)],
    )  # fmt: skip
    await add_answer(db_url, ticket_id, "Turn the printer **off and on**.\n\n<script>alert(1)</script>", [CITATION])
    browser = await signed_in_browser(browser_factory, agent)

    page = await browser.get(f"/console/tickets/{ticket_id}")
    shot = await browser.get(f"/console/tickets/{ticket_id}/screenshots/0")
    served = await client.get(f"/api/v1/tickets/{ticket_id}/screenshots/0", headers=owner.headers)

    assert page.status_code == 200, page.text
    text = page_text(page.text)
    assert "My printer is offline" in text
    assert "Margot Fairweather" in text
    assert "<strong>off and on</strong>" in page.text  # the answer's Markdown, rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text  # raw HTML shown as text, never run
    links = {attrs.get("href"): attrs for tag, attrs in parse(page.text).tags if tag == "a"}
    assert f"/console/kb/articles/{ARTICLE_ID}" in links
    assert "Fix a printer that shows as offline" in text
    assert links["https://support.microsoft.com/printer-offline"]["rel"] == "noopener noreferrer nofollow"
    images = [attrs for tag, attrs in parse(page.text).tags if tag == "img"]
    assert [(i["src"], i["width"], i["height"]) for i in images] == [
        (f"/console/tickets/{ticket_id}/screenshots/0", "320", "200")
    ]
    assert (shot.status_code, shot.headers["content-type"]) == (200, "image/png")
    assert shot.headers["cache-control"] == "no-store"
    assert shot.content == served.content
    for words in ("Operating system Windows", "Version 11 23H2", "Memory (GB) 16", "Network limited"):
        assert words in text
    assert "Category printer set by the user" in text
    assert "Priority normal set by nobody yet" in text
    assert "Margot Fairweather Status — open" in text  # the history: who opened it


async def test_a_ticket_that_does_not_exist_is_a_404_page(
    staff_factory: StaffFactory, browser_factory: BrowserFactory
) -> None:
    browser = await signed_in_browser(browser_factory, await staff_factory())

    missing = await browser.get(f"/console/tickets/{uuid.uuid4()}")
    no_shot = await browser.get(f"/console/tickets/{uuid.uuid4()}/screenshots/0")

    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "There is no such ticket" in page_text(missing.text)
    assert no_shot.status_code == 404


async def test_a_reply_answers_the_ticket_and_the_owner_sees_it(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, staff_factory: StaffFactory,
    browser_factory: BrowserFactory,
) -> None:  # fmt: skip
    owner, agent = await user_factory(), await staff_factory()
    ticket_id = await _ticket(client, owner, description="Excel crashes on start")
    browser = await signed_in_browser(browser_factory, agent)
    await browser.get(f"/console/tickets/{ticket_id}")

    sent = await browser.post(f"/console/tickets/{ticket_id}/reply", {"content": "  Start it in **safe mode**.  "})
    mine = (await client.get(f"/api/v1/tickets/{ticket_id}", headers=owner.headers)).json()
    page = await browser.get(f"/console/tickets/{ticket_id}")

    assert sent.status_code == 303
    assert sent.headers["location"].startswith(f"/console/tickets/{ticket_id}#message-")
    assert mine["status"] == "answered"
    assert [(m["role"], m["content"]) for m in mine["messages"]] == [("agent", "Start it in **safe mode**.")]
    assert "<strong>safe mode</strong>" in page.text
    assert f"{agent.name} (support)" in page_text(page.text)


async def test_to_htmx_a_sent_reply_answers_hx_location_with_the_reply_s_anchor(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, staff_factory: StaffFactory,
    browser_factory: BrowserFactory,
) -> None:  # fmt: skip
    owner, agent = await user_factory(), await staff_factory()
    ticket_id = await _ticket(client, owner, description="Excel crashes on start")
    browser = await signed_in_browser(browser_factory, agent)
    await browser.get(f"/console/tickets/{ticket_id}")

    sent = await browser.post(f"/console/tickets/{ticket_id}/reply", {"content": "Start it in safe mode."},
                              headers={"HX-Request": "true", "HX-Boosted": "true"})  # fmt: skip
    mine = (await client.get(f"/api/v1/tickets/{ticket_id}", headers=owner.headers)).json()

    # A 303 would be followed by htmx's XHR, which drops the fragment: htmx fetches HX-Location itself, anchor kept.
    assert sent.status_code == 204
    assert "location" not in sent.headers
    assert sent.headers["hx-location"] == f"/console/tickets/{ticket_id}#message-{mine['messages'][0]['id']}"
    assert sent.headers["content-security-policy"]


async def test_the_ticket_forms_are_refused_without_a_csrf_token(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, staff_factory: StaffFactory,
    browser_factory: BrowserFactory,
) -> None:  # fmt: skip
    owner, agent = await user_factory(), await staff_factory()
    ticket_id = await _ticket(client, owner, description="The docking station does not charge")
    closed_id = await _ticket(client, owner, description="The old webcam is blurry")
    browser = await signed_in_browser(browser_factory, agent)
    await browser.get(f"/console/tickets/{closed_id}")
    await browser.post(f"/console/tickets/{closed_id}/close")
    forged = Browser(browser.http, cookies=dict(browser.cookies), csrf="0" * 128)
    forms = [
        (ticket_id, "reply", {"content": "Try another cable."}),
        (ticket_id, "preview", {"content": "Try **another** cable."}),
        (ticket_id, "close", {}),
        (ticket_id, "assign", {}),
        (closed_id, "reopen", {}),
    ]

    missing = [await browser.request("POST", f"/console/tickets/{i}/{form}", data=data) for i, form, data in forms]
    wrong = [await forged.post(f"/console/tickets/{i}/{form}", data) for i, form, data in forms]
    htmx_headers = {"HX-Request": "true", "X-CSRF-Token": "0" * 128}
    htmx = [
        await forged.request("POST", f"/console/tickets/{i}/{form}", data=data, headers=htmx_headers)
        for i, form, data in forms
    ]

    assert [response.status_code for response in missing + wrong + htmx] == [403] * 15
    assert all("form has expired" in page_text(response.text) for response in missing + wrong)
    seen = {
        i: (await client.get(f"/api/v1/agent/tickets/{i}", headers=agent.headers)).json()
        for i in (ticket_id, closed_id)
    }
    assert (seen[ticket_id]["status"], seen[ticket_id]["messages"]) == ("open", [])
    assert seen[closed_id]["status"] == "closed"
    assert [h["field"] for h in seen[ticket_id]["history"]] == ["status"]  # only its opening: no assignee, no close
    assert [h["to"] for h in seen[closed_id]["history"]] == ["open", "closed"]


async def test_a_blank_reply_or_one_to_a_closed_ticket_is_refused_with_the_draft_kept(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, staff_factory: StaffFactory,
    browser_factory: BrowserFactory,
) -> None:  # fmt: skip
    owner, agent = await user_factory(), await staff_factory()
    ticket_id = await _ticket(client, owner, description="Wi-Fi keeps dropping")
    browser = await signed_in_browser(browser_factory, agent)
    await browser.get(f"/console/tickets/{ticket_id}")

    blank = await browser.post(f"/console/tickets/{ticket_id}/reply", {"content": "   "})
    control = await browser.post(f"/console/tickets/{ticket_id}/reply", {"content": "bad\x00byte"})
    await browser.post(f"/console/tickets/{ticket_id}/close")
    closed = await browser.post(f"/console/tickets/{ticket_id}/reply", {"content": "Try the other router"})

    assert blank.status_code == 422
    assert "content is empty" in page_text(blank.text)
    assert control.status_code == 422
    assert closed.status_code == 409
    assert "This ticket is closed" in page_text(closed.text)
    mine = (await client.get(f"/api/v1/tickets/{ticket_id}", headers=owner.headers)).json()
    assert mine["messages"] == []


async def test_the_preview_renders_markdown_safely_with_and_without_htmx(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, staff_factory: StaffFactory,
    browser_factory: BrowserFactory,
) -> None:  # fmt: skip
    owner, agent = await user_factory(), await staff_factory()
    ticket_id = await _ticket(client, owner, description="Teams has no sound")
    browser = await signed_in_browser(browser_factory, agent)
    await browser.get(f"/console/tickets/{ticket_id}")
    draft = "Open **Settings** <img src=x onerror=alert(1)> [docs](javascript:alert(1))"

    piece = await browser.post(f"/console/tickets/{ticket_id}/preview", {"content": draft},
                               headers={"HX-Request": "true"})  # fmt: skip
    whole = await browser.post(f"/console/tickets/{ticket_id}/preview", {"content": draft})

    assert piece.status_code == 200
    assert "<html" not in piece.text
    assert "<strong>Settings</strong>" in piece.text
    assert "<img" not in piece.text
    assert "javascript:" not in [attrs.get("href") for _tag, attrs in parse(piece.text).tags]
    assert whole.status_code == 200
    assert "<strong>Settings</strong>" in whole.text
    textarea = whole.text.split('name="content"', 1)[1].split("</textarea>", 1)[0]
    assert "Open **Settings** &lt;img src=x onerror=alert(1)&gt;" in textarea  # the draft, kept for sending
    mine = (await client.get(f"/api/v1/tickets/{ticket_id}", headers=owner.headers)).json()
    assert mine["messages"] == []  # a preview sends nothing


async def test_close_reopen_and_assign_are_recorded_with_who_did_them(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, staff_factory: StaffFactory,
    browser_factory: BrowserFactory,
) -> None:  # fmt: skip
    owner = await user_factory()
    first = await staff_factory(name="Ada Agent")
    second = await staff_factory("admin", name="Grace Admin")
    ticket_id = await _ticket(client, owner, description="The scanner is not found")
    ada = await signed_in_browser(browser_factory, first)
    await ada.get(f"/console/tickets/{ticket_id}")

    assigned = await ada.post(f"/console/tickets/{ticket_id}/assign")
    closed = await ada.post(f"/console/tickets/{ticket_id}/close")
    grace = await signed_in_browser(browser_factory, second)
    seen_by_grace = await grace.get(f"/console/tickets/{ticket_id}")
    reopened = await grace.post(f"/console/tickets/{ticket_id}/reopen")
    again = await grace.post(f"/console/tickets/{ticket_id}/reopen")

    assert [assigned.status_code, closed.status_code, reopened.status_code] == [303, 303, 303]
    text = page_text(seen_by_grace.text)
    assert "assigned to Ada Agent" in text
    assert "Ada Agent Assigned to — Ada Agent" in text  # another staff member's actions, by name
    assert "Ada Agent Status open closed" in text
    assert again.status_code == 409
    assert "Only a closed or resolved ticket can be reopened" in page_text(again.text)
    history = page_text((await ada.get(f"/console/tickets/{ticket_id}")).text)
    assert "Grace Admin Status closed open" in history
    mine = (await client.get(f"/api/v1/tickets/{ticket_id}", headers=owner.headers)).json()
    assert mine["status"] == "open"
    # The owner learns that a staff member took the ticket, not which one.
    assert [(h["field"], h["to"]) for h in mine["history"] if h["field"] == "assignee"] == [("assignee", "staff")]
    staff_view = (await client.get(f"/api/v1/agent/tickets/{ticket_id}", headers=second.headers)).json()
    assert [h["to"] for h in staff_view["history"] if h["field"] == "assignee"] == [first.id]


async def test_assigning_twice_changes_nothing(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, staff_factory: StaffFactory,
    browser_factory: BrowserFactory,
) -> None:  # fmt: skip
    owner, agent = await user_factory(), await staff_factory()
    ticket_id = await _ticket(client, owner, description="Keyboard types the wrong letters")
    browser = await signed_in_browser(browser_factory, agent)
    await browser.get(f"/console/tickets/{ticket_id}")

    await browser.post(f"/console/tickets/{ticket_id}/assign")
    await browser.post(f"/console/tickets/{ticket_id}/assign")

    staff_view = (await client.get(f"/api/v1/agent/tickets/{ticket_id}", headers=agent.headers)).json()
    assert [h["field"] for h in staff_view["history"]].count("assignee") == 1


async def test_the_owner_of_a_ticket_who_is_also_staff_sees_it_like_any_other(
    client: AsyncTestClient[Litestar], staff_factory: StaffFactory, browser_factory: BrowserFactory, db_url: str
) -> None:
    agent = await staff_factory()
    ticket_id = await _ticket(client, agent, description="My own laptop is slow")
    browser = await signed_in_browser(browser_factory, agent)

    page = await browser.get(f"/console/tickets/{ticket_id}")
    await change_role(db_url, agent.email, "agent", grant=False)

    assert page.status_code == 200
    assert (await browser.get(f"/console/tickets/{ticket_id}")).status_code == 403
