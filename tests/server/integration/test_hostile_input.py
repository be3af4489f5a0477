"""No route answers 5xx to hostile input, and every route is in the OpenAPI document (so fuzzers reach it)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

# Paths Litestar serves for the docs themselves; everything else must be in the document.
DOCS = re.compile(r"^/schema(/|$)")
HOSTILE_BODIES = [
    b"",
    b"\x00" * 64,
    b"\xff\xfe\xfd invalid utf-8",
    b'{"a": "\\u0000"}',
    b"[" * 10_000,
    b'{"a": ' + b"9" * 5000 + b"}",
    b"x" * 2_000_000,
]
HOSTILE_SUFFIXES = ["%00", "%ff%fe", "..%2f..%2fetc%2fpasswd", "a" * 5000]


def documented_operations(document: dict[str, object]) -> list[tuple[str, str]]:
    paths = document["paths"]
    assert isinstance(paths, dict)
    return [(method.upper(), path) for path, item in paths.items() for method in item if method != "parameters"]


async def test_every_route_is_documented(app: Litestar, client: AsyncTestClient[Litestar]) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    documented = {path for _, path in documented_operations(document)}
    # Litestar's route paths carry converters (`{id:uuid}`); the document names the parameter only (`{id}`).
    served = {re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path) for route in app.routes if not DOCS.match(route.path)}
    assert served <= documented, f"undocumented routes: {served - documented}"


async def test_no_route_answers_5xx_to_hostile_input(client: AsyncTestClient[Litestar]) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    failures = []
    for method, path in documented_operations(document):
        concrete = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)
        targets = [concrete] + [f"{concrete.rstrip('/')}/{suffix}" for suffix in HOSTILE_SUFFIXES]
        targets += [f"{concrete}?q={suffix}" for suffix in HOSTILE_SUFFIXES]
        for target in targets:
            for body in HOSTILE_BODIES:
                for content_type in ("application/json", "multipart/form-data; boundary=x", "text/plain"):
                    response = await client.request(
                        method, target, content=body, headers={"content-type": content_type}
                    )
                    if response.status_code >= 500 and response.status_code != 503:
                        failures.append((method, target[:80], body[:20], content_type, response.status_code))
    assert not failures


@pytest.mark.parametrize("header", ["X-Request-ID", "X-Forwarded-For", "Authorization", "Origin"])
async def test_hostile_headers_do_not_break_requests(client: AsyncTestClient[Litestar], header: str) -> None:
    response = await client.get("/health", headers={header: "\x7f" + "a" * 8000})
    assert response.status_code == 200
