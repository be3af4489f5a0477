"""The plan catalogue: a TOML file (shipped default or ``TECHPAL_BILLING_PLANS``), validated when settings load.

Plans live in configuration, not code, so an operator changes prices and quotas without a release. The one plan
without a Stripe lookup key is the free plan every user has until they subscribe; ``self_hosted`` is not in the
file: it is what everybody gets when billing is off.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_PLANS_FILE", "SELF_HOSTED", "Plan", "PlanCatalogue", "load_catalogue"]

DEFAULT_PLANS_FILE = Path(__file__).with_name("plans.toml")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_LOOKUP_KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,200}$")


@dataclass(frozen=True, slots=True)
class Plan:
    """One plan: ``quota`` answers per period (``None`` = unlimited); ``lookup_key`` of its Stripe Price."""

    key: str
    name: str
    price: str
    quota: int | None
    lookup_key: str | None

    @property
    def paid(self) -> bool:
        """Whether the plan is sold through Stripe (the free plan is not)."""
        return self.lookup_key is not None


SELF_HOSTED = Plan(key="self_hosted", name="Self-hosted", price="", quota=None, lookup_key=None)


@dataclass(frozen=True, slots=True)
class PlanCatalogue:
    """Every plan, in file order, plus the free one picked out."""

    plans: tuple[Plan, ...]

    @property
    def free(self) -> Plan:
        """The plan of users without a paid subscription."""
        return next(plan for plan in self.plans if not plan.paid)

    def get(self, key: str) -> Plan | None:
        """The plan called ``key``, if any."""
        return next((plan for plan in self.plans if plan.key == key), None)

    def by_lookup_key(self, lookup_key: str | None) -> Plan | None:
        """The paid plan selling the Stripe Price with ``lookup_key``."""
        return next((p for p in self.plans if lookup_key is not None and p.lookup_key == lookup_key), None)


def _plan(key: str, raw: Any) -> tuple[Plan | None, list[str]]:
    where = f"plan {key!r}"
    if not isinstance(raw, dict):
        return None, [f"{where}: expected a table"]
    problems = []
    if not _KEY.match(key) or key == SELF_HOSTED.key:
        problems.append(f"{where}: names are lower-case letters, digits and _ (and not {SELF_HOSTED.key!r})")
    unknown = set(raw) - {"name", "price", "monthly_resolutions", "lookup_key"}
    if unknown:
        problems.append(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    name, price = raw.get("name"), raw.get("price", "")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{where}: `name` must be a non-empty string")
    if not isinstance(price, str):
        problems.append(f'{where}: `price` must be a string such as "€9 / month"')
    quota = raw.get("monthly_resolutions")
    if quota is not None and (not isinstance(quota, int) or isinstance(quota, bool) or quota < 0):
        problems.append(f"{where}: `monthly_resolutions` must be a whole number ≥ 0 (omit it for unlimited)")
    lookup_key = raw.get("lookup_key")
    if lookup_key is not None and (not isinstance(lookup_key, str) or not _LOOKUP_KEY.match(lookup_key)):
        problems.append(f"{where}: `lookup_key` must be a Stripe Price lookup key (letters, digits, _ . -)")
    if problems:
        return None, problems
    return Plan(key=key, name=str(name).strip(), price=str(price), quota=quota, lookup_key=lookup_key), []


def load_catalogue(path: Path = DEFAULT_PLANS_FILE) -> PlanCatalogue:
    """Read and validate the catalogue at ``path``.

    Raises:
        ValueError: naming every problem in the file, so one start-up shows them all.
    """
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not valid TOML: {exc}") from None
    table = document.get("plans")
    if not isinstance(table, dict) or not table:
        raise ValueError(f"{path}: expected at least one [plans.<name>] table")
    plans: list[Plan] = []
    problems: list[str] = []
    for key, raw in table.items():
        plan, errors = _plan(key, raw)
        problems += errors
        if plan is not None:
            plans.append(plan)
    if not problems:
        free = [plan.key for plan in plans if not plan.paid]
        if len(free) != 1:
            problems.append(f"exactly one plan must have no `lookup_key` (the free plan); found {free or 'none'}")
        lookup_keys = [plan.lookup_key for plan in plans if plan.paid]
        if len(lookup_keys) != len(set(lookup_keys)):
            problems.append("two plans share a `lookup_key`")
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    return PlanCatalogue(tuple(plans))
