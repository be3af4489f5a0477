"""``techpal-server data purge`` and ``techpal-server policy publish``: retention on demand, policy notices.

Both use the running server's embedded database (and leave it running) or start it for the command; with
``TECHPAL_DATABASE_URL`` they work against that database.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from server.context import AppContext

__all__ = ["data", "policy"]

MAX_SUMMARY = 4000


def _as_of(value: str | None) -> datetime.datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO-8601 time (e.g. 2027-01-31T12:00:00Z)") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)


@click.group()
def data() -> None:
    """Apply the data-retention rules (docs/privacy.md)."""


@data.command()
@click.option("--as-of", "as_of", metavar="ISO-8601", help="Apply the rules as if it were this time (default: now).")
def purge(as_of: str | None) -> None:
    """Run every retention rule once and print how much each removed (the server also does this hourly)."""
    from server.domain.privacy.retention import retention_round  # noqa: PLC0415
    from server.runtime import command_settings, run_with_context  # noqa: PLC0415

    moment = _as_of(as_of)

    async def work(ctx: AppContext) -> list[tuple[str, int]]:
        results = await retention_round(ctx.lifecycle, moment, wait=True)  # after a server's round, never beside it
        return [(r.rule, r.removed) for r in results or []]

    for rule, removed in run_with_context(command_settings(), work):
        click.echo(f"{rule}: {removed} removed")


@click.group()
def policy() -> None:
    """Publish privacy-policy versions."""


@policy.command()
@click.argument("version")
@click.option(
    "--summary-file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A plain-text file: what changed, in a few sentences (mailed and shown in the app).",
)
@click.option("--url", default=None, help="Where the whole policy can be read.")
def publish(version: str, summary_file: Path, url: str | None) -> None:
    """Record policy VERSION and mail every verified account a notice with its summary."""
    from server.domain.privacy.policy import PolicyVersionExists, publish_policy  # noqa: PLC0415
    from server.runtime import command_settings, run_with_context  # noqa: PLC0415

    summary = summary_file.read_text(encoding="utf-8").strip()
    if not summary or len(summary) > MAX_SUMMARY or not 0 < len(version) <= 64:
        raise click.BadParameter(f"the summary must hold 1–{MAX_SUMMARY} characters and VERSION 1–64")

    async def work(ctx: AppContext) -> tuple[int, int]:
        return await publish_policy(ctx.lifecycle, version, summary, url)

    try:
        mailed, failed = run_with_context(command_settings(), work)
    except PolicyVersionExists as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Policy {version} published; notice mailed to {mailed} accounts ({failed} failed).")
