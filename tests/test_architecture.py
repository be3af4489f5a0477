"""The layering contracts in pyproject.toml ([tool.importlinter]) hold."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports() -> str:
    # The console script sits next to the interpreter in a virtualenv; fall back to PATH.
    sibling = Path(sys.executable).with_name("lint-imports")
    found = str(sibling) if sibling.exists() else shutil.which("lint-imports")
    assert found, "lint-imports not found; install the dev dependency group"
    return found


def test_import_contracts_are_kept() -> None:
    result = subprocess.run(
        [_lint_imports(), "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout  # the summary line "Contracts: N kept, 0 broken."
    assert " 0 broken" in result.stdout
