"""Every response — success, error, docs page — carries a request id and the security headers."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import TYPE_CHECKING

import pytest
from litestar.testing import AsyncTestClient

from server.app import create_app

if TYPE_CHECKING:
    from litestar import Litestar

    from server.settings import Settings

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


@pytest.mark.parametrize(("method", "path"), [("GET", "/health"), ("GET", "/nope"), ("DELETE", "/health")])
async def test_security_headers_on_every_response(client: AsyncTestClient[Litestar], method: str, path: str) -> None:
    response = await client.request(method, path)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert "strict-transport-security" not in response.headers  # plain HTTP here


async def test_docs_page_is_self_contained_under_a_strict_csp(client: AsyncTestClient[Litestar]) -> None:
    page = await client.get("/schema")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "<script>" not in page.text  # no inline script: everything comes from our own assets
    assert "cdn" not in page.text.lower()
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-init.js"):
        response = await client.get(f"/schema/assets/{asset}")
        assert response.status_code == 200, asset
    document = await client.get("/schema/openapi.json")
    assert document.json()["info"]["title"] == "Tech Pal API"


async def test_request_id_is_echoed_or_generated(client: AsyncTestClient[Litestar]) -> None:
    mine = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert mine.headers["x-request-id"] == "abc-123"
    forged = await client.get("/health", headers={"X-Request-ID": "bad id\nwith newline"})
    assert forged.headers["x-request-id"] != "bad id\nwith newline"
    assert len(forged.headers["x-request-id"]) == 32


async def test_hsts_when_serving_tls(settings: Settings) -> None:
    tls = dataclasses.replace(settings.server, tls_cert=settings.data_dir, tls_key=settings.data_dir)
    async with AsyncTestClient(app=create_app(settings.replace(server=tls))) as client:
        response = await client.get("/health")
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_cors_is_closed_by_default(client: AsyncTestClient[Litestar]) -> None:
    preflight = await client.options(
        "/health", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in preflight.headers
    response = await client.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


async def test_cors_allows_only_configured_origins(settings: Settings) -> None:
    server = dataclasses.replace(settings.server, cors_origins=("https://portal.example.com",))
    async with AsyncTestClient(app=create_app(settings.replace(server=server))) as client:
        allowed = await client.get("/health", headers={"Origin": "https://portal.example.com"})
        other = await client.get("/health", headers={"Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://portal.example.com"
    assert "access-control-allow-origin" not in other.headers


async def test_access_log_has_request_id_and_no_secrets(
    client: AsyncTestClient[Litestar], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await client.get(
        "/health?token=SECRET-IN-QUERY",
        headers={"Authorization": "Bearer SECRET-BEARER", "X-Request-ID": "req-42", "Cookie": "s=SECRET-COOKIE"},
    )
    access = [r for r in caplog.records if r.name == "server.access"]
    assert access, "no access log line"
    rendered = "\n".join(str(r.msg) for r in caplog.records)
    assert "req-42" in rendered
    for secret in ("SECRET-IN-QUERY", "SECRET-BEARER", "SECRET-COOKIE"):
        assert secret not in rendered
    line = access[-1].msg
    assert isinstance(line, dict)
    assert line["path"] == "/health"
    assert line["status"] == 200
    json.dumps(line)  # structured: serialisable as one JSON object
