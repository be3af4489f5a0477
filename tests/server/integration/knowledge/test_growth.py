"""Growth from fixes: anonymized before storage and embedding, merged into near-duplicates, pending until reviewed."""

from __future__ import annotations

import asyncio
import lzma
from typing import TYPE_CHECKING, NotRequired, TypedDict

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server.domain.knowledge.embeddings import build_embedder
from server.domain.knowledge.growth import add_resolution
from server.domain.knowledge.importer import ArticleRecord, read_jsonl
from server.domain.knowledge.search import search
from server.domain.knowledge.seed import SEED_CORPUS
from server.domain.knowledge.services import import_file
from tests.fixtures.db import connect, fetch_value
from tests.fixtures.kb import RecordingEmbedder

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from tests.fixtures.auth import UserFactory


class User(TypedDict):
    user_name: str
    username: str
    email: str


class Fix(TypedDict):
    title: str
    symptoms: str
    resolution: str
    cause: NotRequired[str]


USER: User = {"user_name": "Jonathan Quillfeather", "username": "jquill", "email": "jonathan.quillfeather@contoso.com"}
PERSONAL = [
    "Jonathan",
    "Quillfeather",
    "jquill",
    "contoso.com",
    "192.168.17.42",
    "FS-QUILL01",
    "3623811015",
    "Tr0ub4dor",
    "555-867-5309",
]
FIX: Fix = {
    "title": "Outlook keeps asking for the password of jquill",
    "symptoms": (
        "Outlook on 192.168.17.42 prompts Jonathan Quillfeather for credentials every few minutes, error 0x80070005. "
        "Profile SID S-1-5-21-3623811015-3361044348-30300820-1013, PST on \\\\FS-QUILL01\\home$\\jquill\\mail.pst."
    ),
    "cause": "Cached credentials for jonathan.quillfeather@contoso.com were stale; call me at 555-867-5309.",
    "resolution": (
        "Removed the stale entry in Credential Manager, then signed in again with password: Tr0ub4dor&3. "
        "Quillfeather confirmed the prompt is gone."
    ),
}


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def embedder() -> RecordingEmbedder:
    return RecordingEmbedder(build_embedder("local"))


async def stored_text(db_url: str) -> str:
    connection = await connect(db_url)
    try:
        articles = await connection.fetch(
            "SELECT concat_ws(' ', source_id, title, symptoms, cause, resolution, body, search_tsv::text) AS t "
            "FROM kb_articles"
        )
        chunks = await connection.fetch("SELECT concat_ws(' ', text, tsv::text) AS t FROM kb_chunks")
        terms = await connection.fetch("SELECT term AS t FROM kb_postings UNION SELECT term FROM kb_terms")
    finally:
        await connection.close()
    return "\n".join(row["t"] for row in [*articles, *chunks, *terms])


async def test_personal_data_is_neither_stored_nor_embedded(
    engine: AsyncEngine, db_url: str, embedder: RecordingEmbedder
) -> None:
    outcome = await add_resolution(engine, **FIX, **USER, embedder=embedder, auto_publish=False)

    assert not outcome.merged
    stored = (await stored_text(db_url)).lower()
    embedded = "\n".join(embedder.inputs).lower()
    assert embedder.inputs
    for value in PERSONAL:
        assert value.lower() not in stored, value
        assert value.lower() not in embedded, value
    # the troubleshooting content survives
    assert "0x80070005" in stored
    assert "credential manager" in stored
    assert await fetch_value(db_url, "SELECT origin FROM kb_articles WHERE id = $1", outcome.article_id) == "resolution"


async def test_pending_by_default_and_published_with_auto_publish(
    engine: AsyncEngine, db_url: str, embedder: RecordingEmbedder
) -> None:
    pending = await add_resolution(engine, **FIX, **USER, embedder=embedder, auto_publish=False)
    published = await add_resolution(
        engine,
        title="Teams camera is black in meetings",
        symptoms="The camera preview stays black in Teams calls although the Camera app works.",
        resolution="Allowed desktop apps to access the camera under Privacy settings.",
        **USER,
        embedder=embedder,
        auto_publish=True,
    )

    query = "SELECT published FROM kb_articles WHERE id = $1"
    assert await fetch_value(db_url, query, pending.article_id) is False
    assert await fetch_value(db_url, query, published.article_id) is True
    # every article is complete: summary vector and chunks; only the published one has BM25 postings
    postings = "SELECT count(*) FROM kb_postings WHERE article_id = $1"
    assert await fetch_value(db_url, postings, pending.article_id) == 0
    assert await fetch_value(db_url, postings, published.article_id) > 0
    vectors = "SELECT count(*) FROM kb_chunks WHERE article_id = $1 AND ordinal = 0 AND embedding IS NOT NULL"
    assert await fetch_value(db_url, vectors, pending.article_id) == 1


async def few_seed_articles(engine: AsyncEngine, tmp_path: Path, n: int = 20) -> ArticleRecord:
    """Import the first ``n`` seed articles; the first one's record."""
    with lzma.open(SEED_CORPUS, "rt", encoding="utf-8") as handle:
        lines = [line for line in handle if line.strip()][:n]
    corpus = tmp_path / "few.jsonl"
    corpus.write_text("".join(lines), encoding="utf-8")
    await import_file(engine, corpus, origin="seed")
    return next(record for _, record in read_jsonl(corpus) if not isinstance(record, str))


async def test_near_duplicate_is_merged_at_once_with_auto_publish_and_a_different_problem_is_added(
    engine: AsyncEngine, db_url: str, embedder: RecordingEmbedder, tmp_path: Path
) -> None:
    first = await few_seed_articles(engine, tmp_path)
    count = "SELECT count(*) FROM kb_articles"
    before = await fetch_value(db_url, count)

    merged = await add_resolution(
        engine,
        title=first.title,
        symptoms=first.symptoms,
        resolution="Restarting the machine after the update also fixed it for jquill.",
        **USER,
        embedder=embedder,
        auto_publish=True,
    )
    assert merged.merged
    assert merged.contribution_id is None
    assert await fetch_value(db_url, count) == before
    body = await fetch_value(db_url, "SELECT body FROM kb_articles WHERE id = $1", merged.article_id)
    assert isinstance(body, str)
    assert "Restarting the machine after the update also fixed it for [name]." in body
    # re-indexed through the importer's path: the new words are in the article's BM25 postings
    posting = "SELECT count(*) FROM kb_postings WHERE article_id = $1 AND term = 'restarting'"
    assert await fetch_value(db_url, posting, merged.article_id) == 1

    added = await add_resolution(
        engine,
        title="Printer prints blank pages after toner replacement",
        symptoms="Every page comes out blank since the toner cartridge was replaced.",
        resolution="Removed the protective tape from the new cartridge.",
        **USER,
        embedder=embedder,
        auto_publish=False,
    )
    assert not added.merged
    assert await fetch_value(db_url, count) == before + 1


async def test_a_fix_merged_into_a_published_article_waits_for_review(
    engine: AsyncEngine, db_url: str, embedder: RecordingEmbedder, tmp_path: Path
) -> None:
    first = await few_seed_articles(engine, tmp_path)
    fix: Fix = {
        "title": first.title,
        "symptoms": first.symptoms,
        "resolution": "Restarting the machine after the update also fixed it for jquill.",
    }

    outcome = await add_resolution(engine, **fix, **USER, embedder=embedder, auto_publish=False)

    assert outcome.merged
    assert outcome.contribution_id is not None
    # the published article is untouched, in its text and in the BM25 index
    body = await fetch_value(db_url, "SELECT body FROM kb_articles WHERE id = $1", outcome.article_id)
    assert "Restarting" not in body
    posting = "SELECT count(*) FROM kb_postings WHERE article_id = $1 AND term = 'restarting'"
    assert await fetch_value(db_url, posting, outcome.article_id) == 0
    proposal = "SELECT proposed_text FROM kb_contributions WHERE id = $1 AND status = 'pending' AND article_id = $2"
    assert await fetch_value(db_url, proposal, outcome.contribution_id, outcome.article_id) == (
        "Restarting the machine after the update also fixed it for [name]."
    )
    # the same fix confirmed again is the same proposal, not a second one
    again = await add_resolution(engine, **fix, **USER, embedder=embedder, auto_publish=False)
    assert again.contribution_id == outcome.contribution_id
    assert await fetch_value(db_url, "SELECT count(*) FROM kb_contributions") == 1


async def test_identical_fixes_at_the_same_moment_make_one_article(
    engine: AsyncEngine, db_url: str, embedder: RecordingEmbedder
) -> None:
    fix: Fix = {
        "title": "Scanner saves every page as a blank PDF",
        "symptoms": "The office scanner produces blank PDF files since the firmware update.",
        "resolution": "Reset the scanner's colour profile to default in its web settings.",
    }

    outcomes = await asyncio.gather(
        *(add_resolution(engine, **fix, **USER, embedder=embedder, auto_publish=False) for _ in range(3))
    )

    assert await fetch_value(db_url, "SELECT count(*) FROM kb_articles") == 1
    assert len({o.article_id for o in outcomes}) == 1
    assert sorted(o.merged for o in outcomes) == [False, True, True]
    # merging the same text again adds nothing: the article holds the fix once
    resolution = await fetch_value(db_url, "SELECT resolution FROM kb_articles")
    assert resolution.count("colour profile") == 1


async def test_new_article_is_searchable_only_when_published(
    engine: AsyncEngine, db_url: str, embedder: RecordingEmbedder
) -> None:
    fix: Fix = {
        "title": "Zebra label printer prints garbled barcodes",
        "symptoms": "The ZD421 label printer prints garbled barcodes after a driver update.",
        "resolution": "Reinstalled the ZDesigner driver version 8.6 and recalibrated the media.",
    }
    pending = await add_resolution(engine, **fix, **USER, embedder=embedder, auto_publish=False)
    hits = await search(engine, "label printer garbled barcodes", embedder)
    assert pending.article_id not in {hit.article_id for hit in hits}

    second = await add_resolution(
        engine,
        title="Zebra label printer prints garbled barcodes",
        symptoms="Garbled barcodes from the ZD421 label printer since the driver update.",
        resolution="Rolled the driver back.",
        **USER,
        embedder=embedder,
        auto_publish=False,
        threshold=1.01,  # never merge: a second pending article
    )
    assert not second.merged
    auto = await add_resolution(engine, **fix, **USER, embedder=embedder, auto_publish=True, threshold=1.01)
    hits = await search(engine, "label printer garbled barcodes", embedder)
    ids = {hit.article_id for hit in hits}
    assert auto.article_id in ids
    assert pending.article_id not in ids
    assert second.article_id not in ids


async def test_a_colleague_with_an_account_is_removed_even_when_only_mentioned(
    engine: AsyncEngine, db_url: str, embedder: RecordingEmbedder, user_factory: UserFactory
) -> None:
    await user_factory(name="Ysolde Tarrant-Vey", username="ytvey", email="ysolde.tarrantvey@fabrikam.com")
    fix: Fix = {
        "title": "Docking station loses both monitors after sleep",
        "symptoms": "Both monitors go dark after sleep; ping ysolde, tarrant said ytvey has it too. Error 0x80070005.",
        "resolution": "Updated the dock firmware; tarrant-vey confirmed the monitors come back.",
    }

    await add_resolution(engine, **fix, **USER, embedder=embedder, auto_publish=False)

    stored = (await stored_text(db_url)).lower()
    for value in ("ysolde", "tarrant", "ytvey", "fabrikam"):
        assert value not in stored, value
    assert "0x80070005" in stored
    assert "dock firmware" in stored


async def test_a_title_made_from_the_anonymized_symptoms_never_holds_half_a_value(
    engine: AsyncEngine, db_url: str, embedder: RecordingEmbedder
) -> None:
    symptoms = "Teams freezes during calls, ring me on 07911 123912 or at desk ext. 4411 to see it happen live."

    outcome = await add_resolution(
        engine,
        title=lambda text: text[:40],  # a cut that would fall inside the phone number of the raw text
        symptoms=symptoms,
        resolution="Cleared the Teams cache.",
        **USER,
        embedder=embedder,
        auto_publish=False,
    )

    title = await fetch_value(db_url, "SELECT title FROM kb_articles WHERE id = $1", outcome.article_id)
    assert title.startswith("Teams freezes during calls, ring me on [")  # the cut falls in the placeholder
    assert "07911" not in title


async def test_a_pending_fix_costs_no_statistics_rebuild_and_no_vacuum(
    engine: AsyncEngine, db_url: str, embedder: RecordingEmbedder
) -> None:
    vacuums = "SELECT sum(vacuum_count) FROM pg_stat_user_tables WHERE relname LIKE 'kb_%'"
    terms = "SELECT count(*) FROM kb_terms"
    before = (await fetch_value(db_url, vacuums), await fetch_value(db_url, terms))

    await add_resolution(engine, **FIX, **USER, embedder=embedder, auto_publish=False, threshold=1.01)
    await asyncio.sleep(0.7)  # the statistics collector reports vacuums with a short delay

    assert (await fetch_value(db_url, vacuums), await fetch_value(db_url, terms)) == before
    published = await add_resolution(
        engine,
        title="Scanner drops the network share",
        symptoms="The MFP scanner cannot reach the scan share after the password change.",
        resolution="Updated the stored SMB credentials on the scanner.",
        **USER,
        embedder=embedder,
        auto_publish=True,
        threshold=1.01,
    )
    assert published.article_id in {hit.article_id for hit in await search(engine, "scanner scan share", embedder)}
