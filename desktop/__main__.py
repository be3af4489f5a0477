"""Command-line entry point: ``techpal`` or ``python -m desktop``."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

from desktop.core.health import DEFAULT_SERVER_URL, normalize_server_url

if TYPE_CHECKING:
    from collections.abc import Sequence


def _server_url(value: str) -> str:
    try:
        return normalize_server_url(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def build_parser() -> argparse.ArgumentParser:
    """Describe the command line."""
    parser = argparse.ArgumentParser(prog="techpal", description="Tech Pal desktop assistant.")
    parser.add_argument(
        "--server",
        type=_server_url,
        default=None,
        metavar="URL",
        help=f"use this Tech Pal server instead of the saved one (else the saved one, or {DEFAULT_SERVER_URL})",
    )
    parser.add_argument(
        "--smoke-test",
        action="store_true",
        help="start, show the tray icon, wait for one health check, exit 0 (for packaging checks; saves nothing)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run the app.

    Args:
        argv: Arguments without the program name; ``None`` means ``sys.argv[1:]``.

    Returns:
        The process exit code.
    """
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _skip_httpx_cli()
    from desktop.app import run  # noqa: PLC0415 - after _skip_httpx_cli

    return run(args.server, smoke_test=args.smoke_test, argv=sys.argv[:1])


def _skip_httpx_cli() -> None:
    """Keep httpx from importing its command-line tool.

    ``import httpx`` loads ``httpx._main`` (click, rich, pygments: ~14 MB of memory and ~100 ms) whenever those
    happen to be installed, as in a development environment or a bundle built from one. The tray app never uses it;
    a ``None`` entry makes that optional import fail quietly, as it does where they are absent.
    """
    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


if __name__ == "__main__":
    sys.exit(main())
