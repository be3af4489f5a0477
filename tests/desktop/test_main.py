"""The command line of ``techpal`` / ``python -m desktop``."""

from __future__ import annotations

import pytest

from desktop.__main__ import build_parser
from desktop.core.health import DEFAULT_SERVER_URL


def test_defaults() -> None:
    args = build_parser().parse_args([])

    assert args.server == DEFAULT_SERVER_URL
    assert args.smoke_test is False


def test_server_and_smoke_test_options() -> None:
    args = build_parser().parse_args(["--server", "https://help.example.com/", "--smoke-test"])

    assert args.server == "https://help.example.com"
    assert args.smoke_test is True


def test_a_bad_server_url_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["--server", "localhost:8000"])

    assert exit_info.value.code == 2
    assert "--server: not an http(s) URL" in capsys.readouterr().err
