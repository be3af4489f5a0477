"""Console test helpers: a browser per staff member (its own cookie jar), signing in through the forms, page parsing.

Every browser talks to the test's app through the ``client`` fixture with cookies of its own; event-stream tests use
``live_server`` instead, where responses really stream.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any

import pytest

from server.domain.accounts.cli import change_role
from tests.fixtures.db import connect

if TYPE_CHECKING:
    import httpx
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from tests.fixtures.auth import TestUser, UserFactory

BROWSER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


class PageParser(HTMLParser):
    """Collects what the tests ask of a page: tags with their attributes, script bodies, text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_bodies: list[str] = []
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script_bodies.append(data)
        else:
            self.text.append(data)


def parse(html: str) -> PageParser:
    """The parsed page."""
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser


def page_text(html: str) -> str:
    """The page's visible text with whitespace collapsed."""
    return " ".join(" ".join(parse(html).text).split())


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    for tag, attrs in parse(html).tags:
        if tag == "input" and attrs.get("name") == "_csrf_token" and attrs.get("value"):
            return str(attrs["value"])
    raise AssertionError("the page has no CSRF token")


def hidden_value(html: str, name: str) -> str:
    """The value of the hidden field ``name``."""
    for tag, attrs in parse(html).tags:
        if tag == "input" and attrs.get("name") == name:
            return str(attrs.get("value") or "")
    raise AssertionError(f"the page has no field {name}")


def set_cookie_headers(response: httpx.Response, name: str) -> list[str]:
    """The ``Set-Cookie`` headers of ``response`` that set ``name``."""
    return [value for value in response.headers.get_list("set-cookie") if value.startswith(f"{name}=")]


@dataclass
class Browser:
    """One staff member's browser on the test's client: its own cookies, and the CSRF token of the last page.

    The app runs in the test client's own event loop, so every browser shares that client; each keeps its cookies
    apart (sent as a ``Cookie`` header, taken from ``Set-Cookie``) and leaves the client's jar empty.
    """

    http: AsyncTestClient[Litestar]
    user: TestUser | None = None
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""
    last: httpx.Response | None = field(default=None, repr=False)

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request with this browser's cookies; keep the cookies the answer sets or drops."""
        headers = {"User-Agent": BROWSER_AGENT, **kwargs.pop("headers", {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        self.http.cookies.clear()
        try:
            response = await self.http.request(method, path, headers=headers, follow_redirects=False, **kwargs)
        finally:
            self.http.cookies.clear()
        for header in response.headers.get_list("set-cookie"):
            jar = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        self.last = response
        return response

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """GET ``path``, remembering the page's CSRF token when it has one."""
        response = await self.request("GET", path, **kwargs)
        if "text/html" in response.headers.get("content-type", "") and "_csrf_token" in response.text:
            self.csrf = csrf_of(response.text)
        return response

    async def post(self, path: str, data: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        """POST a form with the CSRF token (load a page first)."""
        assert self.csrf, "load a page before posting a form"
        return await self.request("POST", path, data={"_csrf_token": self.csrf, **(data or {})}, **kwargs)

    async def sign_in(self, user: TestUser, *, expect: int = 303) -> httpx.Response:
        """Sign in through the form as ``user``."""
        if (await self.get("/console/login")).status_code == 303:  # signed in already: no form there
            await self.get("/console")  # a page of the console carries the current form token
        response = await self.post("/console/login", {"login": user.email, "password": user.password, "next": ""})
        assert response.status_code == expect, response.text
        self.user = user
        return response


BrowserFactory = Callable[[], Awaitable[Browser]]


@pytest.fixture
def browser_factory(client: AsyncTestClient[Litestar]) -> BrowserFactory:
    """New browsers on the test's app."""

    async def open_browser() -> Browser:
        return Browser(client)

    return open_browser


StaffFactory = Callable[..., Awaitable["TestUser"]]


@pytest.fixture
def staff_factory(user_factory: UserFactory, db_url: str) -> StaffFactory:
    """A verified, signed-in (API) user with ``role`` (``agent`` by default)."""

    async def make(role: str = "agent", **fields: str) -> TestUser:
        user = await user_factory(**fields)
        if role != "user":
            await change_role(db_url, user.email, role, grant=True)
        return user

    return make


async def signed_in_browser(browser_factory: BrowserFactory, user: TestUser) -> Browser:
    """A browser signed in to the console as ``user``."""
    browser = await browser_factory()
    await browser.sign_in(user)
    return browser


async def add_answer(db_url: str, ticket_id: str, content: str, citations: list[dict[str, Any]] = ()) -> str:  # type: ignore[assignment]
    """Store an assistant answer on the ticket (as a finished answer run would); its message id."""
    connection = await connect(db_url)
    try:
        message_id = uuid.uuid4()
        await connection.execute(
            "INSERT INTO ticket_messages (id, ticket_id, role, content, citations, created_at, updated_at) "
            "VALUES ($1, $2, 'assistant', $3, $4::jsonb, now(), now())",
            message_id,
            uuid.UUID(ticket_id),
            content,
            json.dumps(list(citations)),
        )
    finally:
        await connection.close()
    return str(message_id)


async def set_activity(db_url: str, ticket_id: str, minutes_ago: int) -> None:
    """Move a ticket's last activity to ``minutes_ago`` (for ordering tests)."""
    connection = await connect(db_url)
    try:
        await connection.execute(
            "UPDATE tickets SET updated_at = now() - make_interval(mins => $2) WHERE id = $1",
            uuid.UUID(ticket_id),
            minutes_ago,
        )
    finally:
        await connection.close()


def ticket_links(html: str) -> list[str]:
    """The ticket ids a queue page links to, in order."""
    return re.findall(r'href="/console/tickets/([0-9a-f-]{36})"', html)
