"""Signing in to the console: staff only, a real revocable session in an HttpOnly cookie, CSRF on every form, 2FA."""

from __future__ import annotations

import dataclasses
import ipaddress
import time
from typing import TYPE_CHECKING

import httpx
import pyotp
import pytest
from litestar.testing import AsyncTestClient

from server.app import create_app
from server.domain.accounts.cli import change_role
from tests.fixtures.auth import create_user
from tests.fixtures.db import fetch_value
from tests.fixtures.server import serve
from tests.server.integration.console.conftest import (
    Browser,
    csrf_of,
    hidden_value,
    page_text,
    set_cookie_headers,
    signed_in_browser,
)

if TYPE_CHECKING:
    from litestar import Litestar

    from server.context import Models
    from server.settings import Settings
    from tests.fixtures.auth import TestUser, UserFactory
    from tests.fixtures.mail import Mailbox
    from tests.server.integration.console.conftest import BrowserFactory, StaffFactory

COOKIE = "techpal_console"
LIVE_SESSIONS = "SELECT count(*) FROM user_sessions WHERE user_id = $1::uuid AND revoked_at IS NULL"


def cookie_attributes(header: str) -> set[str]:
    """The lower-cased attributes of a ``Set-Cookie`` header (``httponly``, ``samesite=lax``, ``path=/console``…)."""
    return {part.strip().lower() for part in header.split(";")[1:]}


@pytest.mark.parametrize("role", ["agent", "admin"])
async def test_staff_sign_in_to_a_session_cookie_and_see_the_queue(
    staff_factory: StaffFactory, browser_factory: BrowserFactory, role: str
) -> None:
    staff = await staff_factory(role)
    browser = await browser_factory()

    form = await browser.get("/console/login")
    signed_in = await browser.post("/console/login", {"login": staff.email, "password": staff.password})
    queue = await browser.get("/console")

    assert form.status_code == 200
    assert form.headers["content-type"].startswith("text/html")
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/console")
    [cookie] = set_cookie_headers(signed_in, COOKIE)
    attributes = cookie_attributes(cookie)
    assert {"httponly", "samesite=lax", "path=/console", "max-age=43200"} <= attributes
    assert "secure" not in attributes  # plain HTTP here
    assert queue.status_code == 200
    assert staff.name in page_text(queue.text)
    assert f"({role})" in page_text(queue.text)


async def test_a_user_without_a_staff_role_is_turned_away_and_keeps_no_session(
    user_factory: UserFactory, browser_factory: BrowserFactory, db_url: str
) -> None:
    user = await user_factory()
    before = await fetch_value(db_url, LIVE_SESSIONS, user.id)
    browser = await browser_factory()

    refused = await browser.sign_in(user, expect=403)

    assert "for support staff" in page_text(refused.text)
    assert set_cookie_headers(refused, COOKIE) == []
    assert await fetch_value(db_url, LIVE_SESSIONS, user.id) == before
    assert (await browser.get("/console")).headers["location"].startswith("/console/login")


async def test_a_signed_in_staff_member_skips_the_sign_in_form(
    staff_factory: StaffFactory, browser_factory: BrowserFactory
) -> None:
    browser = await signed_in_browser(browser_factory, await staff_factory())

    form = await browser.get("/console/login", params={"next": "/console?status=open"})

    assert (form.status_code, form.headers["location"]) == (303, "/console?status=open")


async def test_a_wrong_password_shows_the_form_again_with_the_reason(
    staff_factory: StaffFactory, browser_factory: BrowserFactory
) -> None:
    agent = await staff_factory()
    browser = await browser_factory()
    await browser.get("/console/login")

    refused = await browser.post("/console/login", {"login": agent.email, "password": "not-the-password"})

    assert refused.status_code == 401
    assert "Wrong login or password" in page_text(refused.text)
    assert hidden_value(refused.text, "next") == "/console"
    assert set_cookie_headers(refused, COOKIE) == []


async def test_sign_in_is_throttled_like_the_api(staff_factory: StaffFactory, browser_factory: BrowserFactory) -> None:
    agent = await staff_factory()
    browser = await browser_factory()
    await browser.get("/console/login")

    answers = [
        (await browser.post("/console/login", {"login": agent.email, "password": "wrong"})).status_code
        for _ in range(11)
    ]

    assert answers[:10] == [401] * 10
    assert answers[10] == 429
    assert browser.last is not None
    assert "retry-after" in browser.last.headers


async def test_forms_without_a_valid_csrf_token_are_refused(
    staff_factory: StaffFactory, browser_factory: BrowserFactory
) -> None:
    agent = await staff_factory()
    browser = await signed_in_browser(browser_factory, agent)
    forged = Browser(browser.http, cookies=dict(browser.cookies), csrf="0" * 128)

    missing = await browser.request("POST", "/console/logout", data={})
    wrong = await forged.post("/console/logout")
    other_cookie = await (await browser_factory()).request(
        "POST", "/console/login", data={"_csrf_token": browser.csrf, "login": agent.email, "password": agent.password}
    )

    assert [missing.status_code, wrong.status_code, other_cookie.status_code] == [403, 403, 403]
    assert "form has expired" in page_text(missing.text)
    assert (await browser.get("/console")).status_code == 200  # still signed in: nothing was done


async def test_the_csrf_token_also_travels_in_the_htmx_header(
    staff_factory: StaffFactory, browser_factory: BrowserFactory
) -> None:
    agent = await staff_factory()
    browser = await signed_in_browser(browser_factory, agent)
    await browser.get("/console")

    signed_out = await browser.request("POST", "/console/logout", headers={"X-CSRF-Token": browser.csrf})

    assert signed_out.status_code == 303


async def test_the_console_session_is_listed_and_revoking_it_signs_the_console_out(
    client: AsyncTestClient[Litestar], staff_factory: StaffFactory, browser_factory: BrowserFactory
) -> None:
    agent = await staff_factory()
    browser = await signed_in_browser(browser_factory, agent)

    sessions = (await client.get("/api/v1/auth/sessions", headers=agent.headers)).json()
    [console] = [s for s in sessions if s["device_name"].startswith("Support console")]
    revoked = await client.delete(f"/api/v1/auth/sessions/{console['id']}", headers=agent.headers)
    after = await browser.get("/console")

    assert console["device_name"] == "Support console — Firefox"
    assert revoked.status_code == 204
    assert after.status_code == 303
    assert after.headers["location"] == "/console/login?next=%2Fconsole"
    assert COOKIE not in browser.cookies  # the dead cookie is dropped


async def test_the_console_cookie_is_no_api_token_and_an_api_token_is_no_console_cookie(
    client: AsyncTestClient[Litestar], staff_factory: StaffFactory, browser_factory: BrowserFactory
) -> None:
    agent = await staff_factory()
    browser = await signed_in_browser(browser_factory, agent)
    cookie = browser.cookies[COOKIE]
    assert (await browser.get("/console")).status_code == 200  # the cookie works where it belongs

    as_bearer = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {cookie}"})
    assert (as_bearer.status_code, as_bearer.json()["code"]) == (401, "invalid_token")

    stranger = await browser_factory()
    stranger.cookies[COOKIE] = agent.access_token  # a live API access token of the same agent
    refused = await stranger.get("/console")
    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/console/login")


async def test_signing_in_replaces_the_csrf_token_a_page_before_sign_in_set(
    staff_factory: StaffFactory, browser_factory: BrowserFactory
) -> None:
    """A token planted in the browser before sign-in (by a sibling site or on plain HTTP) is worthless after it."""
    agent = await staff_factory()
    browser = await browser_factory()
    await browser.get("/console/login")
    before, form_token_before = browser.cookies["techpal_console_csrf"], browser.csrf

    await browser.sign_in(agent)
    assert "techpal_console_csrf" not in browser.cookies  # dropped by the sign-in's answer
    await browser.get("/console")
    assert browser.cookies["techpal_console_csrf"] != before
    browser.csrf = form_token_before  # a form of a page loaded before sign-in
    stale = await browser.post("/console/logout")
    assert stale.status_code == 403  # its token no longer matches the browser's cookie
    assert (await browser.get("/console")).status_code == 200  # and the session is still there


async def test_signing_out_ends_the_session_and_drops_the_cookie(
    client: AsyncTestClient[Litestar], staff_factory: StaffFactory, browser_factory: BrowserFactory
) -> None:
    agent = await staff_factory()
    browser = await signed_in_browser(browser_factory, agent)
    stolen = browser.cookies[COOKIE]
    await browser.get("/console")

    signed_out = await browser.post("/console/logout")

    assert (signed_out.status_code, signed_out.headers["location"]) == (303, "/console/login")
    [dropped] = set_cookie_headers(signed_out, COOKIE)
    assert "max-age=0" in cookie_attributes(dropped)
    sessions = (await client.get("/api/v1/auth/sessions", headers=agent.headers)).json()
    assert [s["device_name"] for s in sessions] == ["tests"]
    replayed = Browser(browser.http, cookies={COOKIE: stolen})
    assert (await replayed.get("/console")).status_code == 303  # the old cookie opens nothing


async def test_signing_in_again_in_the_same_browser_ends_the_previous_console_session(
    client: AsyncTestClient[Litestar], staff_factory: StaffFactory, browser_factory: BrowserFactory
) -> None:
    agent = await staff_factory()
    browser = await signed_in_browser(browser_factory, agent)

    await browser.sign_in(agent)

    sessions = (await client.get("/api/v1/auth/sessions", headers=agent.headers)).json()
    assert sorted(s["device_name"] for s in sessions) == ["Support console — Firefox", "tests"]


async def test_anonymous_pages_go_to_the_sign_in_form_and_come_back_after(
    staff_factory: StaffFactory, browser_factory: BrowserFactory
) -> None:
    agent = await staff_factory()
    browser = await browser_factory()

    away = await browser.get("/console?status=closed")
    form = await browser.get(away.headers["location"])
    back = await browser.post(
        "/console/login", {"login": agent.email, "password": agent.password, "next": hidden_value(form.text, "next")}
    )
    htmx = await (await browser_factory()).get("/console", headers={"HX-Request": "true"})

    assert (away.status_code, away.headers["location"]) == (303, "/console/login?next=%2Fconsole%3Fstatus%3Dclosed")
    assert (back.status_code, back.headers["location"]) == (303, "/console?status=closed")
    assert (htmx.status_code, htmx.headers["hx-redirect"]) == (401, "/console/login?next=%2Fconsole")


@pytest.mark.parametrize(
    "target", ["//evil.example/console", "https://evil.example", "/api/v1/me", "/console/../api/v1/me", "javascript:x"]
)
async def test_sign_in_never_sends_the_browser_elsewhere(
    staff_factory: StaffFactory, browser_factory: BrowserFactory, target: str
) -> None:
    agent = await staff_factory()
    browser = await browser_factory()
    form = await browser.get("/console/login", params={"next": target})

    signed_in = await browser.post("/console/login", {"login": agent.email, "password": agent.password, "next": target})

    assert hidden_value(form.text, "next") == "/console"
    assert signed_in.headers["location"] == "/console"


async def test_a_staff_member_who_loses_the_role_is_shown_out(
    staff_factory: StaffFactory, browser_factory: BrowserFactory, db_url: str
) -> None:
    agent = await staff_factory()
    browser = await signed_in_browser(browser_factory, agent)

    await change_role(db_url, agent.email, "agent", grant=False)
    refused = await browser.get("/console")

    assert refused.status_code == 403
    assert "for support staff" in page_text(refused.text)
    assert COOKIE not in browser.cookies


def _code(secret: str, offset_s: int = 0) -> str:
    """The code for now + ``offset_s``, waiting out the end of a 30 s step so the server sees the same step."""
    if time.time() % 30 > 28.5:
        time.sleep(30 - time.time() % 30 + 0.05)
    return pyotp.TOTP(secret).at(time.time() + offset_s)


async def _turn_on_two_step(client: AsyncTestClient[Litestar], user: TestUser) -> str:
    started = await client.post("/api/v1/me/2fa/totp", headers=user.headers)
    secret = str(started.json()["secret"])
    body = {"code": _code(secret), "current_password": user.password}
    assert (await client.post("/api/v1/me/2fa/totp/confirm", json=body, headers=user.headers)).status_code == 200
    return secret


async def test_with_two_step_sign_in_the_console_asks_for_the_code(
    client: AsyncTestClient[Litestar], staff_factory: StaffFactory, browser_factory: BrowserFactory
) -> None:
    agent = await staff_factory()
    secret = await _turn_on_two_step(client, agent)
    browser = await browser_factory()
    await browser.get("/console/login")

    asked = await browser.post("/console/login", {"login": agent.email, "password": agent.password})
    challenge = hidden_value(asked.text, "challenge")
    wrong = await browser.post("/console/login/code", {"challenge": challenge, "code": "000000", "next": "/console"})
    right = await browser.post("/console/login/code", {"challenge": challenge, "code": _code(secret, 30)})

    assert asked.status_code == 200
    assert "Enter your code" in page_text(asked.text)
    assert set_cookie_headers(asked, COOKIE) == []
    assert wrong.status_code == 401
    assert "tries left" in page_text(wrong.text)
    assert (right.status_code, right.headers["location"]) == (303, "/console")
    assert (await browser.get("/console")).status_code == 200


async def test_an_expired_code_challenge_goes_back_to_the_password(
    staff_factory: StaffFactory, browser_factory: BrowserFactory
) -> None:
    browser = await browser_factory()
    await browser.get("/console/login")

    expired = await browser.post("/console/login/code", {"challenge": "not-a-challenge", "code": "123456"})

    assert expired.status_code == 401
    assert "sign in again" in page_text(expired.text)
    assert hidden_value(expired.text, "login") == ""


async def test_the_cookie_is_secure_when_the_server_serves_tls(
    settings: Settings, mailbox: Mailbox, db_url: str
) -> None:
    tls = dataclasses.replace(settings.server, tls_cert=settings.data_dir, tls_key=settings.data_dir)
    async with AsyncTestClient(app=create_app(settings.replace(server=tls)), base_url="http://127.0.0.1:8000") as http:
        agent = await create_user(http, mailbox)
        await change_role(db_url, agent.email, "agent", grant=True)
        browser = Browser(http)
        login_form = await browser.get("/console/login")
        signed_in = await browser.post("/console/login", {"login": agent.email, "password": agent.password})

    assert "secure" in cookie_attributes(set_cookie_headers(signed_in, COOKIE)[0])
    assert "secure" in cookie_attributes(set_cookie_headers(login_form, "techpal_console_csrf")[0])


async def test_the_cookie_is_secure_when_a_trusted_proxy_says_https(
    settings: Settings, models: Models, mailbox: Mailbox, db_url: str
) -> None:
    proxies = (ipaddress.ip_network("127.0.0.1/32"),)
    trusting = settings.replace(server=dataclasses.replace(settings.server, trusted_proxies=proxies))
    https = {"X-Forwarded-Proto": "https"}
    with serve(trusting, models) as behind_proxy, serve(settings, models) as direct:
        async with httpx.AsyncClient(base_url=behind_proxy.url, timeout=10) as api:
            agent = await create_user(api, mailbox)
        await change_role(db_url, agent.email, "agent", grant=True)
        secure_answers = []
        async with httpx.AsyncClient(timeout=10) as http:
            for url in (behind_proxy.url, direct.url):
                form = await http.get(f"{url}/console/login", headers=https)
                csrf_cookie = form.cookies["techpal_console_csrf"]
                http.cookies.clear()
                body = {"_csrf_token": csrf_of(form.text), "login": agent.email, "password": agent.password}
                headers = {**https, "Cookie": f"techpal_console_csrf={csrf_cookie}"}
                signed_in = await http.post(f"{url}/console/login", data=body, headers=headers)
                http.cookies.clear()
                assert signed_in.status_code == 303, signed_in.text
                secure_answers.append("secure" in cookie_attributes(set_cookie_headers(signed_in, COOKIE)[0]))

    assert secure_answers == [True, False]  # a client cannot claim HTTPS itself
