"""Settings: every documented variable changes the settings; bad values fail at start with a clear message."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from server.settings import ENV_VARS, Secret, Settings, SettingsError, get_settings

CONFIGURATION_DOC = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"
SECRET = "s" * 40


def documented_variables() -> list[str]:
    """The names in the configuration reference's tables (rows starting with a `TECHPAL_*` cell)."""
    return re.findall(r"^\| `(TECHPAL_[A-Z0-9_]+)` \|", CONFIGURATION_DOC.read_text(encoding="utf-8"), flags=re.M)


def test_the_configuration_reference_lists_exactly_the_variables_the_server_reads() -> None:
    documented = documented_variables()
    assert len(documented) == len(set(documented)), "a variable is listed twice"
    assert sorted(documented) == sorted(var.name for var in ENV_VARS)


@pytest.mark.parametrize("name", documented_variables())
def test_each_documented_variable_changes_the_settings(name: str) -> None:
    var = next(v for v in ENV_VARS if v.name == name)
    env = {name: var.example}
    # Some variables only make sense with their partner; give it so only `name` is under test.
    if name in {"TECHPAL_TLS_CERT", "TECHPAL_TLS_KEY"}:
        env |= {"TECHPAL_TLS_CERT": var.example, "TECHPAL_TLS_KEY": var.example}
    if name == "TECHPAL_DATABASE_URL":
        env["TECHPAL_SECRET_KEY"] = SECRET
    pairs = {"TECHPAL_TLS_CERT", "TECHPAL_TLS_KEY", "TECHPAL_GOOGLE_CLIENT_ID", "TECHPAL_GOOGLE_CLIENT_SECRET"}
    if name in {"TECHPAL_GOOGLE_CLIENT_ID", "TECHPAL_GOOGLE_CLIENT_SECRET"}:
        env |= {"TECHPAL_GOOGLE_CLIENT_ID": "id", "TECHPAL_GOOGLE_CLIENT_SECRET": "secret", name: var.example}
    baseline = {k: v for k, v in env.items() if k != name}
    before = get_settings(baseline) if name not in pairs else get_settings({})
    assert get_settings(env) != before


def test_defaults_are_safe_for_a_laptop() -> None:
    settings = get_settings({})
    assert settings.server.host == "127.0.0.1"
    assert settings.server.port == 8000
    assert settings.db.embedded
    assert settings.secret_key is None  # generated into the data dir at start
    assert settings.server.trusted_proxies == ()
    assert settings.server.cors_origins == ()
    assert settings.server.base_url == "http://127.0.0.1:8000"


def test_values_are_parsed_into_types() -> None:
    settings = get_settings(
        {
            "TECHPAL_PORT": " 9000 ",
            "TECHPAL_DATA_DIR": "~/techpal-data",
            "TECHPAL_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7",
            "TECHPAL_DATABASE_URL": "postgres://u:p@db/techpal?sslmode=require",
            "TECHPAL_SECRET_KEY": SECRET,
            "TECHPAL_PUBLIC_URL": "https://help.example.com/",
        }
    )
    assert settings.server.port == 9000
    assert settings.data_dir == Path.home() / "techpal-data"
    assert [str(n) for n in settings.server.trusted_proxies] == ["10.0.0.0/8", "192.168.1.7/32"]
    assert settings.db.url == Secret("postgresql+asyncpg://u:p@db/techpal?ssl=require")
    assert settings.server.base_url == "https://help.example.com"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TECHPAL_PORT": "abc"}, "TECHPAL_PORT: expected a whole number from 0 to 65535"),
        ({"TECHPAL_PORT": "70000"}, "TECHPAL_PORT: expected a whole number from 0 to 65535"),
        ({"TECHPAL_DATABASE_URL": "mysql://x/y", "TECHPAL_SECRET_KEY": SECRET}, "expected a postgresql:// URL"),
        ({"TECHPAL_DATABASE_URL": "postgresql://db/techpal?sslmode=require"}, "TECHPAL_SECRET_KEY: required when"),
        ({"TECHPAL_SECRET_KEY": "short"}, "TECHPAL_SECRET_KEY: must be at least 32 characters"),
        ({"TECHPAL_PUBLIC_URL": "ftp://x"}, "TECHPAL_PUBLIC_URL: expected an http:// or https:// URL"),
        ({"TECHPAL_TLS_CERT": "/nonexistent.pem", "TECHPAL_TLS_KEY": "/nonexistent.pem"}, "no readable file"),
        ({"TECHPAL_TLS_CERT": "/etc/hostname"}, "must be set together"),
        ({"TECHPAL_GOOGLE_CLIENT_ID": "1234.apps.googleusercontent.com"}, "must be set together"),
        ({"TECHPAL_TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"}, "'proxy.local' is not an IP address"),
        ({"TECHPAL_LOG_LEVEL": "loud"}, "TECHPAL_LOG_LEVEL: expected one of debug, info, warning, error"),
        ({"TECHPAL_DB_POOL_SIZE": "0"}, "TECHPAL_DB_POOL_SIZE: expected a whole number from 1 to 200"),
    ],
)
def test_bad_values_are_named_with_the_reason(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        get_settings(env)
    assert message in str(caught.value)


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        get_settings({"TECHPAL_PORT": "x", "TECHPAL_LOG_FORMAT": "xml"})
    assert len(caught.value.problems) == 2


def test_secrets_never_show_in_repr() -> None:
    settings = get_settings(
        {"TECHPAL_SECRET_KEY": SECRET, "TECHPAL_DATABASE_URL": "postgresql://u:hunter2@db/x?sslmode=require"}
    )
    assert SECRET not in repr(settings)
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings.db.url)


def test_the_ai_key_falls_back_to_openai_api_key_and_never_shows() -> None:
    assert not get_settings({}).ai.configured  # the embedded default answers retrieval-only
    fallback = get_settings({"OPENAI_API_KEY": "sk-fallback"}).ai
    assert fallback.configured
    assert fallback.api_key is not None
    assert fallback.api_key.get_secret_value() == "sk-fallback"
    assert "sk-fallback" not in repr(fallback)
    own = get_settings({"OPENAI_API_KEY": "sk-fallback", "TECHPAL_AI_API_KEY": "sk-own"}).ai
    assert own.api_key is not None
    assert own.api_key.get_secret_value() == "sk-own"
    assert get_settings({"TECHPAL_AI_BASE_URL": "http://localhost:11434/v1"}).ai.configured


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.server.port = 1  # type: ignore[misc]


def test_server_refuses_to_start_with_a_bad_value_and_says_why() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "server", "run"],
        env={"PATH": "/usr/bin:/bin", "TECHPAL_PORT": "eighty", "TECHPAL_LOG_LEVEL": "loud"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "TECHPAL_PORT: expected a whole number" in result.stderr
    assert "TECHPAL_LOG_LEVEL: expected one of" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_database_on_another_machine_needs_tls_settings() -> None:
    def url(value: str) -> str:
        db = get_settings({"TECHPAL_DATABASE_URL": value, "TECHPAL_SECRET_KEY": SECRET}).db.url
        assert db is not None
        return db.get_secret_value()

    with pytest.raises(SettingsError, match="sslmode"):
        url("postgresql://techpal:pw@db.example.com/techpal")
    assert url("postgresql://techpal:pw@db.example.com/techpal?sslmode=verify-full").endswith("?ssl=verify-full")
    assert (
        url("postgresql://techpal:pw@localhost:5432/techpal")
        == "postgresql+asyncpg://techpal:pw@localhost:5432/techpal"
    )
    assert url("postgresql://techpal@/techpal?host=/run/postgresql").startswith("postgresql+asyncpg://techpal@/techpal")
