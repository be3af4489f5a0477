"""One error shape for every error: problem details with a machine-readable code, never a 5xx for bad input."""

from __future__ import annotations

import msgspec
import pytest
from litestar import Litestar, post
from litestar.params import JSONBody
from litestar.testing import AsyncTestClient

from server.lib.schema import RequestBody


class Echo(RequestBody, frozen=True):
    """A probe body with typical constraints."""

    name: str
    count: int
    tags: list[str] = msgspec.field(default_factory=list)


@post("/probe/echo", include_in_schema=False)
async def echo(data: JSONBody[Echo]) -> dict[str, object]:
    return {"name": data.name, "count": data.count}


@pytest.fixture
def app(app: Litestar) -> Litestar:
    """The real app plus a probe JSON route: the error handling under test is app-wide."""
    app.register(echo)
    return app


def assert_problem(response: object, status: int, code: str) -> dict[str, object]:
    import httpx

    assert isinstance(response, httpx.Response)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["title"]
    assert body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    return dict(body)


async def post_raw(client: AsyncTestClient[Litestar], body: bytes) -> object:
    return await client.post("/probe/echo", content=body, headers={"content-type": "application/json"})


async def test_valid_body_passes(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post("/probe/echo", json={"name": "a", "count": 1})
    assert response.status_code == 201
    assert response.json() == {"name": "a", "count": 1}


@pytest.mark.parametrize("body", [b"{bad", b'{"name": "a", "count": 1', b"\xff\xfe\x00", b""])
async def test_malformed_json_is_400_malformed_body(client: AsyncTestClient[Litestar], body: bytes) -> None:
    assert_problem(await post_raw(client, body), 400, "malformed_body")


async def test_wrong_types_name_the_field(client: AsyncTestClient[Litestar]) -> None:
    body = assert_problem(await client.post("/probe/echo", json={"name": 5, "count": "x"}), 422, "validation_error")
    errors = body["errors"]
    assert isinstance(errors, list)
    assert errors[0]["field"] == "name"
    assert "str" in errors[0]["message"]


async def test_missing_field_is_named(client: AsyncTestClient[Litestar]) -> None:
    body = assert_problem(await client.post("/probe/echo", json={"name": "a"}), 422, "validation_error")
    assert "count" in str(body["detail"])


async def test_unknown_fields_are_refused(client: AsyncTestClient[Litestar]) -> None:
    body = assert_problem(
        await client.post("/probe/echo", json={"name": "a", "count": 1, "is_admin": True}), 422, "validation_error"
    )
    assert "is_admin" in str(body["detail"])


@pytest.mark.parametrize("payload", [{"name": "a\u0000b", "count": 1}, {"name": "a", "count": 1, "tags": ["\x00"]}])
async def test_nul_bytes_are_refused_not_500(client: AsyncTestClient[Litestar], payload: dict[str, object]) -> None:
    body = assert_problem(await client.post("/probe/echo", json=payload), 422, "validation_error")
    assert "control characters" in str(body["detail"])


async def test_oversized_body_is_413_in_the_common_shape(client: AsyncTestClient[Litestar]) -> None:
    huge = b'{"name": "' + b"a" * 200_000 + b'", "count": 1}'
    assert_problem(await post_raw(client, huge), 413, "body_too_large")


async def test_unknown_route_is_404_problem(client: AsyncTestClient[Litestar]) -> None:
    assert_problem(await client.get("/no/such/thing"), 404, "not_found")


async def test_wrong_method_is_405_problem(client: AsyncTestClient[Litestar]) -> None:
    assert_problem(await client.delete("/health"), 405, "method_not_allowed")


async def test_unexpected_failure_is_opaque_500(app: Litestar) -> None:
    @post("/probe/boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("internal detail: password=hunter2")

    app.register(boom)
    async with AsyncTestClient(app=app) as client:
        body = assert_problem(await client.post("/probe/boom"), 500, "internal_error")
    assert "hunter2" not in str(body)
    assert "RuntimeError" not in str(body)
