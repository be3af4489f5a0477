"""Interpreting ``GET /health``: pure, no Qt, no network."""

from __future__ import annotations

import dataclasses

import pytest

from desktop.core.health import (
    DEFAULT_SERVER_URL,
    ServerState,
    ServerStatus,
    health_url,
    interpret_health,
    normalize_server_url,
)

URL = "http://127.0.0.1:8000"
DOWN = "Server is starting or its database is down"


def test_ok_body_with_200_is_online() -> None:
    status = interpret_health(URL, 200, b'{"status": "ok", "version": "0.1.0"}')

    assert status == ServerStatus(ServerState.ONLINE, f"Connected to {URL}")
    assert status.label == "Connected"


@pytest.mark.parametrize(
    ("status_code", "body"),
    [
        (503, b'{"status": "degraded", "database": "down"}'),
        (503, b""),
        (503, None),
        (200, b'{"status": "starting"}'),
        (200, '{"status": "degraded"}'),
    ],
)
def test_database_down_or_starting_is_degraded(status_code: int, body: bytes | str | None) -> None:
    status = interpret_health(URL, status_code, body)

    assert status == ServerStatus(ServerState.DEGRADED, DOWN)
    assert status.label == "Not ready"


@pytest.mark.parametrize(
    ("status_code", "body"),
    [
        (404, b"<html>Not Found</html>"),
        (500, b'{"status": "ok"}'),
        (200, b"not json"),
        (200, b"\xff\xfe"),
        (200, b'["status", "ok"]'),
        (200, b'{"status": true}'),
        (200, b"{}"),
        (200, None),
    ],
)
def test_an_answer_that_is_not_ours_is_degraded_with_the_http_status(status_code: int, body: bytes | None) -> None:
    status = interpret_health(URL, status_code, body)

    assert status == ServerStatus(ServerState.DEGRADED, f"Unexpected answer from {URL} (HTTP {status_code})")


@pytest.mark.parametrize(
    ("status_code", "error"),
    [(None, "[Errno 111] Connection refused"), (None, None), (200, "read timeout")],
)
def test_no_response_or_transport_error_is_unreachable(status_code: int | None, error: str | None) -> None:
    status = interpret_health(URL, status_code, b'{"status": "ok"}' if status_code else None, error)

    assert status == ServerStatus(ServerState.UNREACHABLE, f"Cannot reach {URL} — is the server running?")
    assert status.label == "Offline"


def test_status_is_immutable() -> None:
    status = interpret_health(URL, 200, b'{"status": "ok"}')

    with pytest.raises(dataclasses.FrozenInstanceError):
        status.state = ServerState.UNREACHABLE  # type: ignore[misc]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
        ("  https://help.example.com//  ", "https://help.example.com"),
        ("https://example.com/techpal/", "https://example.com/techpal"),
        ("HTTP://[::1]:8000", "HTTP://[::1]:8000"),
    ],
)
def test_server_urls_are_normalized(given: str, expected: str) -> None:
    assert normalize_server_url(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "",
        "localhost:8000",
        "127.0.0.1",
        "ftp://example.com",
        "http://",
        "http:///health",
        "http://h/?x=1",
        "http://h/#x",
    ],
)
def test_unusable_server_urls_are_rejected(given: str) -> None:
    with pytest.raises(ValueError, match="URL"):
        normalize_server_url(given)


def test_health_url_appends_the_endpoint_to_the_base_and_its_prefix() -> None:
    assert health_url(DEFAULT_SERVER_URL + "/") == "http://127.0.0.1:8000/health"
    assert health_url("https://example.com/techpal") == "https://example.com/techpal/health"
