"""Knowledge review in the console: the list beside the articles, approve, reject, edit, preview, (un)publish."""

from __future__ import annotations

import logging
import re
import uuid
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from tests.fixtures.db import fetch_value
from tests.server.integration.console.conftest import Browser, page_text, parse, signed_in_browser
from tests.server.integration.knowledge.test_review import PRINTER_FIX, grow, search_ids, seed_articles

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from litestar import Litestar
    from litestar.testing import AsyncTestClient
    from sqlalchemy.ext.asyncio import AsyncEngine

    from server.domain.knowledge.growth import ResolutionOutcome
    from server.domain.knowledge.importer import ArticleRecord
    from tests.fixtures.auth import TestUser, UserFactory
    from tests.server.integration.console.conftest import BrowserFactory, StaffFactory

ADDITION = "Restarting the sync service also fixed it; ask mokonkwo."
ARTICLE_BY_SOURCE = "SELECT id::text FROM kb_articles WHERE source_id = $1"


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(db_url)
    yield engine
    await engine.dispose()


async def _addition(engine: AsyncEngine, tmp_path: Path) -> tuple[ArticleRecord, ResolutionOutcome]:
    """A few published seed articles, and a fix proposed for the first of them."""
    first = await seed_articles(engine, tmp_path, n=5)
    outcome = await grow(engine, title=first.title, symptoms=first.symptoms, resolution=ADDITION)
    assert outcome.contribution_id is not None
    return first, outcome


def _form_actions(html: str) -> list[str]:
    return [str(attrs["action"]) for tag, attrs in parse(html).tags if tag == "form" and attrs.get("action")]


async def test_the_list_shows_new_articles_whole_and_additions_beside_their_article(
    staff_factory: StaffFactory, browser_factory: BrowserFactory, engine: AsyncEngine, tmp_path: Path
) -> None:
    first, merge = await _addition(engine, tmp_path)
    new = await grow(engine, **PRINTER_FIX)
    browser = await signed_in_browser(browser_factory, await staff_factory())

    page = await browser.get("/console/kb")

    assert page.status_code == 200, page.text
    text = page_text(page.text)
    assert "2 waiting for review" in text
    assert text.index(PRINTER_FIX["title"]) < text.index(first.title)  # newest first
    assert "The article it would join (seed article)" in text
    assert "The proposed addition" in text
    assert "Restarting the sync service also fixed it; ask [name]." in text  # anonymized when proposed
    assert PRINTER_FIX["resolution"] in text
    links = {attrs.get("href") for tag, attrs in parse(page.text).tags if tag == "a"}
    assert f"/console/kb/articles/{merge.article_id}" in links
    assert f"/console/kb/articles/{new.article_id}#edit" in links
    actions = set(_form_actions(page.text))
    assert f"/console/kb/review/{merge.contribution_id}/approve" in actions
    assert f"/console/kb/review/{new.article_id}/reject" in actions


async def test_approving_a_new_article_publishes_it_and_searches_find_it(
    *,
    staff_factory: StaffFactory,
    browser_factory: BrowserFactory,
    client: AsyncTestClient[Litestar],
    signed_in_user: TestUser,
    engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    agent = await staff_factory()
    new = await grow(engine, **PRINTER_FIX)
    browser = await signed_in_browser(browser_factory, agent)
    await browser.get("/console/kb")

    approved = await browser.post(f"/console/kb/review/{new.article_id}/approve", {"back": "/console/kb"})
    after = await browser.get(approved.headers["location"])
    again = await browser.post(f"/console/kb/review/{new.article_id}/approve", {"back": "/console/kb"})

    assert (approved.status_code, approved.headers["location"]) == (303, "/console/kb?done=approved")
    assert "Approved: it is published and searches find it now." in page_text(after.text)
    assert "0 waiting for review" in page_text(after.text)
    assert str(new.article_id) in await search_ids(client, signed_in_user, "label printer garbled barcodes")
    assert again.status_code == 409
    assert "This article is already published." in page_text(again.text)
    [logged] = [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == "kb_review_approved"]
    assert (logged["staff_id"], logged["article_id"]) == (agent.id, str(new.article_id))


async def test_another_staff_members_review_is_shown_with_their_name(
    staff_factory: StaffFactory, browser_factory: BrowserFactory, engine: AsyncEngine, tmp_path: Path
) -> None:
    first, declined = await _addition(engine, tmp_path)
    accepted = await grow(engine, title=first.title, symptoms=first.symptoms,
                          resolution="Re-registering the agent with quenchfast.exe fixed it.")  # fmt: skip
    ada = await signed_in_browser(browser_factory, await staff_factory(name="Ada Agent"))
    article_page = f"/console/kb/articles/{declined.article_id}"
    before = await ada.get(article_page)

    rejected = await ada.post(f"/console/kb/review/{declined.contribution_id}/reject", {"back": article_page})
    approved = await ada.post(f"/console/kb/review/{accepted.contribution_id}/approve", {"back": article_page})
    grace = await signed_in_browser(browser_factory, await staff_factory("admin", name="Grace Admin"))
    seen_by_grace = page_text((await grace.get(article_page)).text)

    assert "Waiting for review" in page_text(before.text)
    assert rejected.headers["location"] == f"{article_page}?done=rejected"
    assert approved.headers["location"] == f"{article_page}?done=approved"
    assert "Rejected by Ada Agent" in seen_by_grace
    assert "Approved by Ada Agent" in seen_by_grace
    assert "quenchfast.exe" in seen_by_grace.split("Proposed fixes", 1)[0]  # now part of the article's text
    assert "Waiting for review" not in seen_by_grace


async def test_rejecting_a_new_article_from_its_page_deletes_it_and_goes_to_the_list(
    staff_factory: StaffFactory, browser_factory: BrowserFactory, engine: AsyncEngine, db_url: str
) -> None:
    new = await grow(engine, **PRINTER_FIX)
    browser = await signed_in_browser(browser_factory, await staff_factory())
    article_page = f"/console/kb/articles/{new.article_id}"
    await browser.get(article_page)

    rejected = await browser.post(f"/console/kb/review/{new.article_id}/reject", {"back": article_page})
    gone = await browser.get(article_page)

    assert rejected.headers["location"] == "/console/kb?done=rejected"
    assert await fetch_value(db_url, "SELECT count(*) FROM kb_articles") == 0
    assert gone.status_code == 404
    assert "There is no such article." in page_text(gone.text)


async def test_a_seed_article_is_edited_unpublished_and_published_again(
    *,
    staff_factory: StaffFactory,
    browser_factory: BrowserFactory,
    client: AsyncTestClient[Litestar],
    signed_in_user: TestUser,
    engine: AsyncEngine,
    db_url: str,
    tmp_path: Path,
) -> None:
    first = await seed_articles(engine, tmp_path, n=5)
    article_id = await fetch_value(db_url, ARTICLE_BY_SOURCE, first.id)
    article_page = f"/console/kb/articles/{article_id}"
    browser = await signed_in_browser(browser_factory, await staff_factory())
    page = await browser.get(article_page)
    resolution = first.resolution.replace("\n", "\r\n") + "\r\n\r\nThen run **zorblefix** once."  # as browsers post

    saved = await browser.post(article_page, {"title": first.title, "symptoms": first.symptoms, "cause": first.cause,
                                              "resolution": resolution})  # fmt: skip
    unchanged = await browser.post(article_page, {"title": first.title, "symptoms": first.symptoms,
                                                  "cause": first.cause, "resolution": resolution})  # fmt: skip
    edited = await browser.get(article_page)
    found_after_edit = await search_ids(client, signed_in_user, "zorblefix")
    unpublished = await browser.post(f"{article_page}/unpublish")
    found_unpublished = await search_ids(client, signed_in_user, "zorblefix")
    hidden = await browser.get(article_page)
    published = await browser.post(f"{article_page}/publish")

    assert "Seed article" in page_text(page.text)
    assert f"{article_page}/unpublish" in _form_actions(page.text)
    assert (saved.status_code, saved.headers["location"]) == (303, f"{article_page}?done=saved")
    assert unchanged.headers["location"] == f"{article_page}?done=unchanged"
    assert "<strong>zorblefix</strong>" in edited.text
    stored = await fetch_value(db_url, "SELECT resolution FROM kb_articles WHERE id = $1::uuid", article_id)
    assert "\r" not in stored
    assert stored.endswith("\n\nThen run **zorblefix** once.")
    assert article_id in found_after_edit
    assert unpublished.headers["location"] == f"{article_page}?done=unpublished"
    assert article_id not in found_unpublished
    assert "unpublished" in page_text(hidden.text)
    assert f"{article_page}/publish" in _form_actions(hidden.text)
    assert published.headers["location"] == f"{article_page}?done=published"
    assert article_id in await search_ids(client, signed_in_user, "zorblefix")


async def test_a_refused_edit_keeps_the_draft_and_changes_nothing(
    staff_factory: StaffFactory, browser_factory: BrowserFactory, engine: AsyncEngine, db_url: str
) -> None:
    new = await grow(engine, **PRINTER_FIX)
    article_page = f"/console/kb/articles/{new.article_id}"
    browser = await signed_in_browser(browser_factory, await staff_factory())
    await browser.get(article_page)
    before = await fetch_value(db_url, "SELECT content_hash FROM kb_articles")
    draft = {"symptoms": "Smeared labels", "cause": "", "resolution": "Recalibrate"}

    blank_title = await browser.post(article_page, {"title": "  ", **draft})
    control = await browser.post(article_page, {"title": "Labels", **draft, "cause": "bad\x00byte"})
    too_long = await browser.post(article_page, {"title": "x" * 301, **draft})

    assert blank_title.status_code == 422
    assert "title is empty" in page_text(blank_title.text)
    assert '<textarea id="symptoms" name="symptoms" rows="6" maxlength="20000">Smeared labels</textarea>' in (
        blank_title.text
    )
    assert control.status_code == 422
    assert too_long.status_code == 422
    assert await fetch_value(db_url, "SELECT content_hash FROM kb_articles") == before


async def test_the_article_preview_renders_markdown_safely_with_and_without_htmx(
    staff_factory: StaffFactory, browser_factory: BrowserFactory, engine: AsyncEngine, db_url: str
) -> None:
    new = await grow(engine, **PRINTER_FIX)
    article_page = f"/console/kb/articles/{new.article_id}"
    browser = await signed_in_browser(browser_factory, await staff_factory())
    await browser.get(article_page)
    draft = {"title": "Labels smear", "symptoms": "Open **Devices** <img src=x onerror=alert(1)>", "cause": "",
             "resolution": "1. Recalibrate\n2. [docs](javascript:alert(1))"}  # fmt: skip

    piece = await browser.post(f"{article_page}/preview", draft, headers={"HX-Request": "true"})
    whole = await browser.post(f"{article_page}/preview", draft)

    assert piece.status_code == 200
    assert "<html" not in piece.text
    assert "<strong>Devices</strong>" in piece.text
    assert "<img" not in piece.text
    assert "javascript:" not in [attrs.get("href") for _tag, attrs in parse(piece.text).tags]
    assert "<li>Recalibrate</li>" in piece.text
    assert whole.status_code == 200
    assert "Preview: Labels smear" in page_text(whole.text)
    assert re.search(r'name="symptoms"[^>]*>Open \*\*Devices\*\* &lt;img', whole.text)  # the draft, kept
    assert await fetch_value(db_url, "SELECT title FROM kb_articles") == PRINTER_FIX["title"]  # saved nothing


async def test_knowledge_review_forms_are_refused_without_a_csrf_token(
    staff_factory: StaffFactory, browser_factory: BrowserFactory, engine: AsyncEngine, db_url: str
) -> None:
    new = await grow(engine, **PRINTER_FIX)
    browser = await signed_in_browser(browser_factory, await staff_factory())
    article_page = f"/console/kb/articles/{new.article_id}"
    forged = Browser(browser.http, cookies=dict(browser.cookies), csrf="0" * 128)

    answers = [
        await browser.request("POST", f"/console/kb/review/{new.article_id}/approve", data={"back": "/console/kb"}),
        await forged.post(f"/console/kb/review/{new.article_id}/reject"),
        await browser.request("POST", article_page, data={"title": "Forged", "resolution": "x"}),
        await browser.request("POST", f"{article_page}/publish", data={}),
    ]

    assert [answer.status_code for answer in answers] == [403, 403, 403, 403]
    assert all("form has expired" in page_text(answer.text) for answer in answers)
    assert await fetch_value(db_url, "SELECT title || published::text FROM kb_articles") == (
        PRINTER_FIX["title"] + "false"
    )


async def test_knowledge_review_is_for_signed_in_staff(
    user_factory: UserFactory, staff_factory: StaffFactory, browser_factory: BrowserFactory
) -> None:
    anonymous = await browser_factory()
    user_browser = await browser_factory()
    agent = await signed_in_browser(browser_factory, await staff_factory())

    list_page = await anonymous.get("/console/kb")
    article_page = await anonymous.get(f"/console/kb/articles/{uuid.uuid4()}")
    refused = await user_browser.sign_in(await user_factory(), expect=403)
    missing = await agent.get(f"/console/kb/articles/{uuid.uuid4()}")
    queue = await agent.get("/console")

    assert (list_page.status_code, list_page.headers["location"]) == (303, "/console/login?next=%2Fconsole%2Fkb")
    assert article_page.headers["location"].startswith("/console/login?next=")
    assert "for support staff" in page_text(refused.text)
    assert missing.status_code == 404
    navigation = [attrs.get("href") for tag, attrs in parse(queue.text).tags if tag == "a"]
    assert "/console/kb" in navigation
    assert "/console/admin/users" not in navigation  # agents do not see the admins' page
