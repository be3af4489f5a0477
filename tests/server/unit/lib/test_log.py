"""The log redaction processor masks secrets by field name and inside free text."""

from __future__ import annotations

from server.lib.log import redact_secrets


def test_secret_named_fields_are_masked() -> None:
    event = redact_secrets(
        None, "info", {"event": "x", "password": "hunter2", "refresh_token": "abc", "Authorization": "Bearer z"}
    )
    assert "hunter2" not in str(event)
    assert "abc" not in str(event)
    assert "Bearer z" not in str(event)
    assert event["event"] == "x"


def test_credentials_inside_text_are_masked() -> None:
    event = redact_secrets(
        None,
        "error",
        {"event": "connect failed postgresql+asyncpg://techpal:s3cr3t@/db and Bearer eyJhbGciOi.payload.sig"},
    )
    assert "s3cr3t" not in event["event"]
    assert "eyJhbGciOi" not in event["event"]
    assert "postgresql+asyncpg://**********@/db" in event["event"]
