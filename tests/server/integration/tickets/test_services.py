"""The ticket services the AI, feedback and agent routes build on.

Changes with history and NOTIFY, messages with usage, triage that respects the user's choice, the agents' queue,
model copies, and blob clean-up on failure.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from server.db.models import User
from server.domain.tickets.idempotency import claim_key
from server.domain.tickets.reading import ScreenshotProcessor, ScreenshotReading
from server.domain.tickets.services import EVENTS_CHANNEL, MessageUsage, TicketService
from server.domain.tickets.storage import LocalBlobStorage
from server.domain.tickets.upload import TicketDraft
from server.domain.tickets.views import ticket_detail
from server.lib.exceptions import NotFound
from server.lib.jobs import JobQueue
from tests.fixtures.db import connect
from tests.fixtures.images import jpeg_bytes, png_bytes
from tests.fixtures.tickets import create_ticket

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from tests.fixtures.auth import TestUser, UserFactory


@dataclass
class Services:
    engine: AsyncEngine
    storage: LocalBlobStorage
    processor: ScreenshotProcessor
    blobs: Path
    jobs: JobQueue

    async def read_screenshots(self) -> None:
        """Run the queued jobs (the screenshots' reading) until none is left."""
        await self.jobs.work(concurrency=2, until_idle=True)

    def session(self) -> AsyncSession:
        return AsyncSession(self.engine, expire_on_commit=False)

    def tickets(self, session: AsyncSession) -> TicketService:
        return TicketService(session, storage=self.storage, processor=self.processor, engine=self.engine)

    def files(self) -> set[Path]:
        return {p for p in self.blobs.rglob("*") if p.is_file()} if self.blobs.exists() else set()


@pytest.fixture
async def services(db_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    engine = create_async_engine(db_url)
    processor = ScreenshotProcessor(ocr=None)
    storage = LocalBlobStorage(tmp_path / "blobs")
    jobs = JobQueue(db_url)
    jobs.register(ScreenshotReading(engine, storage, processor).spec)
    try:
        yield Services(engine, storage, processor, tmp_path / "blobs", jobs)
    finally:
        await processor.close()
        await engine.dispose()


async def _user(session: AsyncSession, test_user: TestUser) -> User:
    user = await session.get(User, uuid.UUID(test_user.id))
    assert user is not None
    return user


async def test_change_writes_history_bumps_updated_at_and_notifies_on_commit(
    services: Services, signed_in_user: TestUser, db_url: str
) -> None:
    listener = await connect(db_url)
    heard: asyncio.Queue[dict[str, object]] = asyncio.Queue()
    await listener.add_listener(EVENTS_CHANNEL, lambda *args: heard.put_nowait(json.loads(args[3])))
    try:
        async with services.session() as session:
            tickets = services.tickets(session)
            owner = await _user(session, signed_in_user)
            created = await tickets.create(owner, TicketDraft("Email will not sync"))
            await session.commit()  # as the request does: a description-only create is in its transaction
            assert (await asyncio.wait_for(heard.get(), 5))["kind"] == "created"
            ticket = await tickets.get(created.ticket.id, owner)
            # The answer built in memory is what was stored; only a loaded ticket may be changed.
            assert ticket_detail(created.ticket) == ticket_detail(ticket)
            with pytest.raises(ValueError, match="get"):
                await tickets.change(created.ticket, actor="ai", status="answered")
            before = ticket.updated_at

            written = await tickets.change(ticket, actor="ai", status="answered", category="email", priority="high")
            await asyncio.sleep(0.2)
            assert heard.empty(), "nothing may be announced before the commit"
            await session.commit()

            event = await asyncio.wait_for(heard.get(), 5)
            assert event["kind"] == "changed"
            assert event["ticket_id"] == str(ticket.id)
            assert event["owner_id"] == signed_in_user.id
            assert event["changes"] == [
                {"field": "status", "from": "open", "to": "answered"},
                {"field": "priority", "from": "normal", "to": "high"},
                {"field": "category", "from": None, "to": "email"},
            ]
            assert [(h.field, h.actor) for h in written] == [("status", "ai"), ("priority", "ai"), ("category", "ai")]

            # A rolled-back change is neither stored nor announced; an unchanged value writes nothing.
            ticket_id = ticket.id
            await tickets.change(ticket, actor="agent", status="closed")
            await session.rollback()
            owner = await _user(session, signed_in_user)
            assert await tickets.change(await tickets.get(ticket_id, owner), actor="ai", status="answered") == []
            await session.commit()
            await asyncio.sleep(0.2)
            assert heard.empty()

            reloaded = await tickets.get(ticket_id, owner)
            assert reloaded.updated_at > before
            assert (reloaded.status, reloaded.category, reloaded.category_source) == ("answered", "email", "ai")
            assert [(h.field, h.old_value, h.new_value) for h in reloaded.history] == [
                ("status", None, "open"),
                ("status", "open", "answered"),
                ("priority", "normal", "high"),
                ("category", None, "email"),
            ]
    finally:
        await listener.close()


async def test_triage_never_overrides_the_users_choice(services: Services, signed_in_user: TestUser) -> None:
    async with services.session() as session:
        tickets = services.tickets(session)
        owner = await _user(session, signed_in_user)
        chosen_id = (await tickets.create(owner, TicketDraft("VPN", priority="urgent", category="network"))).ticket.id
        open_id = (await tickets.create(owner, TicketDraft("Something"))).ticket.id
        chosen, open_ = await tickets.get(chosen_id, owner), await tickets.get(open_id, owner)

        assert await tickets.triage(chosen, category="software", priority="low", source="ai") == []
        await tickets.triage(open_, category="printer", priority="low", source="rules")
        await session.commit()

        assert (chosen.category, chosen.priority, chosen.category_source) == ("network", "urgent", "user")
        assert (open_.category, open_.priority) == ("printer", "low")
        assert (open_.category_source, open_.priority_source) == ("rules", "rules")


async def test_messages_with_usage_and_citations_appear_on_the_ticket(
    services: Services, client: AsyncTestClient[Litestar], signed_in_user: TestUser
) -> None:
    created = (await create_ticket(client, signed_in_user, description="Teams crashes")).json()
    citation = {"article_id": str(uuid.uuid4()), "source_id": "kb-1", "title": "Fix Teams", "source_url": None}
    async with services.session() as session:
        tickets = services.tickets(session)
        owner = await _user(session, signed_in_user)
        ticket = await tickets.get(uuid.UUID(created["id"]), owner)
        await tickets.append_message(ticket, role="user", content="It crashes at start", author_id=owner.id)
        answer = await tickets.append_message(
            ticket,
            role="assistant",
            content="Clear the cache [1].",
            citations=[citation],
            usage=MessageUsage(model="gpt-test", tokens_in=120, tokens_out=30, latency_ms=850),
        )
        await session.commit()
        assert (answer.model, answer.tokens_in, answer.tokens_out, answer.latency_ms) == ("gpt-test", 120, 30, 850)

    detail = (await client.get(f"/api/v1/tickets/{created['id']}", headers=signed_in_user.headers)).json()
    assert [(m["role"], m["content"], m["citations"]) for m in detail["messages"]] == [
        ("user", "It crashes at start", []),
        ("assistant", "Clear the cache [1].", [citation]),
    ]
    assert set(detail["messages"][0]) == {"id", "role", "content", "citations", "created_at"}
    # A new message moves updated_at, so `updated_since` polling sees the reply.
    assert detail["updated_at"] > created["updated_at"]
    since = await client.get(
        "/api/v1/tickets", params={"updated_since": created["updated_at"]}, headers=signed_in_user.headers
    )
    assert [t["id"] for t in since.json()["items"]] == [created["id"]]


async def test_agents_queue_lists_by_status_and_staff_may_see(
    services: Services, user_factory: UserFactory, db_url: str
) -> None:
    alice, bob = await user_factory(), await user_factory()
    async with services.session() as session:
        tickets = services.tickets(session)
        a, b = await _user(session, alice), await _user(session, bob)
        first = (await tickets.create(a, TicketDraft("first"))).ticket
        await tickets.create(b, TicketDraft("still open"))
        second = (await tickets.create(b, TicketDraft("second"))).ticket
        for ticket in (await tickets.get(first.id, a), await tickets.get(second.id, b)):
            await tickets.change(ticket, actor="user", actor_id=ticket.owner_id, status="escalated")
            await session.commit()

        rows, total = await tickets.list_by_status(["escalated"], limit=10, offset=0)

        assert total == 2
        assert [t.description for t, _count in rows] == ["first", "second"]  # longest waiting first
        with pytest.raises(NotFound):
            await tickets.get(first.id, b)
        b.role = "agent"
        assert (await tickets.get(first.id, b, staff_may_see=True)).id == first.id


async def test_model_screenshots_give_the_model_copy(services: Services, signed_in_user: TestUser) -> None:
    async with services.session() as session:
        tickets = services.tickets(session)
        owner = await _user(session, signed_in_user)
        created = (await tickets.create(owner, TicketDraft("two", screenshots=[png_bytes(), jpeg_bytes()]))).ticket
        await services.read_screenshots()
        ticket = await tickets.get(created.id, owner)

        copies = await tickets.model_screenshots(ticket.screenshots)

        assert [(c.index, c.media_type) for c in copies] == [
            (0, ticket.screenshots[0].model_media_type),
            (1, "image/jpeg"),
        ]
        assert all(c.data for c in copies)
        data, media_type = await tickets.screenshot(ticket, 1)
        assert media_type == "image/jpeg"
        assert data


async def test_failed_insert_leaves_no_new_blobs_but_keeps_shared_ones(
    services: Services, signed_in_user: TestUser
) -> None:
    async with services.session() as session:
        tickets = services.tickets(session)
        owner = await _user(session, signed_in_user)
        kept = (await tickets.create(owner, TicketDraft("has a png", screenshots=[png_bytes()]))).ticket.id
        await services.read_screenshots()
        files_before = services.files()
        ghost = User(id=uuid.uuid4(), name="ghost", email="g@example.com", username="ghost", password_hash="x")

        # An owner that does not exist: the insert fails at commit (foreign key), after the blobs were written.
        with pytest.raises(IntegrityError):
            await tickets.create(ghost, TicketDraft("fails", screenshots=[png_bytes(), jpeg_bytes(70, 50)]))

        assert services.files() == files_before  # the new JPEG's blobs are gone, the shared PNG's stayed
        owner = await _user(session, signed_in_user)  # only the create's own transaction rolled back
        data, _ = await tickets.screenshot(await tickets.get(kept, owner), 0)
        assert data


async def test_claim_waits_for_a_concurrent_claim_and_sees_its_ticket(
    services: Services, signed_in_user: TestUser
) -> None:
    user_id = uuid.UUID(signed_in_user.id)
    async with services.session() as first, services.session() as second:
        owner = await _user(first, signed_in_user)
        ticket = (await services.tickets(first).create(owner, TicketDraft("made first"))).ticket
        other_ticket = uuid.uuid4()
        assert await claim_key(first, user_id, "same", "f" * 64, ticket.id) is None

        waiting = asyncio.create_task(claim_key(second, user_id, "same", "f" * 64, other_ticket))
        await asyncio.sleep(0.3)
        assert not waiting.done(), "the second claim must wait for the first transaction"
        await first.commit()

        stored = await asyncio.wait_for(waiting, 5)
        assert stored is not None
        assert stored.ticket_id == ticket.id
        await second.rollback()
