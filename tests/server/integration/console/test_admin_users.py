"""User administration in the console: admins only; search and paging, roles granted and revoked, sessions ended."""

from __future__ import annotations

import logging
import re
import uuid
from typing import TYPE_CHECKING

from server.domain.console import admin_pages
from tests.fixtures.db import fetch_value
from tests.server.integration.console.conftest import Browser, page_text, parse, signed_in_browser

if TYPE_CHECKING:
    import pytest
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from tests.fixtures.auth import UserFactory
    from tests.server.integration.console.conftest import BrowserFactory, StaffFactory

ROLE_OF = "SELECT role FROM users WHERE id = $1::uuid"
LIVE_SESSIONS = "SELECT count(*) FROM user_sessions WHERE user_id = $1::uuid AND revoked_at IS NULL"


def _row_ids(html: str) -> list[str]:
    return re.findall(r'<tr id="user-([0-9a-f-]{36})"', html)


def _logged(caplog: pytest.LogCaptureFixture, event: str) -> list[dict[str, object]]:
    return [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == event]


async def test_admins_find_accounts_by_name_email_or_username_staff_first_with_paging(
    user_factory: UserFactory,
    staff_factory: StaffFactory,
    browser_factory: BrowserFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(admin_pages, "PAGE_SIZE", 2)
    admin = await staff_factory("admin", name="Grace Admin")
    agent = await staff_factory(name="Zed Agent")
    margot = await user_factory(name="Margot Fairweather", email="margot@fabrikam.com", username="mfair")
    other = await user_factory(name="Olu Bankole", email="olu@contoso.com", username="olub")
    browser = await signed_in_browser(browser_factory, admin)

    first = await browser.get("/console/admin/users")
    second = await browser.get("/console/admin/users", params={"page": "2"})
    by_name = await browser.get("/console/admin/users", params={"q": "FAIRWEATHER"})
    by_email = await browser.get("/console/admin/users", params={"q": "@contoso"})
    by_username = await browser.get("/console/admin/users", params={"q": "mfair"})
    agents = await browser.get("/console/admin/users", params={"role": "agent"})
    wildcard = await browser.get("/console/admin/users", params={"q": "%"})

    assert first.status_code == 200, first.text
    assert _row_ids(first.text) == [admin.id, agent.id]  # staff first
    assert "4 accounts · page 1 of 2" in page_text(first.text)
    assert _row_ids(second.text) == [margot.id, other.id]
    assert 'href="/console/admin/users" rel="prev"' in second.text
    assert _row_ids(by_name.text) == [margot.id]
    assert _row_ids(by_email.text) == [other.id]
    assert _row_ids(by_username.text) == [margot.id]
    assert _row_ids(agents.text) == [agent.id]
    assert _row_ids(wildcard.text) == []  # LIKE's wildcards are searched as text
    assert "No account matches." in page_text(wildcard.text)


async def test_an_admin_grants_and_revokes_roles_and_the_log_says_who(
    user_factory: UserFactory,
    staff_factory: StaffFactory,
    browser_factory: BrowserFactory,
    db_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    admin = await staff_factory("admin")
    user = await user_factory(name="Ada Newhire")
    grace = await signed_in_browser(browser_factory, admin)
    await grace.get("/console/admin/users", params={"q": "newhire"})

    granted = await grace.post(f"/console/admin/users/{user.id}/role", {"role": "agent", "back": "q=newhire"})
    listed = await grace.get(granted.headers["location"])
    ada = await signed_in_browser(browser_factory, user)  # the new agent signs in to the console
    promoted = await grace.post(f"/console/admin/users/{user.id}/role", {"role": "admin", "back": ""})
    revoked = await grace.post(f"/console/admin/users/{user.id}/role", {"role": "user", "back": ""})
    turned_away = await ada.get("/console")

    assert (granted.status_code, granted.headers["location"]) == (
        303,
        f"/console/admin/users?q=newhire&done=role#user-{user.id}",
    )
    assert "Role changed." in page_text(listed.text)
    assert "Ada Newhire" in page_text(listed.text)
    assert promoted.headers["location"] == f"/console/admin/users?done=role#user-{user.id}"
    assert revoked.status_code == 303
    assert await fetch_value(db_url, ROLE_OF, user.id) == "user"
    assert turned_away.status_code == 403
    assert "for support staff" in page_text(turned_away.text)
    changes = [(e["admin_id"], e["user_id"], e["before"], e["after"]) for e in _logged(caplog, "role_changed")]
    assert changes == [
        (admin.id, user.id, "user", "agent"),
        (admin.id, user.id, "agent", "admin"),
        (admin.id, user.id, "admin", "user"),
    ]


async def test_an_admin_cannot_remove_their_own_admin_role_and_is_told_so(
    staff_factory: StaffFactory, browser_factory: BrowserFactory, db_url: str
) -> None:
    admin = await staff_factory("admin")
    browser = await signed_in_browser(browser_factory, admin)
    page = await browser.get("/console/admin/users")

    demoted = await browser.post(f"/console/admin/users/{admin.id}/role", {"role": "user", "back": ""})
    to_agent = await browser.post(f"/console/admin/users/{admin.id}/role", {"role": "agent", "back": ""})

    own_row = page.text.split(f'id="user-{admin.id}"', 1)[1].split("</tr>", 1)[0]
    assert "You cannot remove your own admin role" in page_text(own_row)
    assert f"/console/admin/users/{admin.id}/role" not in own_row  # no button that would be refused
    assert [demoted.status_code, to_agent.status_code] == [409, 409]
    assert "You cannot remove your own admin role: another admin has to do that." in page_text(demoted.text)
    assert await fetch_value(db_url, ROLE_OF, admin.id) == "admin"


async def test_ending_all_sessions_signs_the_account_out_everywhere(
    *,
    client: AsyncTestClient[Litestar],
    user_factory: UserFactory,
    staff_factory: StaffFactory,
    browser_factory: BrowserFactory,
    db_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    admin = await staff_factory("admin")
    agent = await staff_factory()
    agent_console = await signed_in_browser(browser_factory, agent)
    browser = await signed_in_browser(browser_factory, admin)
    await browser.get("/console/admin/users")

    ended = await browser.post(f"/console/admin/users/{agent.id}/sessions/end", {"back": "role=agent"})

    assert ended.headers["location"] == f"/console/admin/users?role=agent&done=sessions#user-{agent.id}"
    assert await fetch_value(db_url, LIVE_SESSIONS, agent.id) == 0
    assert (await client.get("/api/v1/me", headers=agent.headers)).status_code == 401
    assert (await agent_console.get("/console")).headers["location"].startswith("/console/login")
    assert (await browser.get("/console/admin/users")).status_code == 200  # the admin's own session is untouched
    [logged] = _logged(caplog, "admin_ended_sessions")
    assert (logged["admin_id"], logged["user_id"]) == (admin.id, agent.id)


async def test_agents_get_the_not_for_you_page_and_change_nothing(
    user_factory: UserFactory, staff_factory: StaffFactory, browser_factory: BrowserFactory, db_url: str
) -> None:
    user = await user_factory()
    agent = await staff_factory()
    browser = await signed_in_browser(browser_factory, agent)
    await browser.get("/console")

    listing = await browser.get("/console/admin/users")
    grant = await browser.post(f"/console/admin/users/{user.id}/role", {"role": "admin", "back": ""})
    end = await browser.post(f"/console/admin/users/{user.id}/sessions/end", {"back": ""})

    assert [listing.status_code, grant.status_code, end.status_code] == [403, 403, 403]
    assert "This page is for admins" in page_text(listing.text)
    assert "set-cookie" not in listing.headers  # still signed in: only this page is not theirs
    navigation = [attrs.get("href") for tag, attrs in parse(listing.text).tags if tag == "a"]
    assert "/console/kb" in navigation
    assert await fetch_value(db_url, ROLE_OF, user.id) == "user"
    assert await fetch_value(db_url, LIVE_SESSIONS, user.id) == 1
    assert (await browser.get("/console")).status_code == 200


async def test_to_htmx_the_forms_answer_hx_location_with_the_account_s_row(
    user_factory: UserFactory, staff_factory: StaffFactory, browser_factory: BrowserFactory, db_url: str
) -> None:
    user = await user_factory()
    browser = await signed_in_browser(browser_factory, await staff_factory("admin"))
    await browser.get("/console/admin/users", params={"role": "user"})
    htmx = {"HX-Request": "true", "HX-Boosted": "true"}

    granted = await browser.post(f"/console/admin/users/{user.id}/role", {"role": "agent", "back": "role=user"},
                                 headers=htmx)  # fmt: skip
    ended = await browser.post(f"/console/admin/users/{user.id}/sessions/end", {"back": ""}, headers=htmx)

    # htmx's XHR would follow a 303 and lose the fragment; it fetches HX-Location itself and scrolls to the row.
    assert (granted.status_code, granted.headers["hx-location"]) == (
        204,
        f"/console/admin/users?role=user&done=role#user-{user.id}",
    )
    assert (ended.status_code, ended.headers["hx-location"]) == (
        204,
        f"/console/admin/users?done=sessions#user-{user.id}",
    )
    assert "location" not in granted.headers
    assert await fetch_value(db_url, ROLE_OF, user.id) == "agent"
    assert await fetch_value(db_url, LIVE_SESSIONS, user.id) == 0


async def test_admin_forms_are_refused_without_a_csrf_token(
    user_factory: UserFactory, staff_factory: StaffFactory, browser_factory: BrowserFactory, db_url: str
) -> None:
    user = await user_factory()
    browser = await signed_in_browser(browser_factory, await staff_factory("admin"))
    forged = Browser(browser.http, cookies=dict(browser.cookies), csrf="0" * 128)

    missing = await browser.request("POST", f"/console/admin/users/{user.id}/role", data={"role": "admin"})
    wrong = await forged.post(f"/console/admin/users/{user.id}/sessions/end")

    assert [missing.status_code, wrong.status_code] == [403, 403]
    assert "form has expired" in page_text(missing.text)
    assert await fetch_value(db_url, ROLE_OF, user.id) == "user"
    assert await fetch_value(db_url, LIVE_SESSIONS, user.id) == 1


async def test_an_unknown_role_or_account_is_refused(
    user_factory: UserFactory, staff_factory: StaffFactory, browser_factory: BrowserFactory, db_url: str
) -> None:
    user = await user_factory()
    browser = await signed_in_browser(browser_factory, await staff_factory("admin"))
    await browser.get("/console/admin/users")

    bad_role = await browser.post(f"/console/admin/users/{user.id}/role", {"role": "superuser", "back": ""})
    nobody = await browser.post(f"/console/admin/users/{uuid.uuid4()}/role", {"role": "agent", "back": ""})
    nobody_sessions = await browser.post(f"/console/admin/users/{uuid.uuid4()}/sessions/end", {"back": ""})
    odd_filters = await browser.get("/console/admin/users", params={"role": "root", "page": "999"})

    assert bad_role.status_code == 422
    assert "role must be one of user, agent, admin" in page_text(bad_role.text)
    assert [nobody.status_code, nobody_sessions.status_code] == [404, 404]
    assert "No such account." in page_text(nobody.text)
    assert odd_filters.status_code == 200  # an unknown role filters nothing; a page past the end is empty
    assert await fetch_value(db_url, ROLE_OF, user.id) == "user"
