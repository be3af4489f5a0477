"""Report tests: the app's clock stands still at ``now``, and ticket histories are written with explicit times.

A history is what the app itself records (a ticket, its AI and agent answers, the owner's follow-ups and
"Fixed it" / "Still broken" feedback rows), written straight to the rows so that every moment is exact; the figures
are then read through the real API. ``test_api.py`` checks once that a conversation held through the real API is
read the same way.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from server.domain.accounts.cli import change_role
from tests.fixtures.db import connect

if TYPE_CHECKING:
    from collections.abc import Iterator

    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from server.context import AppContext
    from tests.fixtures.auth import TestUser, UserFactory

DAY = datetime.timedelta(days=1)
SECOND = datetime.timedelta(seconds=1)
KPIS = "/api/v1/admin/kpis"
# Different problems (pairwise trigram similarity at most 0.22): crafted tickets get them in turn, so that no ticket
# is taken for another's near-duplicate unless a test says so.
PROBLEMS = (
    "My printer says it is offline.",
    "Outlook keeps asking for my password.",
    "The VPN drops every hour.",
    "Teams has no sound in meetings.",
    "The laptop fan is loud all day.",
    "Excel crashes when I open a macro file.",
    "Wi-Fi keeps disconnecting on floor 3.",
    "I cannot sign in to the HR portal.",
    "The second monitor stays black.",
    "OneDrive does not sync my desktop folder.",
    "My keyboard types the wrong letters.",
    "Zoom cannot find my webcam.",
    "The shared drive asks for credentials again.",
    "My phone does not get work e-mail.",
    "Windows update fails with an error.",
    "The scanner saves empty PDF files.",
)


@pytest.fixture
def now() -> datetime.datetime:
    """The report's "now": the real time when the test starts (access tokens are checked against it), to the second."""
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


@pytest.fixture
def context(context: AppContext, now: datetime.datetime) -> AppContext:
    """The usual app context with the clock stopped at ``now``."""
    return dataclasses.replace(context, clock=lambda: now)


@pytest.fixture
async def admin(user_factory: UserFactory, db_url: str) -> TestUser:
    """A signed-in admin."""
    user = await user_factory()
    await change_role(db_url, user.email, "admin", grant=True)
    return user


@dataclass
class Histories:
    """Writes tickets and what happened to them at given moments (``at`` arguments are absolute times)."""

    url: str
    problems: Iterator[str] = dataclasses.field(default_factory=lambda: itertools.cycle(PROBLEMS))

    async def _execute(self, sql: str, *args: Any) -> None:
        connection = await connect(self.url)
        try:
            await connection.execute(sql, *args)
        finally:
            await connection.close()

    async def ticket(
        self,
        owner: TestUser,
        *,
        created: datetime.datetime,
        description: str | None = None,
        category: str | None = None,
    ) -> uuid.UUID:
        """A ticket of ``owner`` made at ``created``, not answered yet (by default about the next of PROBLEMS)."""
        ticket_id = uuid.uuid4()
        await self._execute(
            "INSERT INTO tickets (id, owner_id, description, category, category_source, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $6)",
            ticket_id,
            uuid.UUID(owner.id),
            description or next(self.problems),
            category,
            None if category is None else "ai",
            created,
        )
        return ticket_id

    async def message(
        self, ticket_id: uuid.UUID, role: str, at: datetime.datetime, *, model: str | None = None
    ) -> None:
        """A message on the ticket: ``assistant`` (an AI answer, with its ``model``), ``agent`` or ``user``."""
        await self._execute(
            "INSERT INTO ticket_messages (id, ticket_id, role, content, model, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $6)",
            uuid.uuid4(),
            ticket_id,
            role,
            f"a {role} message",
            model,
            at,
        )

    async def answer(self, ticket_id: uuid.UUID, at: datetime.datetime, *, model: str = "retrieval-only") -> None:
        """An AI answer; ``retrieval-only`` is the model the app records when no chat model answered."""
        await self.message(ticket_id, "assistant", at, model=model)

    async def verdict(self, ticket_id: uuid.UUID, at: datetime.datetime, *, fixed: bool) -> None:
        """The owner's "Fixed it" (``fixed``) or "Still broken", as the feedback route records it."""
        await self._execute(
            "INSERT INTO ticket_history (ticket_id, at, actor, actor_id, field, new_value)"
            " SELECT id, $2, 'user', owner_id, 'feedback', $3::jsonb FROM tickets WHERE id = $1",
            ticket_id,
            at,
            json.dumps({"resolved": fixed, "comment": None}),
        )

    async def answered(
        self,
        owner: TestUser,
        at: datetime.datetime,
        *,
        fixed: datetime.timedelta | None = None,
        broken: datetime.timedelta | None = None,
        model: str = "retrieval-only",
        **ticket: Any,
    ) -> uuid.UUID:
        """A ticket made a minute before its AI answer at ``at``; ``fixed``/``broken`` after it, a verdict."""
        ticket_id = await self.ticket(owner, created=at - datetime.timedelta(minutes=1), **ticket)
        await self.answer(ticket_id, at, model=model)
        if fixed is not None:
            await self.verdict(ticket_id, at + fixed, fixed=True)
        if broken is not None:
            await self.verdict(ticket_id, at + broken, fixed=False)
        return ticket_id


@pytest.fixture
def histories(db_url: str) -> Histories:
    """Write crafted ticket histories into this test's database."""
    return Histories(db_url)


async def kpis(client: AsyncTestClient[Litestar], admin: TestUser, **period: str) -> dict[str, Any]:
    """``GET /api/v1/admin/kpis`` as ``admin`` (``start``/``end`` become ``from``/``to``); 200 asserted."""
    params = {{"start": "from", "end": "to"}[name]: value for name, value in period.items()}
    response = await client.get(KPIS, params=params, headers=admin.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def outcomes(counts: dict[str, Any]) -> dict[str, int]:
    """The nonzero outcome counts of a totals or split entry (``answered`` and the rate left out)."""
    names = ("confirmed", "escalated", "reopened", "unconfirmed", "pending")
    return {name: counts[name] for name in names if counts[name]}
