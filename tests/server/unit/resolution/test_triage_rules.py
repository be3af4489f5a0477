"""Rules triage (retrieval-only mode) on a small labelled set, and the user's choice winning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.domain.resolution.triage import CATEGORIES, PRIORITIES, decide, rule_category, rule_priority

CASES = [json.loads(line) for line in (Path(__file__).parent / "data" / "triage_cases.jsonl").read_text().splitlines()]
CATEGORY_FLOOR = 0.85
PRIORITY_FLOOR = 0.85


def test_the_fixture_is_labelled_with_known_values() -> None:
    assert len(CASES) >= 30
    assert {c["category"] for c in CASES} == set(CATEGORIES)
    assert {c["priority"] for c in CASES} == set(PRIORITIES)


def test_category_rules_meet_the_accuracy_floor() -> None:
    wrong = [c for c in CASES if rule_category(c["text"], c["groups"]) != c["category"]]
    accuracy = 1 - len(wrong) / len(CASES)
    assert accuracy >= CATEGORY_FLOOR, [(c["text"], rule_category(c["text"], c["groups"])) for c in wrong]


def test_priority_rules_meet_the_accuracy_floor() -> None:
    wrong = [c for c in CASES if rule_priority(c["text"]) != c["priority"]]
    accuracy = 1 - len(wrong) / len(CASES)
    assert accuracy >= PRIORITY_FLOOR, [(c["text"], rule_priority(c["text"])) for c in wrong]


@pytest.mark.parametrize(
    ("text", "priority"),
    [
        ("printer jammed", "normal"),
        ("not urgent at all, printer jammed", "low"),
        ("urgent: printer jammed", "high"),
        ("outage: nobody can print", "urgent"),
    ],
)
def test_priority_is_normal_unless_the_text_says_otherwise(text: str, priority: str) -> None:
    assert rule_priority(text) == priority


def test_product_groups_decide_when_no_keyword_does() -> None:
    assert rule_category("it shows a strange message", ["exchange-email"]) == "email"
    assert rule_category("it shows a strange message", []) == "other"


def test_the_users_choice_wins() -> None:
    assert decide("printer", None, "email", "high").category == "printer"
    triage = decide("printer", None, "email", "high")
    assert (triage.category_by_ai, triage.priority, triage.priority_by_ai) == (False, "high", True)
    both = decide("network", "low", "email", "urgent")
    assert (both.category, both.priority, both.category_by_ai, both.priority_by_ai) == ("network", "low", False, False)
