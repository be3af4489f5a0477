"""The one transaction rule (ADR 9) holds in the code: only ``server/db`` opens, commits or ends transactions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parents[4] / "server"
# Where transactions are made: the named helpers, the migrations, and the embedded cluster's supervisor.
ALLOWED = SERVER / "db"
TRANSACTION_CALLS = {"commit", "rollback", "begin", "connect"}


def violations(source: str) -> list[str]:
    """Each place in ``source`` that steps around the rule, as ``line: what``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in TRANSACTION_CALLS:
                owner = func.value.id if isinstance(func.value, ast.Name) else ""
                if owner != "asyncpg":  # the event hub's LISTEN connection is not a transaction
                    found.append(f"{node.lineno}: .{func.attr}()")
            if isinstance(func, ast.Name) and func.id == "AsyncSession":
                found.append(f"{node.lineno}: AsyncSession()")
            found += [f"{node.lineno}: isolation_level" for kw in node.keywords if kw.arg == "isolation_level"]
        if isinstance(node, ast.Dict) and any(
            isinstance(key, ast.Constant) and key.value == "isolation_level" for key in node.keys
        ):
            found.append(f"{node.lineno}: isolation_level")
    return found


@pytest.mark.parametrize(
    "source",
    [
        "async def f(db):\n    await db.commit()\n",
        "async def f(engine):\n    async with engine.begin() as c:\n        pass\n",
        "async def f(engine):\n    async with engine.connect() as c:\n        pass\n",
        "async def f(db):\n    await db.rollback()\n",
        "def f(engine):\n    return AsyncSession(engine)\n",
        "async def f(db):\n    await db.connection(execution_options={'isolation_level': 'AUTOCOMMIT'})\n",
    ],
)
def test_the_check_sees_each_way_around_the_rule(source: str) -> None:
    assert violations(source)


def test_no_module_outside_server_db_opens_commits_or_ends_a_transaction() -> None:
    offenders = {
        str(path.relative_to(SERVER)): found
        for path in sorted(SERVER.rglob("*.py"))
        if ALLOWED not in path.parents and (found := violations(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}
