"""Every console page runs under a strict CSP with no inline script or style; static files are ours, typed, cached."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from server.domain.console.pages import CONSOLE_CSP
from tests.fixtures.images import png_bytes
from tests.fixtures.tickets import create_ticket
from tests.server.integration.console.conftest import add_answer, parse, signed_in_browser
from tests.server.integration.knowledge.test_review import PRINTER_FIX, grow

if TYPE_CHECKING:
    import httpx
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from tests.fixtures.auth import UserFactory
    from tests.server.integration.console.conftest import BrowserFactory, StaffFactory

STATIC_DIR = Path(__file__).resolve().parents[4] / "server" / "domain" / "console" / "static"
YEAR = "max-age=31536000"


def assert_strict_page(response: httpx.Response) -> None:
    """HTML under the console's CSP: scripts and styles only from our static files, nothing inline."""
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CONSOLE_CSP
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    page = parse(response.text)
    assert "".join(page.script_bodies).strip() == ""  # no inline script
    for tag, attrs in page.tags:
        assert tag != "style", "inline <style>"
        assert "style" not in attrs, f"style attribute on <{tag}>"
        assert not [name for name in attrs if name.startswith("on")], f"event handler attribute on <{tag}>"
        assert not any(str(value).lower().startswith("javascript:") for value in attrs.values() if value)
        if tag == "script":
            assert str(attrs["src"]).startswith("/console/static/")
        if tag == "link" and attrs.get("rel") in {"stylesheet", "icon"}:
            assert str(attrs["href"]).startswith("/console/static/")


async def test_every_page_has_no_inline_script_or_style(
    client: AsyncTestClient[Litestar],
    user_factory: UserFactory,
    staff_factory: StaffFactory,
    browser_factory: BrowserFactory,
    db_url: str,
) -> None:
    owner, admin = await user_factory(), await staff_factory("admin")
    ticket = await create_ticket(client, owner, description="<style>x</style> It broke", screenshots=[png_bytes()])
    ticket_id = ticket.json()["id"]
    await add_answer(db_url, ticket_id, "Click <b onclick='x()'>here</b>", [{"title": "An article"}])
    anonymous = await browser_factory()
    browser = await signed_in_browser(browser_factory, admin)
    await browser.get(f"/console/tickets/{ticket_id}")

    pages = [
        await anonymous.get("/console/login"),
        await browser.get("/console"),
        await browser.get("/console", params={"q": "<script>"}),
        await browser.get(f"/console/tickets/{ticket_id}"),
        await browser.post(f"/console/tickets/{ticket_id}/preview", {"content": "<style>p{}</style> **hi**"}),
        await browser.post(f"/console/tickets/{ticket_id}/reply", {"content": " "}),  # an error shown on the page
        await browser.get("/console/tickets/00000000-0000-0000-0000-000000000000"),  # the error page
        await anonymous.sign_in(owner, expect=403),  # the staff-only page
        await anonymous.request("POST", "/console/logout", data={}),  # the CSRF refusal
    ]

    for response in pages:
        assert_strict_page(response)


async def test_the_review_and_admin_pages_have_no_inline_script_or_style(
    staff_factory: StaffFactory, browser_factory: BrowserFactory, db_url: str
) -> None:
    engine = create_async_engine(db_url)
    try:
        article_id = (await grow(engine, **PRINTER_FIX)).article_id
    finally:
        await engine.dispose()
    grace = await staff_factory("admin")
    admin = await signed_in_browser(browser_factory, grace)
    agent = await signed_in_browser(browser_factory, await staff_factory())
    article = f"/console/kb/articles/{article_id}"
    draft = {"title": "<style>x</style>", "symptoms": "<b onclick='x()'>hi</b>", "cause": "", "resolution": "**ok**"}

    pages = [
        await admin.get("/console/kb"),
        await admin.get(article),
        await admin.post(f"{article}/preview", draft),
        await admin.post(article, {**draft, "title": " "}),  # an error shown on the page
        await admin.get("/console/admin/users", params={"q": "<script>"}),
        await admin.post(f"/console/admin/users/{grace.id}/role", {"role": "user"}),  # refused, with the reason
        await agent.get("/console/admin/users"),  # the "not for you" page
    ]

    for response in pages:
        assert_strict_page(response)


async def test_htmx_is_configured_for_the_strict_csp(
    staff_factory: StaffFactory, browser_factory: BrowserFactory
) -> None:
    browser = await signed_in_browser(browser_factory, await staff_factory())

    page = parse((await browser.get("/console")).text)

    [config] = [attrs["content"] for tag, attrs in page.tags if tag == "meta" and attrs.get("name") == "htmx-config"]
    settings = json.loads(str(config))
    assert settings["includeIndicatorStyles"] is False  # htmx would add a <style> element
    assert settings["allowEval"] is False
    assert settings["historyCacheSize"] == 0  # no copies of pages with personal data in localStorage
    assert {"code": "[234]..", "swap": True} in settings["responseHandling"]  # a refused form's page is shown
    [body] = [attrs for tag, attrs in page.tags if tag == "body"]
    assert json.loads(str(body["hx-headers"])) == {"X-CSRF-Token": browser.csrf}


async def test_the_pages_assets_are_served_typed_and_cached_for_a_year(
    staff_factory: StaffFactory, browser_factory: BrowserFactory
) -> None:
    browser = await signed_in_browser(browser_factory, await staff_factory())
    page = parse((await browser.get("/console")).text)
    assets = [str(attrs["src"]) for tag, attrs in page.tags if tag == "script"]
    links = [(tag, attrs) for tag, attrs in page.tags if tag == "link" and attrs.get("rel") in {"stylesheet", "icon"}]
    assets += [str(attrs["href"]) for _tag, attrs in links]
    types = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}

    answers = {url.split("?")[0]: await browser.request("GET", url) for url in assets}

    assert set(answers) == {
        "/console/static/vendor/htmx.min.js",
        "/console/static/console.js",
        "/console/static/console.css",
        "/console/static/favicon.svg",  # linked, so browsers do not ask for /favicon.ico (a 404)
    }
    for url, response in answers.items():
        assert response.status_code == 200, url
        expected = types[Path(url).suffix]
        assert response.headers["content-type"].startswith(expected), url
        assert YEAR in response.headers["cache-control"]
        assert "immutable" in response.headers["cache-control"]
        assert "set-cookie" not in response.headers  # shared caches may keep these answers
        assert response.content == (STATIC_DIR / url.removeprefix("/console/static/")).read_bytes()
    assert all("?v=" in url for url in assets)  # a changed file gets a new address


async def test_htmx_is_vendored_with_its_licence(client: AsyncTestClient[Litestar]) -> None:
    htmx = await client.get("/console/static/vendor/htmx.min.js")
    licence = await client.get("/console/static/vendor/htmx.LICENSE")
    missing = await client.get("/console/static/nothing-here.js")

    assert htmx.status_code == 200
    assert htmx.text.startswith("var htmx=function()")
    assert "Zero-Clause BSD" in licence.text
    assert missing.status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/auth/refresh"])
async def test_the_json_api_needs_no_csrf_token(client: AsyncTestClient[Litestar], path: str) -> None:
    response = await client.post(path, json={"login": "nobody@example.com", "password": "x", "refresh_token": "x"})

    assert response.status_code in {401, 422}  # the API's own answer, never the console's CSRF refusal
    assert response.headers["content-type"] == "application/problem+json"
    assert "techpal_console_csrf" not in response.headers.get("set-cookie", "")
