"""The command line of ``techpal`` / ``python -m desktop``."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from desktop.__main__ import build_parser
from desktop.core.health import DEFAULT_SERVER_URL

if TYPE_CHECKING:
    from pathlib import Path


def test_defaults_use_the_saved_server() -> None:
    args = build_parser().parse_args([])

    assert args.server is None  # the saved one (or, on first use, the sign-in dialog asks)
    assert args.smoke_test is False
    assert DEFAULT_SERVER_URL in build_parser().format_help()


def test_server_and_smoke_test_options() -> None:
    args = build_parser().parse_args(["--server", "https://help.example.com/", "--smoke-test"])

    assert args.server == "https://help.example.com"
    assert args.smoke_test is True


def test_a_bad_server_url_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["--server", "localhost:8000"])

    assert exit_info.value.code == 2
    assert "--server: not an http(s) URL" in capsys.readouterr().err


def test_the_idle_tray_imports_nothing_heavy() -> None:
    """Keyring, Pillow, Markdown, the windows and httpx's command-line tool load only when needed (memory, start-up)."""
    code = (
        "import sys\n"
        "from desktop.__main__ import _skip_httpx_cli\n"
        "_skip_httpx_cli()\n"
        "import desktop.app\n"
        "heavy = ('keyring', 'PIL', 'markdown_it', 'rich', 'click', 'pygments', 'desktop.ui.settings_dialog',\n"
        "         'desktop.ui.sign_in_dialog', 'desktop.ui.subscription_window', 'desktop.services.secrets')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)

    assert out.stdout.strip() == "[]"


def test_a_first_launch_with_an_unreachable_server_loads_neither_httpx_nor_msgspec(tmp_path: Path) -> None:
    """Idle without a session, the tray checks the server with the standard library: no API client, ~10 MB less."""
    code = (
        "import sys\n"
        "from desktop.__main__ import _skip_httpx_cli\n"
        "_skip_httpx_cli()\n"
        "from PySide6.QtCore import QTimer\n"
        "from desktop.app import TechPal, ensure_application\n"
        "app = ensure_application(['techpal'])\n"
        "techpal = TechPal(app, 'http://127.0.0.1:9')\n"
        "results = []\n"
        "techpal.checker.checked.connect(results.append)\n"
        "techpal.checker.checked.connect(app.quit)\n"
        "QTimer.singleShot(15_000, app.quit)\n"
        "techpal.start()\n"
        "app.exec()\n"
        "print(techpal.session.state, [status.state for status in results])\n"
        "print(sorted(m for m in ('httpx', 'msgspec', 'desktop.core.api.client') if m in sys.modules))\n"
        "techpal.shutdown()\n"
    )
    home = tmp_path / "home"
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_STATE_HOME": str(home / "state"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True, env=env)

    assert out.stdout.splitlines() == ["signed_out [<ServerState.UNREACHABLE: 'unreachable'>]", "[]"]
