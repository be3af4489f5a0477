"""``docs/privacy.md`` keeps a row per privacy promise, and every test it names as proof exists."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRIVACY_DOC = ROOT / "docs" / "privacy.md"
COLUMNS = ["Promise", "Where it is implemented", "Proved by"]
# The privacy policy's promises (issue 15), one table row each: deleting a row fails the suite.
PROMISES = (
    "Registration data",
    "Google sign-in: name and e-mail only",
    "Two-step sign-in",
    "Password hashing",
    "Ticket data",
    "AI processing",
    "API logs",
    "Anonymized analytics",
    "No card data",
    "Transactional mail only",
    "Rate limits",
    "Abuse detection",
    "Vision analysis",
    "Resolutions linked to the account",
    "Anonymized knowledge-base growth",
    "No training use",
    "TLS",
    "Database access",
    "Hashed API keys",
    "Retention: deleted accounts, 30 days",
    "Retention: ended sessions and spent tokens, 30 days",
    "Retention: rate-limit windows",
    "Retention: idempotency keys, 24 h",
    "Retention: exports, 7 days",
    "Retention: outbox mails, 30 days",
    "Retention: orphan screenshot files",
    "Retention: background jobs",
    "Retention: Stripe events, 13 months",
    "Retention: tickets and screenshots while the account is active",
    "Deletion",
    "Sharing only with the named processors",
    "Essential cookies only",
    "Access",
    "Correction",
    "Export",
    "Objection",
    "18+",
    "Policy-change notices",
)
TEST_REFERENCE = re.compile(r"\b(tests/[\w/]+\.py)::(\w+)")


def table_rows() -> list[list[str]]:
    """The cells of the promises table, header first (the first Markdown table of the document)."""
    rows: list[list[str]] = []
    for line in PRIVACY_DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break
    return rows


def body_rows() -> list[list[str]]:
    """The table's rows under the header, without the separator line (``|---|---|``)."""
    return [row for row in table_rows()[1:] if not set("".join(row)) <= set("-: ")]


@cache
def module_level_functions(path: str) -> frozenset[str]:
    """Names of the functions (``def`` and ``async def``) at the top level of the file ``path`` (repo-relative)."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"), filename=path)
    return frozenset(n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef))


def referenced_tests() -> list[tuple[str, str]]:
    """Every ``tests/….py::test_name`` the document names, in order, each once."""
    found = TEST_REFERENCE.findall(PRIVACY_DOC.read_text(encoding="utf-8"))
    return list(dict.fromkeys(found))


def test_the_table_has_the_three_columns() -> None:
    assert table_rows()[0] == COLUMNS


def test_every_promise_has_its_row_once() -> None:
    names = [row[0] for row in body_rows()]

    assert len(names) == len(set(names)), "a promise has two rows"
    assert [p for p in PROMISES if p not in names] == [], "a promise's row is missing"
    assert [n for n in names if n not in PROMISES] == [], "a row for a promise this test does not know: add it here"


@pytest.mark.parametrize("promise", PROMISES)
def test_each_row_names_a_test_or_says_that_none_proves_it(promise: str) -> None:
    rows = {row[0]: row for row in body_rows()}
    assert promise in rows, f"no row for {promise}"
    row = rows[promise]
    assert len(row) == len(COLUMNS), f"{promise}: {len(row)} cells (a `|` inside a cell splits it)"
    where, proved_by = row[1], row[2]

    assert where, f"{promise}: say where it is implemented, or that it is not built"
    assert TEST_REFERENCE.search(proved_by) or "No test" in proved_by, f"{promise}: name a test, or say 'No test'"


def test_the_document_names_tests() -> None:
    assert len(referenced_tests()) > len(PROMISES)


@pytest.mark.parametrize(("path", "name"), referenced_tests(), ids=[f"{p}::{n}" for p, n in referenced_tests()])
def test_each_named_test_exists(path: str, name: str) -> None:
    assert (ROOT / path).is_file(), f"{path} does not exist"
    assert name in module_level_functions(path), f"{path} defines no test function {name}"
