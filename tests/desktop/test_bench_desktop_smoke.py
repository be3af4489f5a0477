"""``bench/desktop.py`` still runs end to end on the X server: a tiny run prints every figure and the verdicts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.xserver, pytest.mark.slow]


def test_a_tiny_bench_run_prints_every_measure(xserver: str) -> None:
    command = [sys.executable, str(ROOT / "bench" / "desktop.py"), "--runs", "2", "--launches", "1", "--idle", "1"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)
    out = result.stdout

    assert result.returncode == 0, out + result.stderr
    assert "encoding chosen for the text screen: lossless WebP" in out  # the text screen took the text path
    for measure in (
        "capture→redact→encode p95",
        "encoded size (text screen)",
        "launch → tray icon (first)",
        "launch → tray icon (median)",
        "idle RSS after 1 s",
    ):
        assert re.search(rf"^{re.escape(measure)}\s+\d+(\.\d+)? (ms|KB|s|MB)\s+≤ .+\s+(pass|FAIL)$", out, re.M), out
    assert re.search(r"baseline: the bare tray icon, RSS \d+\.\d MB", out), out
