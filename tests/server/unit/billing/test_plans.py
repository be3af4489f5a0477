"""The plan catalogue and the billing settings: a bad catalogue stops the start with every reason named."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

import pytest

from server.domain.billing.standing import month_period
from server.settings import SettingsError, get_settings
from server.settings.plans import DEFAULT_PLANS_FILE, load_catalogue

if TYPE_CHECKING:
    from pathlib import Path


def test_the_shipped_catalogue_has_free_20_and_pro_500() -> None:
    catalogue = load_catalogue(DEFAULT_PLANS_FILE)
    assert [(p.key, p.quota, p.paid) for p in catalogue.plans] == [("free", 20, False), ("pro", 500, True)]
    assert catalogue.free.key == "free"
    assert catalogue.by_lookup_key("techpal_pro_monthly") == catalogue.get("pro")


def test_billing_is_off_without_a_key_and_on_with_one() -> None:
    assert not get_settings({}).billing.enabled
    on = get_settings({"TECHPAL_STRIPE_SECRET_KEY": "sk_test_x", "TECHPAL_STRIPE_WEBHOOK_SECRET": "whsec_x"}).billing
    assert on.enabled
    assert "sk_test_x" not in repr(on)
    assert "whsec_x" not in repr(on)


def test_a_custom_catalogue_replaces_the_shipped_one(tmp_path: Path) -> None:
    path = tmp_path / "plans.toml"
    path.write_text(
        '[plans.starter]\nname = "Starter"\nmonthly_resolutions = 5\n\n'
        '[plans.team]\nname = "Team"\nprice = "€29"\nlookup_key = "team_monthly"\n',
        encoding="utf-8",
    )
    billing = get_settings({"TECHPAL_BILLING_PLANS": str(path)}).billing
    assert billing.plans.free.key == "starter"
    team = billing.plans.get("team")
    assert team is not None
    assert team.quota is None  # unlimited


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not toml [", "is not valid TOML"),
        ("", "expected at least one [plans.<name>] table"),
        ('[plans.pro]\nname = "Pro"\nlookup_key = "p"\n', "exactly one plan must have no `lookup_key`"),
        ('[plans.a]\nname = "A"\n[plans.b]\nname = "B"\n', "exactly one plan must have no `lookup_key`"),
        ('[plans.free]\nname = "F"\nmonthly_resolutions = -1\n', "`monthly_resolutions` must be a whole number"),
        ('[plans.free]\nname = "F"\nmonthly_resolutions = "20"\n', "`monthly_resolutions` must be a whole number"),
        ('[plans.free]\nname = ""\n', "`name` must be a non-empty string"),
        ('[plans.free]\nname = "F"\nquota = 3\n', "unknown field(s) quota"),
        ('[plans.Free]\nname = "F"\n', "names are lower-case"),
        ('[plans.self_hosted]\nname = "F"\n', "names are lower-case"),
        (
            '[plans.free]\nname = "F"\n[plans.a]\nname = "A"\nlookup_key = "k"\n'
            '[plans.b]\nname = "B"\nlookup_key = "k"\n',
            "two plans share a `lookup_key`",
        ),
    ],
)
def test_a_bad_catalogue_is_refused_at_start_with_the_reason(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "plans.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        get_settings({"TECHPAL_BILLING_PLANS": str(path)})
    assert "TECHPAL_BILLING_PLANS" in str(caught.value)
    assert message in str(caught.value)


def test_a_missing_catalogue_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read"):
        get_settings({"TECHPAL_BILLING_PLANS": str(tmp_path / "nope.toml")})


@pytest.mark.parametrize(
    ("now", "start", "end"),
    [
        ("2026-11-27T15:00:00+00:00", "2026-11-01", "2026-12-01"),
        ("2026-12-31T23:59:59+00:00", "2026-12-01", "2027-01-01"),
        ("2027-01-01T00:30:00+01:00", "2026-12-01", "2027-01-01"),  # still December in UTC
    ],
)
def test_the_free_plan_counts_in_calendar_months_utc(now: str, start: str, end: str) -> None:
    got = month_period(datetime.datetime.fromisoformat(now))
    assert got == (
        datetime.datetime.fromisoformat(f"{start}T00:00:00+00:00"),
        datetime.datetime.fromisoformat(f"{end}T00:00:00+00:00"),
    )
