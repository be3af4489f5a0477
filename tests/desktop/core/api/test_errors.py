"""Every error code the accounts API raises has words a person understands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from desktop.core import api
from desktop.core.api.errors import ApiError, QuotaExceeded, ServerUnreachable, SessionExpired, friendly_message

ACCOUNTS_SERVICES = Path(__file__).parents[4] / "server" / "domain" / "accounts"


def _server_codes() -> set[str]:
    codes: set[str] = set()
    for path in ACCOUNTS_SERVICES.rglob("*.py"):
        codes.update(re.findall(r'code="([a-z_]+)"', path.read_text(encoding="utf-8")))
    return codes


def test_the_server_codes_are_found() -> None:
    assert {"invalid_credentials", "email_not_verified", "email_taken"} <= _server_codes()


@pytest.mark.parametrize("code", sorted(_server_codes()))
def test_each_accounts_code_has_our_own_sentence(code: str) -> None:
    message = friendly_message(400, code, detail="SERVER DETAIL")

    assert message != "SERVER DETAIL"
    assert "_" not in message
    assert message.endswith((".", "!"))


def test_unknown_codes_fall_back_to_detail_then_status() -> None:
    assert friendly_message(400, "new_code", "Server says so.") == "Server says so."
    assert friendly_message(404, "new_code") == "We couldn't find that — it may have been removed."
    assert friendly_message(599, "new_code") == "Something went wrong on the server. Please try again later."
    assert friendly_message(418, "new_code") == "The server refused the request (HTTP 418)."


def test_classification() -> None:
    assert ServerUnreachable().is_transient
    assert not ServerUnreachable().is_client_error
    assert SessionExpired().status == 401
    assert QuotaExceeded().is_client_error
    assert ApiError(429, "rate_limited", "x").is_transient
    assert not ApiError(422, "validation_error", "x").is_transient
    assert str(ApiError(400, "x", "Words.")) == "Words."


def test_public_exports_exist() -> None:
    for name in api.__all__:
        assert hasattr(api, name), name


def test_a_refused_google_link_gives_the_remedy_of_each_cause() -> None:
    """409 ``link_requires_password`` has two causes, each with its own remedy.

    An unconfirmed address (confirm it: signing in with the password is refused then), or a staff account or one
    linked to another Google account, whose address is confirmed (sign in with its password).
    """
    message = friendly_message(409, "link_requires_password")

    assert "If you haven't confirmed the address yet, open the link in the mail we sent you" in message
    assert message.endswith("Otherwise sign in with your password.")
