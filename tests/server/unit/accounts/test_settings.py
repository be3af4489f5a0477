"""The accounts knobs of the issue: ``TECHPAL_REGISTER_LIMIT`` and ``TECHPAL_ACCESS_TOKEN_TTL``."""

from __future__ import annotations

from server.settings import get_settings


def test_defaults_are_twenty_registrations_an_hour_and_fifteen_minute_access_tokens() -> None:
    auth = get_settings({}).auth
    assert auth.register_limit == 20
    assert auth.access_token_ttl == 15 * 60


def test_the_environment_sets_them() -> None:
    auth = get_settings({"TECHPAL_REGISTER_LIMIT": "7", "TECHPAL_ACCESS_TOKEN_TTL": "300"}).auth
    assert auth.register_limit == 7
    assert auth.access_token_ttl == 300
