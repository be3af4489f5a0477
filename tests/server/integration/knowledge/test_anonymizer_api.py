"""The anonymizer measured the user's way: register, ticket, answer, "Fixed it" with a comment, read the review.

A handful of the dev set's records, one per template, go through the real API. Every person in a record's
``directory`` registers too, so the server knows them only as accounts: a colleague mentioned by name must be
removed because they have an account. The reviewer reads the pending article; none of the record's personal values
may survive in it, and its technical term must.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.domain.accounts.cli import change_role
from server.domain.knowledge.anonymizer.evaluation import load_records, score
from tests.fixtures.server import run_app_jobs
from tests.fixtures.tickets import create_ticket, parse_sse

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from tests.fixtures.auth import TestUser, UserFactory

DEV_SET = Path(__file__).resolve().parents[3] / "data" / "pii" / "dev.jsonl"
# One record per template of the dev set, each naming a colleague who has an account where the template has one.
SAMPLES = ("dev-000", "dev-001", "dev-002", "dev-004", "dev-009", "dev-012", "dev-013", "dev-014")


async def _account(user_factory: UserFactory, people: dict[str, TestUser], person: dict[str, str]) -> TestUser:
    if person["email"] not in people:
        people[person["email"]] = await user_factory(
            name=person["name"], username=person["username"], email=person["email"]
        )
    return people[person["email"]]


async def _review_items(client: AsyncTestClient[Litestar], reviewer: TestUser) -> dict[str, dict[str, Any]]:
    response = await client.get("/api/v1/kb/review?limit=100", headers=reviewer.headers)
    assert response.status_code == 200, response.text
    return {item["id"]: item for item in response.json()["items"]}


async def test_fixes_reach_the_review_queue_without_personal_data(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, db_url: str
) -> None:
    records = [r for r in load_records(DEV_SET) if r["id"] in SAMPLES]
    assert len(records) == len(SAMPLES)
    reviewer = await user_factory(name="Review Desk", username="reviewdesk", email="review.desk@example.org")
    await change_role(db_url, reviewer.email, "agent", grant=True)
    people: dict[str, TestUser] = {}
    articles: dict[str, str] = {}
    for record in records:
        for person in record["directory"]:
            await _account(user_factory, people, person)
        author = await _account(user_factory, people, record["author"])
        ticket = (await create_ticket(client, author, description=record["text"])).json()
        answered = await client.post(f"/api/v1/tickets/{ticket['id']}/resolve", headers=author.headers)
        assert [name for name, _ in parse_sse(answered.text)][-1] == "done", answered.text
        before = await _review_items(client, reviewer)
        colleague = (record["directory"] or [record["author"]])[0]["name"].split()[0]
        feedback = await client.post(
            f"/api/v1/tickets/{ticket['id']}/feedback",
            json={"resolved": True, "comment": f"Clearing the saved credentials did it, {colleague} confirmed"},
            headers=author.headers,
        )
        assert feedback.status_code == 200, feedback.text
        await run_app_jobs(client.app)
        new = [item for key, item in (await _review_items(client, reviewer)).items() if key not in before]
        assert len(new) == 1, new  # each fix waits for review as an article of its own
        fields = ("title", "symptoms", "cause", "resolution", "proposed_text")
        articles[record["id"]] = "\n".join(str(new[0][k] or "") for k in fields)
        assert colleague not in articles[record["id"]]
        assert "Clearing the saved credentials did it" in articles[record["id"]]

    result = score(records, article=lambda record: articles[record["id"]])

    assert not result.misses, [(m.record, m.kind, m.value, m.article) for m in result.misses]
    assert result.removed_rate == result.kept_rate == 1.0
