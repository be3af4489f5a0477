"""`make run`: start the server (embedded PostgreSQL and all), then the tray app against it when there is a display.

Ctrl+C (or closing the tray app) stops both; the server stops its database on the way out.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

BIN = Path(sys.executable).parent


def start_server() -> tuple[subprocess.Popen[str], str]:
    """Start ``techpal-server run``, echo its output, and return once it prints the URL it listens on."""
    # People read `make run` in a terminal: readable log lines unless they asked for JSON.
    env = {"TECHPAL_LOG_FORMAT": "console", **os.environ}
    server = subprocess.Popen(
        [str(BIN / "techpal-server"), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        env=env,
    )
    assert server.stdout is not None
    for line in server.stdout:
        sys.stdout.write(line)
        if match := re.search(r"listening on (\S+)", line):
            threading.Thread(target=_echo, args=(server,), daemon=True).start()
            return server, match.group(1)
    sys.exit(server.wait() or 1)


def _echo(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        sys.stdout.write(line)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    """Run until interrupted (Ctrl+C or SIGTERM)."""
    signal.signal(signal.SIGTERM, _interrupt)
    server, url = start_server()
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or sys.platform != "linux"
    client = None
    if has_display:
        print(f"Starting the Tech Pal tray app against {url} …", flush=True)
        client = subprocess.Popen([str(BIN / "techpal"), "--server", url])
    else:
        print("No display found: running the server alone. Press Ctrl+C to stop.", flush=True)
    try:
        if client is not None:
            client.wait()
        else:
            server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for process in (client, server):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (client, server):
            if process is not None:
                process.wait(timeout=40)
    return 0


if __name__ == "__main__":
    sys.exit(main())
