"""The KPI definitions (server/domain/reports/kpis.py) on crafted ticket histories, read through the real API."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from tests.server.integration.reports.conftest import DAY, SECOND, kpis, outcomes

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from tests.fixtures.auth import TestUser, UserFactory
    from tests.server.integration.reports.conftest import Histories

HOUR = datetime.timedelta(hours=1)


@dataclass
class Report:
    """One owner's crafted ticket histories, and the KPIs an admin reads of them through the API at ``now``."""

    client: AsyncTestClient[Litestar]
    admin: TestUser
    user_factory: UserFactory
    histories: Histories
    now: datetime.datetime
    owner: TestUser

    async def read(self, **period: str) -> dict[str, Any]:
        """The KPIs as the admin reads them (``start``/``end``: the period); 200 asserted."""
        return await kpis(self.client, self.admin, **period)

    async def user(self) -> TestUser:
        """Another user, besides ``owner``."""
        return await self.user_factory()


@pytest.fixture
async def report(
    client: AsyncTestClient[Litestar],
    admin: TestUser,
    user_factory: UserFactory,
    histories: Histories,
    now: datetime.datetime,
) -> Report:
    """The admin, the histories and ``now`` of each test, with its ticket owner (a user made after the admin)."""
    return Report(client, admin, user_factory, histories, now, owner=await user_factory())


async def test_each_answered_ticket_lands_in_exactly_one_outcome(report: Report) -> None:
    histories, owner, now = report.histories, report.owner, report.now
    await histories.answered(owner, now - 20 * DAY, fixed=HOUR)  # confirmed: said fixed, stayed fixed 7 days
    await histories.answered(owner, now - 19 * DAY, broken=HOUR)  # escalated
    reopened = await histories.answered(owner, now - 18 * DAY, fixed=HOUR)
    await histories.message(reopened, "user", now - 17 * DAY)  # a follow-up the day after "Fixed it"
    await histories.answered(owner, now - 10 * DAY)  # unconfirmed: no word from the user in 3 days
    await histories.answered(owner, now - DAY)  # pending: the user may still answer
    await histories.answered(owner, now - 2 * DAY, fixed=HOUR)  # pending: the fix may still be reopened
    await histories.ticket(owner, created=now - 5 * DAY)  # never answered: not counted
    by_agent = await histories.ticket(owner, created=now - 5 * DAY)
    await histories.message(by_agent, "agent", now - 4 * DAY)  # only an agent answered: not the AI's

    body = await report.read()

    assert body["totals"] == {
        "answered": 6,
        "confirmed": 1,
        "escalated": 1,
        "reopened": 1,
        "unconfirmed": 1,
        "pending": 2,
        "confirmed_rate": 0.1667,
    }
    assert body["as_of"] == now.isoformat().replace("+00:00", "Z")


async def test_a_worse_fact_always_wins(report: Report) -> None:
    histories, owner, now = report.histories, report.owner, report.now
    start = now - 20 * DAY
    await histories.answered(owner, start, fixed=HOUR, broken=2 * HOUR)  # fixed, then still broken
    await histories.answered(owner, start, broken=HOUR, fixed=9 * DAY)  # still broken, later fixed (by an agent?)
    asked_again = await histories.answered(owner, start, fixed=HOUR, broken=2 * DAY)  # fixed, asked, still broken
    await histories.message(asked_again, "user", start + DAY)
    fixed_twice = await histories.answered(owner, start, fixed=HOUR)  # fixed, asked, answered, fixed again
    await histories.message(fixed_twice, "user", start + DAY)
    await histories.answer(fixed_twice, start + DAY + HOUR)
    await histories.verdict(fixed_twice, start + DAY + 2 * HOUR, fixed=True)

    body = await report.read()

    assert outcomes(body["totals"]) == {"escalated": 3, "reopened": 1}
    assert body["totals"]["confirmed_rate"] == 0.0


async def test_a_verdict_counts_within_three_days_of_the_ai_answer_it_follows(report: Report) -> None:
    histories, owner, now = report.histories, report.owner, report.now
    start = now - 20 * DAY
    await histories.answered(owner, start, fixed=3 * DAY - SECOND, category="email")  # just inside: confirmed
    await histories.answered(owner, start, fixed=3 * DAY, category="printer")  # just outside: unconfirmed
    # A follow-up's AI answer opens a new window: the verdict follows that answer.
    later = await histories.answered(owner, start, category="network")
    await histories.message(later, "user", start + 5 * DAY)
    await histories.answer(later, start + 5 * DAY + HOUR)
    await histories.verdict(later, start + 7 * DAY, fixed=True)
    # Silence: pending while the user may still answer, unconfirmed from 3 days on.
    await histories.answered(owner, now - 3 * DAY + SECOND, category="software")
    await histories.answered(owner, now - 3 * DAY, category="hardware")

    body = await report.read()

    assert {c["category"]: outcomes(c) for c in body["by_category"]} == {
        "email": {"confirmed": 1},
        "printer": {"unconfirmed": 1},
        "network": {"confirmed": 1},
        "software": {"pending": 1},
        "hardware": {"unconfirmed": 1},
    }


async def test_a_fix_after_an_agents_reply_is_not_the_ais(report: Report) -> None:
    histories, owner, now = report.histories, report.owner, report.now
    start = now - 20 * DAY
    helped = await histories.answered(owner, start)
    await histories.message(helped, "agent", start + HOUR)
    await histories.verdict(helped, start + 2 * HOUR, fixed=True)

    body = await report.read()

    assert outcomes(body["totals"]) == {"unconfirmed": 1}


async def test_a_fix_is_reopened_by_a_follow_up_within_seven_days_and_confirmed_once_they_passed(
    report: Report,
) -> None:
    histories, owner, now = report.histories, report.owner, report.now
    start = now - 25 * DAY
    inside = await histories.answered(owner, start, fixed=HOUR, category="email")
    await histories.message(inside, "user", start + HOUR + 7 * DAY - SECOND)
    outside = await histories.answered(owner, start, fixed=HOUR, category="printer")
    await histories.message(outside, "user", start + HOUR + 7 * DAY)
    # A fix is confirmed once it is 7 days old, pending until then.
    await histories.answered(owner, now - 7 * DAY - HOUR, fixed=HOUR, category="network")
    await histories.answered(owner, now - 7 * DAY - HOUR, fixed=HOUR + SECOND, category="software")
    # The watch runs from the last "Fixed it": said again after an agent's reply 2 days ago, it is not over.
    said_again = await histories.answered(owner, start, fixed=HOUR, category="hardware")
    await histories.message(said_again, "agent", now - 3 * DAY)
    await histories.verdict(said_again, now - 2 * DAY, fixed=True)

    body = await report.read()

    assert {c["category"]: outcomes(c) for c in body["by_category"]} == {
        "email": {"reopened": 1},
        "printer": {"confirmed": 1},
        "network": {"confirmed": 1},
        "software": {"pending": 1},
        "hardware": {"pending": 1},
    }


async def test_a_near_duplicate_new_ticket_of_the_same_user_reopens_a_fix_but_a_different_problem_does_not(
    report: Report,
) -> None:
    histories, owner, now = report.histories, report.owner, report.now
    colleague = await report.user()
    start = now - 25 * DAY
    vpn = "The VPN drops every hour."
    await histories.answered(owner, start, fixed=HOUR, description=vpn, category="network")
    await histories.ticket(owner, created=start + 3 * DAY, description="VPN still drops every hour!")  # 0.68
    printer = "My printer says it is offline."
    await histories.answered(owner, start, fixed=HOUR, description=printer, category="printer")
    await histories.ticket(owner, created=start + 2 * DAY, description="The printer on floor 2 is offline.")  # 0.44
    outlook = "Outlook keeps asking for my password."
    await histories.answered(owner, start, fixed=HOUR, description=outlook, category="email")
    await histories.ticket(colleague, created=start + 2 * DAY, description=outlook)  # another user's problem
    teams = "Teams has no sound in meetings."
    await histories.answered(owner, start, fixed=HOUR, description=teams, category="software")
    await histories.ticket(owner, created=start + HOUR + 7 * DAY, description=teams)  # 7 days after "Fixed it"

    body = await report.read()

    assert {c["category"]: outcomes(c) for c in body["by_category"]} == {
        "network": {"reopened": 1},
        "printer": {"confirmed": 1},
        "email": {"confirmed": 1},
        "software": {"confirmed": 1},
    }


async def test_the_splits_by_category_answer_kind_and_week(report: Report) -> None:
    histories, owner, now = report.histories, report.owner, report.now
    five_weeks_ago = (now - 35 * DAY).replace(hour=9, minute=0, second=0)
    monday = five_weeks_ago - five_weeks_ago.weekday() * DAY
    await histories.answered(owner, monday, fixed=HOUR, category="printer")
    await histories.answered(owner, monday + DAY, broken=HOUR, category="printer", model="gpt-4.1-mini")
    await histories.answered(owner, monday + 6 * DAY, fixed=HOUR)  # Sunday: still week one
    # The kind is the first answer's: a model's follow-up answer does not make a retrieval-only ticket a model one.
    first_retrieval = await histories.answered(owner, monday + 14 * DAY, category="email")
    await histories.answer(first_retrieval, monday + 14 * DAY + HOUR, model="gpt-4.1-mini")

    start, end = monday.date().isoformat(), (monday + 20 * DAY).date().isoformat()  # three whole weeks
    body = await report.read(start=start, end=end)

    assert (body["from"], body["to"]) == (start, end)
    assert outcomes(body["totals"]) == {"confirmed": 2, "escalated": 1, "unconfirmed": 1}
    assert [(c["category"], c["answered"], c["confirmed_rate"]) for c in body["by_category"]] == [
        ("printer", 2, 0.5),
        ("email", 1, 0.0),
        ("uncategorized", 1, 1.0),
    ]
    assert [(k["answer_kind"], outcomes(k)) for k in body["by_answer_kind"]] == [
        ("retrieval", {"confirmed": 2, "unconfirmed": 1}),
        ("model", {"escalated": 1}),
    ]
    assert [(w["week"], w["answered"], w["confirmed_rate"]) for w in body["by_week"]] == [
        (monday.date().isoformat(), 3, 0.6667),
        ((monday + 7 * DAY).date().isoformat(), 0, None),
        ((monday + 14 * DAY).date().isoformat(), 1, 0.0),
    ]


async def test_a_ticket_counts_in_the_period_of_its_first_ai_answer(report: Report) -> None:
    histories, owner, now = report.histories, report.owner, report.now
    first_day = (now - 40 * DAY).replace(hour=0, minute=0, second=0)
    last_moment = first_day + 7 * DAY - SECOND  # the period is the 7 days from first_day
    old = await histories.ticket(owner, created=first_day - 40 * DAY, category="printer")
    await histories.answer(old, first_day)  # asked long before, first answered on the first day: counted
    await histories.answered(owner, last_moment, category="email")  # the last second of the last day: counted
    await histories.answered(owner, first_day - SECOND, category="network")  # the day before: not counted
    await histories.answered(owner, last_moment + SECOND, category="software")  # the day after: not counted
    again = await histories.answered(owner, first_day - DAY, category="hardware")  # first answered before
    await histories.answer(again, first_day + DAY)

    body = await report.read(start=first_day.date().isoformat(), end=last_moment.date().isoformat())

    assert sorted(c["category"] for c in body["by_category"]) == ["email", "printer"]
    assert body["totals"]["answered"] == 2
    day_without_answers = (first_day - 20 * DAY).date().isoformat()
    empty = await report.read(start=day_without_answers, end=day_without_answers)
    assert empty["totals"] == dict.fromkeys(empty["totals"], 0) | {"confirmed_rate": None}
    assert (empty["by_category"], [k["answer_kind"] for k in empty["by_answer_kind"]]) == ([], ["retrieval", "model"])
