"""``techpal-server report kpis``: the API's figures, as an aligned table on the terminal."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tests.fixtures.server import run_server_command
from tests.server.integration.reports.conftest import DAY, kpis

if TYPE_CHECKING:
    import datetime
    from pathlib import Path

    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from tests.fixtures.auth import TestUser, UserFactory
    from tests.server.integration.reports.conftest import Histories

FIGURES = ("answered", "confirmed", "escalated", "reopened", "unconfirmed", "pending")
HEADINGS = ("total", "category", "answer kind", "week of")


def tables(output: str) -> dict[str, dict[str, list[str]]]:
    """The tables of the command's output: heading → row label → cells (the header row checked, then dropped)."""
    blocks = output.strip().split("\n\n")[1:]  # after the lines that say what the report is
    found: dict[str, dict[str, list[str]]] = {}
    for heading, block in zip(HEADINGS, blocks, strict=True):
        header, *rows = block.splitlines()
        assert re.split(r"\s{2,}", header.strip())[-7:] == [*FIGURES, "confirmed rate"]
        found[heading] = {row.split()[0]: row.split()[1:] for row in rows}
    return found


def cells(counts: dict[str, Any]) -> list[str]:
    """How the table shows one entry of the API's answer."""
    rate = counts["confirmed_rate"]
    return [*(str(counts[name]) for name in FIGURES), "—" if rate is None else f"{rate:.1%}"]


async def test_the_table_shows_the_apis_figures(
    *,
    client: AsyncTestClient[Litestar],
    admin: TestUser,
    user_factory: UserFactory,
    histories: Histories,
    db_url: str,
    tmp_path: Path,
    now: datetime.datetime,
) -> None:
    owner = await user_factory()
    hour = DAY / 24
    await histories.answered(owner, now - 20 * DAY, fixed=hour, category="printer")
    await histories.answered(owner, now - 19 * DAY, fixed=hour, category="printer", model="gpt-4.1-mini")
    await histories.answered(owner, now - 12 * DAY, broken=hour, category="email")
    reopened = await histories.answered(owner, now - 11 * DAY, fixed=hour)
    await histories.message(reopened, "user", now - 10 * DAY)
    await histories.answered(owner, now - 9 * DAY, model="gpt-4.1-mini")
    start, end = (now - 27 * DAY).date().isoformat(), (now - 8 * DAY).date().isoformat()
    api = await kpis(client, admin, start=start, end=end)

    code, output = await run_server_command(tmp_path / "cli", db_url, "report", "kpis", "--from", start, "--to", end)

    assert code == 0, output
    assert f"Tickets first answered by the AI from {start} to {end} (UTC days, both included)" in output
    shown = tables(output)
    assert shown["total"] == {"total": cells(api["totals"])}
    assert shown["category"] == {c["category"]: cells(c) for c in api["by_category"]}
    assert shown["answer kind"] == {k["answer_kind"]: cells(k) for k in api["by_answer_kind"]}
    assert shown["week of"] == {w["week"]: cells(w) for w in api["by_week"]}
    assert api["totals"]["answered"] == 5
    assert shown["total"]["total"][-1] == "40.0%"


async def test_a_reversed_period_is_refused_before_the_database_is_reached(tmp_path: Path) -> None:
    code, output = await run_server_command(
        tmp_path / "cli",
        "postgresql://nobody@127.0.0.1:1/none",
        "report",
        "kpis",
        "--from",
        "2026-12-08",
        "--to",
        "2026-12-01",
    )

    assert code == 2
    assert "must not be before `from`" in output
