"""``techpal-server report kpis``: the AI's confirmed results as a table on the terminal.

It reads the running server's embedded database (and leaves it running) or starts it for the command; with
``TECHPAL_DATABASE_URL`` it reads that database. The figures are those of ``GET /api/v1/admin/kpis``.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from collections.abc import Sequence

    from server.context import AppContext
    from server.domain.reports.kpis import Counts, KpiReport

__all__ = ["kpi_table", "report"]

DAY = click.DateTime(["%Y-%m-%d"])
COLUMNS = ("answered", "confirmed", "escalated", "reopened", "unconfirmed", "pending", "confirmed rate")


def _cells(counts: Counts) -> list[str]:
    rate = counts.confirmed_rate
    numbers = (counts.answered, counts.confirmed, counts.escalated, counts.reopened, counts.unconfirmed)
    return [*(str(n) for n in numbers), str(counts.pending), "—" if rate is None else f"{rate:.1%}"]


def _table(heading: str, rows: Sequence[tuple[str, Counts]]) -> list[str]:
    """One aligned table: the label column left-aligned, the figures right-aligned."""
    cells = [[label, *_cells(counts)] for label, counts in rows]
    header = [heading, *COLUMNS]
    widths = [max(len(row[i]) for row in [header, *cells]) for i in range(len(header))]

    def line(row: list[str]) -> str:
        figures = (cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True))
        return "  ".join([row[0].ljust(widths[0]), *figures]).rstrip()

    return [line(header), *(line(row) for row in cells)]


def kpi_table(report: KpiReport) -> str:
    """The report as the terminal shows it: totals, then by category, by answer kind and by week."""
    as_of = report.as_of.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Tickets first answered by the AI from {report.period.start} to {report.period.end} (UTC days, both "
        f"included), as of {as_of}.",
        'Confirmed: the user said "Fixed it" within 3 days of the AI\'s answer and did not ask again within 7 days.',
        "",
        *_table("", [("total", report.totals)]),
        "",
        *_table("category", report.by_category),
        "",
        *_table("answer kind", report.by_answer_kind),
        "",
        *_table("week of", [(str(week), counts) for week, counts in report.by_week]),
    ]
    return "\n".join(lines)


@click.group()
def report() -> None:
    """Reports for admins (docs/kpis.md)."""


@report.command()
@click.option("--from", "start", type=DAY, help="First day, UTC (default: 29 days before --to).")
@click.option("--to", "end", type=DAY, help="Last day, included, UTC (default: today).")
def kpis(start: datetime.datetime | None, end: datetime.datetime | None) -> None:
    """How many problems the AI really solved: tickets first answered in the period, by confirmed outcome."""
    from server.db.transactions import session_of_its_own  # noqa: PLC0415
    from server.domain.reports.services import Reports, period_of  # noqa: PLC0415
    from server.lib.exceptions import ValidationFailed  # noqa: PLC0415
    from server.runtime import command_settings, run_with_context  # noqa: PLC0415

    first = start.date() if start else None
    last = end.date() if end else None
    try:  # checked before the database is started or reached
        period_of(first, last, datetime.datetime.now(datetime.UTC).date())
    except ValidationFailed as exc:
        raise click.BadParameter(exc.detail) from None

    async def work(ctx: AppContext) -> KpiReport:
        async with session_of_its_own(ctx.engine) as db:  # a read: nothing is written
            return await Reports(db, ctx.clock).kpis(first, last)

    click.echo(kpi_table(run_with_context(command_settings(), work)))
