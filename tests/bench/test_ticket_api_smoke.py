"""``bench/ticket_api.py`` still runs end to end.

A tiny run (no screenshots) on this test's database prints every case, each round's ratio and their median, and the
API key's cost beside the session token's.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parents[2]
REQUESTS = 20


async def test_tiny_bench_run_creates_every_ticket_and_prints_the_ratio(db_url: str, tmp_path: Path) -> None:
    command = [
        sys.executable,
        str(ROOT / "bench" / "ticket_api.py"),
        *("--url", db_url, "--requests", str(REQUESTS), "--warmup", "4", "--clients", "4"),
        *("--screenshot-requests", "0"),
    ]
    with anyio.fail_after(120):
        result = await anyio.run_process(command, cwd=ROOT, env={**os.environ, "TMPDIR": str(tmp_path)}, check=False)
    out = result.stdout.decode()

    assert result.returncode == 0, out + result.stderr.decode()
    for case in ("bare Litestar INSERT (baseline)", "ours: description only", "ours: description only, API key"):
        row = re.search(rf"^{re.escape(case)}\s+(\d+)\s+(\d+)\s+(\S+)", out, re.MULTILINE)
        assert row, out
        assert row.groups() == (str(REQUESTS), str(REQUESTS), "-"), row.group(0)  # every request a 201
    assert re.search(r"ratio ours/bare \(description only\), median of the rounds: \d+\.\d\d×", out), out
    rounds = re.search(r"\(rounds: ([\d., ]+);", out)
    assert rounds, out
    assert len(rounds.group(1).split(", ")) == 4, out  # the default --rounds
    assert re.search(r"CPU per create with an API key / with a session .*: \d+\.\d{3}×", out), out
