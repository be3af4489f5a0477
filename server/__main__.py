"""``techpal-server``: run the server, migrate its database, manage users' roles and the knowledge base."""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import click

from server.settings import Settings, SettingsError, get_settings

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType

__all__ = ["cli", "main"]


def _load_settings() -> Settings:
    try:
        return get_settings()
    except SettingsError as exc:
        _fail(str(exc))


class _Stop(BaseException):
    """Raised by our SIGINT/SIGTERM handler so ``finally`` blocks (stopping the database) run."""


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    # uvicorn handles the signals while it serves and re-raises them after its graceful shutdown; outside that
    # window (database start, migrations) this handler turns them into an orderly unwind.
    def handler(signum: int, _frame: FrameType | None) -> None:
        raise _Stop(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    except _Stop:
        click.echo("Tech Pal server stopped.", err=True)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _fail(message: str) -> NoReturn:
    click.echo(f"techpal-server: {message}", err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Tech Pal server. Configure it with TECHPAL_* environment variables (see docs/configuration.md)."""


@cli.command()
def run() -> None:
    """Start the server (and, unless TECHPAL_DATABASE_URL is set, its embedded PostgreSQL)."""
    from server.lib.log import configure_logging  # noqa: PLC0415 - keep `--help` instant
    from server.runtime import DataDirInUse, database, prepare, serve  # noqa: PLC0415

    settings = _load_settings()
    configure_logging(settings.log)
    settings = prepare(settings)

    def announce(ready: Settings) -> None:
        url = ready.server.listen_url
        click.echo(f"Tech Pal server listening on {url}  (API docs: {url}/schema)")

    try:
        with _stop_on_signals(), database(settings, serving=True) as ready:
            serve(ready, announce=announce)
    except DataDirInUse as exc:
        raise click.ClickException(str(exc)) from None


@cli.command()
@click.option("--concurrency", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Jobs this process runs at once (screenshots are read two at a time per process).")  # fmt: skip
def worker(concurrency: int) -> None:
    """Run background jobs (reading screenshots, growing the knowledge base, exports) until stopped."""
    from server.lib.log import configure_logging  # noqa: PLC0415
    from server.runtime import work  # noqa: PLC0415

    settings = _load_settings()
    configure_logging(settings.log)

    def announce() -> None:
        click.echo(f"Tech Pal worker running ({concurrency} at a time)")

    with _stop_on_signals():
        work(settings, concurrency=concurrency, announce=announce)


@cli.command()
def migrate() -> None:
    """Migrate the database to the newest schema and exit."""
    from server.lib.log import configure_logging  # noqa: PLC0415
    from server.runtime import database, prepare  # noqa: PLC0415

    settings = _load_settings()
    configure_logging(settings.log)
    with _stop_on_signals(), database(prepare(settings)):
        click.echo("Database is at the newest schema.")


def _add_kb_commands() -> None:
    from server.domain.knowledge.cli import kb  # noqa: PLC0415 - the group itself is light; commands import lazily

    cli.add_command(kb)


_add_kb_commands()


def _add_user_commands() -> None:
    from server.domain.accounts.cli import users  # noqa: PLC0415 - the group is light; commands import lazily

    cli.add_command(users)


_add_user_commands()


def _add_privacy_commands() -> None:
    from server.domain.privacy.cli import data, policy  # noqa: PLC0415 - the groups are light; commands import lazily

    cli.add_command(data)
    cli.add_command(policy)


_add_privacy_commands()


def _add_report_commands() -> None:
    from server.domain.reports.cli import report  # noqa: PLC0415 - the group is light; commands import lazily

    cli.add_command(report)


_add_report_commands()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="techpal-server")


if __name__ == "__main__":
    main()
