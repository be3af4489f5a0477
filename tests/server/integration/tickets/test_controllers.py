"""``/api/v1/tickets`` over HTTP: create, validation, list and paging, detail, and refusal of other users' tickets."""

from __future__ import annotations

import asyncio
import datetime
import uuid
from typing import TYPE_CHECKING

import pytest

from tests.fixtures.db import connect
from tests.fixtures.tickets import TicketFactory, create_ticket

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from tests.fixtures.auth import TestUser, UserFactory

TICKET_FIELDS = {
    "id",
    "status",
    "priority",
    "category",
    "description",
    "device",
    "screenshot_count",
    "created_at",
    "updated_at",
}


async def test_create_description_only(ticket_factory: TicketFactory, signed_in_user: TestUser) -> None:
    response = await ticket_factory(signed_in_user, description="Outlook keeps asking for my password.")

    ticket = response.json()
    assert TICKET_FIELDS | {"messages", "screenshots", "history"} == set(ticket)
    assert ticket["status"] == "open"
    assert ticket["priority"] == "normal"  # nobody chose: the default until triage
    assert ticket["category"] is None
    assert ticket["description"] == "Outlook keeps asking for my password."
    assert ticket["screenshots"] == []
    assert ticket["messages"] == []
    assert [(h["actor"], h["field"], h["from"], h["to"]) for h in ticket["history"]] == [
        ("user", "status", None, "open")
    ]
    uuid.UUID(ticket["id"])
    assert ticket["created_at"] == ticket["updated_at"] or ticket["updated_at"] >= ticket["created_at"]


async def test_create_with_every_field(ticket_factory: TicketFactory, signed_in_user: TestUser, db_url: str) -> None:
    device = {
        "os": "Windows",
        "os_version": "11 23H2",
        "cpu": "Intel Core i5-1135G7",
        "ram_gb": 15.8,
        "free_disk_gb": 120.5,
        "network": "limited",
    }
    response = await ticket_factory(
        signed_in_user, description="Wi-Fi drops", priority="high", category="network", device=device
    )

    ticket = response.json()
    assert (ticket["priority"], ticket["category"], ticket["device"]) == ("high", "network", device)
    # The triage step must see that the user chose these (their choice wins).
    connection = await connect(db_url)
    try:
        row = await connection.fetchrow(
            "SELECT priority_source, category_source FROM tickets WHERE id = $1", uuid.UUID(ticket["id"])
        )
    finally:
        await connection.close()
    assert dict(row) == {"priority_source": "user", "category_source": "user"}


async def test_create_requires_sign_in(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post("/api/v1/tickets", files=[("description", (None, "hi", None))])

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"description": None, "priority": "low"}, "description", "validation_error"),
        ({"description": "   "}, "description", "validation_error"),
        ({"description": "x" * 10_001}, "description", "validation_error"),
        ({"description": "null byte \x00 here"}, "description", "validation_error"),
        ({"priority": "critical"}, "priority", "validation_error"),
        ({"category": "kitchen"}, "category", "validation_error"),
        ({"device": {"os": "Linux", "gpu": "RTX"}}, "device", "validation_error"),
        ({"device": {"network": "maybe"}}, "device", "validation_error"),
        ({"device": {"ram_gb": -1}}, "device", "validation_error"),
        ({"device": "{not json"}, "device", "validation_error"),
        ({"device": "[1, 2]"}, "device", "validation_error"),
        ({"extra": [("owner_id", "someone-else")]}, "owner_id", "validation_error"),
    ],
)
async def test_create_rejects_bad_fields(  # noqa: PLR0917 - fixtures and parameters
    client: AsyncTestClient[Litestar],
    signed_in_user: TestUser,
    db_url: str,
    fields: dict[str, object],
    field: str,
    code: str,
) -> None:
    response = await create_ticket(client, signed_in_user, expect=None, **fields)  # type: ignore[arg-type]

    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == code
    assert field in {e["field"] for e in problem["errors"]}
    assert await _count(db_url, "tickets") == 0


async def test_bad_priority_and_category_are_reported_together(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser
) -> None:
    response = await create_ticket(client, signed_in_user, expect=None, priority="asap", category="kitchen")

    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"priority", "category"}


async def test_create_refuses_json_and_urlencoded(client: AsyncTestClient[Litestar], signed_in_user: TestUser) -> None:
    as_json = await client.post("/api/v1/tickets", json={"description": "hi"}, headers=signed_in_user.headers)
    as_form = await client.post("/api/v1/tickets", data={"description": "hi"}, headers=signed_in_user.headers)

    assert (as_json.status_code, as_json.json()["code"]) == (415, "unsupported_media_type")
    assert (as_form.status_code, as_form.json()["code"]) == (415, "unsupported_media_type")


async def test_malformed_multipart_is_a_400(client: AsyncTestClient[Litestar], signed_in_user: TestUser) -> None:
    headers = {**signed_in_user.headers, "Content-Type": "multipart/form-data; boundary=xyz"}
    response = await client.post("/api/v1/tickets", content=b"--xyz\r\nnot a header line", headers=headers)

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_body"


async def test_list_is_own_tickets_newest_first_with_paging(
    client: AsyncTestClient[Litestar], user_factory: UserFactory
) -> None:
    alice, bob = await user_factory(), await user_factory()
    for n in range(5):
        await create_ticket(client, alice, description=f"alice {n}")
    await create_ticket(client, bob, description="bob's problem")

    first = (await client.get("/api/v1/tickets?limit=2", headers=alice.headers)).json()
    second = (await client.get("/api/v1/tickets?limit=2&offset=2", headers=alice.headers)).json()
    last = (await client.get("/api/v1/tickets?limit=2&offset=4", headers=alice.headers)).json()

    assert (first["total"], first["limit"], first["offset"]) == (5, 2, 0)
    descriptions = [t["description"] for page in (first, second, last) for t in page["items"]]
    assert descriptions == ["alice 4", "alice 3", "alice 2", "alice 1", "alice 0"]
    assert set(first["items"][0]) == TICKET_FIELDS
    bobs = (await client.get("/api/v1/tickets", headers=bob.headers)).json()
    assert [t["description"] for t in bobs["items"]] == ["bob's problem"]
    assert (bobs["total"], bobs["limit"]) == (1, 20)


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=101", "limit=abc", "offset=-1", "updated_since=yesterday", "updated_since=2026-11-27T10:00:00"],
)
async def test_list_rejects_bad_parameters(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, query: str
) -> None:
    response = await client.get(f"/api/v1/tickets?{query}", headers=signed_in_user.headers)

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"


async def test_list_updated_since(client: AsyncTestClient[Litestar], signed_in_user: TestUser) -> None:
    old = (await create_ticket(client, signed_in_user, description="old")).json()
    await asyncio.sleep(0.01)
    cutoff = datetime.datetime.now(datetime.UTC)
    await asyncio.sleep(0.01)
    await create_ticket(client, signed_in_user, description="new")

    since = (
        await client.get(
            "/api/v1/tickets", params={"updated_since": cutoff.isoformat()}, headers=signed_in_user.headers
        )
    ).json()
    everything = await client.get(
        "/api/v1/tickets", params={"updated_since": "2000-01-01T00:00:00Z"}, headers=signed_in_user.headers
    )

    assert [t["description"] for t in since["items"]] == ["new"]
    assert since["total"] == 1
    assert [t["id"] for t in everything.json()["items"]][-1] == old["id"]


async def test_get_embeds_messages_screenshots_history(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser
) -> None:
    created = (await create_ticket(client, signed_in_user, description="VPN fails")).json()

    response = await client.get(f"/api/v1/tickets/{created['id']}", headers=signed_in_user.headers)

    assert response.status_code == 200
    assert response.json() == created


async def test_other_users_ticket_is_404_on_every_route(
    client: AsyncTestClient[Litestar], user_factory: UserFactory
) -> None:
    owner, stranger = await user_factory(), await user_factory()
    ticket_id = (await create_ticket(client, owner, description="mine")).json()["id"]
    routes = [f"/api/v1/tickets/{ticket_id}", f"/api/v1/tickets/{ticket_id}/screenshots/0"]

    for route in routes:
        theirs = await client.get(route, headers=stranger.headers)
        missing = await client.get(route.replace(ticket_id, str(uuid.uuid4())), headers=stranger.headers)
        assert theirs.status_code == missing.status_code == 404, route
        assert theirs.json()["code"] == missing.json()["code"]
    listing = (await client.get("/api/v1/tickets", headers=stranger.headers)).json()
    assert listing["items"] == []
    assert listing["total"] == 0


async def _count(db_url: str, table: str) -> int:
    connection = await connect(db_url)
    try:
        return int(await connection.fetchval(f"SELECT count(*) FROM {table}"))
    finally:
        await connection.close()


HOSTILE_BODIES = [
    b"",
    b"\x00" * 64,
    b"\xff\xfe\xfd invalid utf-8",
    b"--x\r\n",
    b"--x--\r\n",
    b'--x\r\nContent-Disposition: form-data; name="description"\r\n\r\n\xff\xfe\r\n--x--\r\n',
    b'--x\r\nContent-Disposition: form-data; name="description"\r\n\r\nok\r\n--x\r\n'
    b'Content-Disposition: form-data; name="device"\r\n\r\n' + b"[" * 3000 + b"\r\n--x--\r\n",
    b"--x\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--x--\r\n",
    b"--x\r\n" + b"X-Header: y\r\n" * 50 + b"\r\n\r\n--x--\r\n",
]


async def test_hostile_create_bodies_never_5xx(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, db_url: str
) -> None:
    failures = []
    for body in HOSTILE_BODIES:
        for content_type in (
            "multipart/form-data; boundary=x",
            "multipart/form-data",
            'multipart/form-data; boundary=""',
            "text/plain",
        ):
            headers = {**signed_in_user.headers, "Content-Type": content_type}
            response = await client.post("/api/v1/tickets", content=body, headers=headers)
            if not 400 <= response.status_code < 500 or "code" not in response.json():
                failures.append((body[:30], content_type, response.status_code))
    assert not failures
    assert await _count(db_url, "tickets") == 0
