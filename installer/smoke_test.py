"""Smoke-test a Tech Pal desktop build: start it with ``--smoke-test`` and check it behaves.

Usage::

    python installer/smoke_test.py dist/techpal/techpal     # a frozen bundle
    python installer/smoke_test.py                          # python -m desktop from this interpreter

Passes when the program exits 0 within the timeout and writes nothing to stderr beyond an allowlist.
``--smoke-test`` shows the tray icon and waits for one health check, so a bundle missing Qt plugins,
httpx or its certificates fails here rather than on a user's machine.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

# Port 9 (discard) is closed on any sane machine: the health check fails fast, and that is fine.
DEFAULT_SERVER = "http://127.0.0.1:9"
DEFAULT_TIMEOUT_S = 20.0
# stderr lines that are known and harmless. Keep this short: anything else fails the smoke test.
ALLOWED_STDERR: tuple[re.Pattern[str], ...] = (
    re.compile(r"^\s*$"),
    # QSystemTrayIcon on the "offscreen" platform (headless CI without Xvfb): no native tray to watch.
    re.compile(r"QObject::connect: No such signal QPlatformNativeInterface::systemTrayWindowChanged"),
)


@dataclass(frozen=True, slots=True)
class SmokeResult:
    """What one smoke run did."""

    command: tuple[str, ...]
    returncode: int | None  # None: killed after the timeout
    stdout: str
    stderr: str
    seconds: float
    unexpected_stderr: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Exit code 0 and no unexpected stderr."""
        return self.returncode == 0 and not self.unexpected_stderr

    def report(self) -> str:
        """Human-readable summary for logs and assertion messages."""
        code = "timed out" if self.returncode is None else f"exit {self.returncode}"
        lines = [f"{'PASS' if self.ok else 'FAIL'}: {' '.join(self.command)} — {code} in {self.seconds:.1f}s"]
        if self.unexpected_stderr:
            lines.append("unexpected stderr:")
            lines += [f"  {line}" for line in self.unexpected_stderr]
        if not self.ok:
            lines += ["--- stdout ---", self.stdout.rstrip(), "--- stderr ---", self.stderr.rstrip()]
        return "\n".join(lines)


def default_command() -> list[str]:
    """``python -m desktop`` with the running interpreter."""
    return [sys.executable, "-m", "desktop"]


def unexpected_lines(stderr: str, allowed: Sequence[re.Pattern[str]] = ALLOWED_STDERR) -> tuple[str, ...]:
    """Return the stderr lines no allowlist pattern matches."""
    return tuple(line for line in stderr.splitlines() if not any(p.search(line) for p in allowed))


def run_smoke_test(
    command: Sequence[str] | None = None,
    *,
    server: str = DEFAULT_SERVER,
    timeout: float = DEFAULT_TIMEOUT_S,
    env: Mapping[str, str] | None = None,
    allowed: Sequence[re.Pattern[str]] = ALLOWED_STDERR,
) -> SmokeResult:
    """Run ``command --smoke-test --server SERVER`` and collect the outcome.

    Args:
        command: Program and leading arguments; defaults to ``python -m desktop``.
        server: Server URL to check (an unreachable one is fine).
        timeout: Seconds before the program is killed and the run fails.
        env: Environment; defaults to this process's.
        allowed: Patterns of tolerated stderr lines.

    Returns:
        The result; check ``.ok``.
    """
    argv = [*(command or default_command()), "--smoke-test", "--server", server]
    started = time.monotonic()
    process = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(env) if env is not None else None,
    )
    returncode: int | None
    try:
        stdout, stderr = process.communicate(timeout=timeout)
        returncode = process.returncode
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        returncode = None
    return SmokeResult(
        command=tuple(argv),
        returncode=returncode,
        stdout=stdout,
        stderr=stderr,
        seconds=time.monotonic() - started,
        unexpected_stderr=unexpected_lines(stderr, allowed),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line; returns 0 on pass, 1 on failure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("command", nargs="*", help="program to test (default: python -m desktop)")
    parser.add_argument("--server", default=DEFAULT_SERVER, help=f"server URL (default: {DEFAULT_SERVER})")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds (default: %(default)s)")
    parser.add_argument("--allow", action="append", default=[], metavar="REGEX", help="also tolerate stderr lines")
    args = parser.parse_args(argv)
    allowed = (*ALLOWED_STDERR, *(re.compile(p) for p in args.allow))
    result = run_smoke_test(
        args.command or None, server=args.server, timeout=args.timeout, env=os.environ, allowed=allowed
    )
    print(result.report())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
