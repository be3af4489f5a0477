"""Review API: agents and admins list what the knowledge base learned, approve, reject, edit and unpublish."""

from __future__ import annotations

import lzma
import uuid
from typing import TYPE_CHECKING

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server.domain.accounts.cli import change_role
from server.domain.knowledge.embeddings import build_embedder
from server.domain.knowledge.growth import ResolutionOutcome, add_resolution
from server.domain.knowledge.importer import ArticleRecord, read_jsonl
from server.domain.knowledge.seed import SEED_CORPUS
from server.domain.knowledge.services import import_file
from tests.fixtures.db import fetch_value

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from tests.fixtures.auth import TestUser, UserFactory

Client = AsyncTestClient[Litestar]
AUTHOR = {"user_name": "Marguerite Okonkwo", "username": "mokonkwo", "email": "marguerite.okonkwo@fabrikam.com"}
PRINTER_FIX = {
    "title": "Zebra label printer prints garbled barcodes",
    "symptoms": "The ZD421 label printer prints garbled barcodes after a driver update.",
    "resolution": "Reinstalled the ZDesigner driver version 8.6 and recalibrated the media.",
}


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def agent(user_factory: UserFactory, db_url: str) -> TestUser:
    user = await user_factory()
    await change_role(db_url, user.email, "agent", grant=True)
    return user


async def seed_articles(engine: AsyncEngine, tmp_path: Path, n: int = 20) -> ArticleRecord:
    """Import the first ``n`` seed articles (published); the first one's record."""
    with lzma.open(SEED_CORPUS, "rt", encoding="utf-8") as handle:
        lines = [line for line in handle if line.strip()][:n]
    corpus = tmp_path / "few.jsonl"
    corpus.write_text("".join(lines), encoding="utf-8")
    await import_file(engine, corpus, origin="seed")
    return next(record for _, record in read_jsonl(corpus) if not isinstance(record, str))


async def grow(engine: AsyncEngine, *, title: str, symptoms: str, resolution: str) -> ResolutionOutcome:
    """A fix confirmed by AUTHOR, waiting for review."""
    return await add_resolution(
        engine,
        title=title,
        symptoms=symptoms,
        resolution=resolution,
        user_name=AUTHOR["user_name"],
        username=AUTHOR["username"],
        email=AUTHOR["email"],
        embedder=build_embedder("local"),
        auto_publish=False,
    )


async def search_ids(client: Client, user: TestUser, q: str) -> set[str]:
    response = await client.get("/api/v1/kb/search", params={"q": q}, headers=user.headers)
    assert response.status_code == 200
    return {hit["article_id"] for hit in response.json()["results"]}


async def test_review_is_for_agents_and_admins_only(client: Client, signed_in_user: TestUser) -> None:
    some_id = uuid.uuid4()
    calls = [
        ("GET", "/api/v1/kb/review", None),
        ("PATCH", f"/api/v1/kb/articles/{some_id}", {"published": True}),
        ("POST", f"/api/v1/kb/review/{some_id}/approve", None),
        ("POST", f"/api/v1/kb/review/{some_id}/reject", None),
    ]
    for method, url, body in calls:
        anonymous = await client.request(method, url, json=body)
        assert anonymous.status_code == 401, url
        user = await client.request(method, url, json=body, headers=signed_in_user.headers)
        assert user.status_code == 403, url
        assert user.json()["code"] == "role_required"


async def test_queue_lists_new_articles_and_proposed_merges_newest_first(
    client: Client, agent: TestUser, engine: AsyncEngine, tmp_path: Path
) -> None:
    first = await seed_articles(engine, tmp_path)
    new = await grow(engine, **PRINTER_FIX)
    merge = await grow(
        engine,
        title=first.title,
        symptoms=first.symptoms,
        resolution="Restarting the sync service also fixed it; ask mokonkwo.",
    )
    assert merge.contribution_id is not None

    response = await client.get("/api/v1/kb/review", headers=agent.headers)

    assert response.status_code == 200
    page = response.json()
    assert (page["total"], page["limit"], page["offset"]) == (2, 20, 0)
    merge_item, new_item = page["items"]  # newest first
    assert merge_item["kind"] == "merge"
    assert merge_item["id"] == str(merge.contribution_id)
    assert merge_item["article_id"] == str(merge.article_id)
    assert merge_item["title"] == first.title
    assert merge_item["origin"] == "seed"
    assert merge_item["published"] is True
    assert merge_item["proposed_text"] == "Restarting the sync service also fixed it; ask [name]."
    assert new_item["kind"] == "article"
    assert new_item["id"] == new_item["article_id"] == str(new.article_id)
    assert new_item["origin"] == "resolution"
    assert new_item["published"] is False
    assert new_item["proposed_text"] is None
    assert {"symptoms", "cause", "resolution", "created_at", "updated_at"} <= set(new_item)

    second = (await client.get("/api/v1/kb/review", params={"limit": 1, "offset": 1}, headers=agent.headers)).json()
    assert second["total"] == 2
    assert [item["id"] for item in second["items"]] == [new_item["id"]]
    for bad in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "x"}):
        assert (await client.get("/api/v1/kb/review", params=bad, headers=agent.headers)).status_code in {400, 422}


async def test_approving_a_new_article_publishes_it(
    client: Client, agent: TestUser, signed_in_user: TestUser, engine: AsyncEngine
) -> None:
    new = await grow(engine, **PRINTER_FIX)
    url = f"/api/v1/kb/articles/{new.article_id}"
    assert (await client.get(url, headers=signed_in_user.headers)).status_code == 404  # hidden while pending
    assert str(new.article_id) not in await search_ids(client, signed_in_user, "label printer garbled barcodes")

    response = await client.post(f"/api/v1/kb/review/{new.article_id}/approve", headers=agent.headers)

    assert response.status_code == 200
    assert response.json()["published"] is True
    assert (await client.get(url, headers=signed_in_user.headers)).json()["title"] == PRINTER_FIX["title"]
    assert str(new.article_id) in await search_ids(client, signed_in_user, "label printer garbled barcodes")
    assert (await client.get("/api/v1/kb/review", headers=agent.headers)).json()["total"] == 0
    again = await client.post(f"/api/v1/kb/review/{new.article_id}/approve", headers=agent.headers)
    assert again.status_code == 409
    assert again.json()["code"] == "already_reviewed"


async def test_patch_published_true_approves_and_false_unpublishes_even_seed_articles(
    client: Client, agent: TestUser, signed_in_user: TestUser, engine: AsyncEngine, db_url: str, *, tmp_path: Path
) -> None:
    first = await seed_articles(engine, tmp_path)
    new = await grow(engine, **PRINTER_FIX)
    approved = await client.patch(
        f"/api/v1/kb/articles/{new.article_id}", json={"published": True}, headers=agent.headers
    )
    assert approved.status_code == 200
    assert approved.json()["published"] is True

    seed_id = await fetch_value(db_url, "SELECT id FROM kb_articles WHERE source_id = $1", first.id)
    n_docs = await fetch_value(db_url, "SELECT n_docs FROM kb_meta")
    assert str(seed_id) in await search_ids(client, signed_in_user, first.title)

    response = await client.patch(f"/api/v1/kb/articles/{seed_id}", json={"published": False}, headers=agent.headers)

    assert response.status_code == 200
    assert response.json()["published"] is False
    assert response.json()["origin"] == "seed"
    assert (await client.get(f"/api/v1/kb/articles/{seed_id}", headers=signed_in_user.headers)).status_code == 404
    assert str(seed_id) not in await search_ids(client, signed_in_user, first.title)
    assert await fetch_value(db_url, "SELECT count(*) FROM kb_postings WHERE article_id = $1", seed_id) == 0
    assert await fetch_value(db_url, "SELECT n_docs FROM kb_meta") == n_docs - 1
    # an unpublished seed article is not "waiting for review"
    assert (await client.get("/api/v1/kb/review", headers=agent.headers)).json()["total"] == 0


async def test_editing_rechunks_reembeds_and_anonymizes_a_grown_article(
    client: Client, agent: TestUser, signed_in_user: TestUser, engine: AsyncEngine, db_url: str
) -> None:
    new = await grow(engine, **PRINTER_FIX)
    summary_before = await fetch_value(
        db_url, "SELECT embedding::text FROM kb_chunks WHERE article_id = $1 AND ordinal = 0", new.article_id
    )

    response = await client.patch(
        f"/api/v1/kb/articles/{new.article_id}",
        json={
            "published": True,
            "title": "Thermal label printer prints smeared barcodes",
            "resolution": r"Reinstalled the ZDesigner 8.6 driver from \\PRINTSRV-07\drivers, mailed tom@fabrikam.com",
        },
        headers=agent.headers,
    )

    assert response.status_code == 200, response.text
    article = response.json()
    assert article["title"] == "Thermal label printer prints smeared barcodes"
    assert article["published"] is True
    assert "PRINTSRV-07" not in article["resolution"]
    assert "tom@fabrikam.com" not in article["resolution"]
    assert "ZDesigner 8.6" in article["resolution"]
    assert "ZDesigner 8.6" in article["body"]  # the body follows the edited section
    chunks = await fetch_value(
        db_url, "SELECT string_agg(text, ' ') FROM kb_chunks WHERE article_id = $1", new.article_id
    )
    assert "smeared" in chunks
    assert "PRINTSRV" not in chunks
    summary_after = await fetch_value(
        db_url, "SELECT embedding::text FROM kb_chunks WHERE article_id = $1 AND ordinal = 0", new.article_id
    )
    assert summary_after != summary_before  # re-embedded
    assert (
        await fetch_value(
            db_url, "SELECT count(*) FROM kb_postings WHERE article_id = $1 AND term = 'smeared'", new.article_id
        )
        == 1
    )
    assert await fetch_value(db_url, "SELECT df FROM kb_terms WHERE term = 'smeared'") == 1
    assert str(new.article_id) in await search_ids(client, signed_in_user, "smeared barcodes")


async def test_approving_a_merge_appends_it_and_rejecting_leaves_the_article_alone(
    client: Client, agent: TestUser, signed_in_user: TestUser, engine: AsyncEngine, db_url: str, *, tmp_path: Path
) -> None:
    first = await seed_articles(engine, tmp_path)
    fix = {"title": first.title, "symptoms": first.symptoms}
    accepted = await grow(engine, **fix, resolution="Re-registering the agent with quenchfast.exe fixed it.")
    declined = await grow(engine, **fix, resolution="Reinstalling Windows from scratch with wobblegrass fixed it.")
    assert accepted.contribution_id
    assert declined.contribution_id

    rejected = await client.post(f"/api/v1/kb/review/{declined.contribution_id}/reject", headers=agent.headers)
    assert rejected.status_code == 204
    response = await client.post(f"/api/v1/kb/review/{accepted.contribution_id}/approve", headers=agent.headers)

    assert response.status_code == 200
    article = response.json()
    assert article["id"] == str(accepted.article_id)
    assert "Re-registering the agent with quenchfast.exe fixed it." in article["resolution"]
    assert "wobblegrass" not in article["body"]
    assert str(accepted.article_id) in await search_ids(client, signed_in_user, "quenchfast")
    assert await fetch_value(db_url, "SELECT count(*) FROM kb_postings WHERE term = 'wobblegrass'") == 0
    decided = await fetch_value(
        db_url,
        "SELECT string_agg(status || ':' || (reviewed_by IS NOT NULL)::text, ',' ORDER BY status) "
        "FROM kb_contributions",
    )
    assert decided == "approved:true,rejected:true"
    assert (await client.get("/api/v1/kb/review", headers=agent.headers)).json()["total"] == 0
    twice = await client.post(f"/api/v1/kb/review/{declined.contribution_id}/approve", headers=agent.headers)
    assert twice.status_code == 409
    assert twice.json()["code"] == "already_reviewed"


async def test_rejecting_a_new_article_deletes_it(
    client: Client, agent: TestUser, engine: AsyncEngine, db_url: str
) -> None:
    new = await grow(engine, **PRINTER_FIX)

    response = await client.post(f"/api/v1/kb/review/{new.article_id}/reject", headers=agent.headers)

    assert response.status_code == 204
    assert await fetch_value(db_url, "SELECT count(*) FROM kb_articles") == 0
    assert await fetch_value(db_url, "SELECT count(*) FROM kb_chunks") == 0
    missing = await client.post(f"/api/v1/kb/review/{new.article_id}/reject", headers=agent.headers)
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"published": None},
        {"title": ""},
        {"title": "x" * 301},
        {"resolution": "x" * 20_001},
        {"published": "yes"},
        {"title": "ok", "author": "me"},
        {"symptoms": "bad \x00 byte"},
        {"title": "   "},
        {"symptoms": "", "resolution": ""},
        [],
    ],
)
async def test_bad_edits_are_refused_and_change_nothing(
    client: Client, agent: TestUser, engine: AsyncEngine, db_url: str, body: object
) -> None:
    new = await grow(engine, **PRINTER_FIX)
    before = await fetch_value(db_url, "SELECT content_hash || published::text FROM kb_articles")

    response = await client.patch(f"/api/v1/kb/articles/{new.article_id}", json=body, headers=agent.headers)

    assert response.status_code in {400, 422}, response.text
    assert response.json()["code"]
    assert await fetch_value(db_url, "SELECT content_hash || published::text FROM kb_articles") == before


async def test_unknown_article_is_404(client: Client, agent: TestUser) -> None:
    for method, url, body in [
        ("PATCH", f"/api/v1/kb/articles/{uuid.uuid4()}", {"published": True}),
        ("POST", f"/api/v1/kb/review/{uuid.uuid4()}/approve", None),
    ]:
        response = await client.request(method, url, json=body, headers=agent.headers)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
