"""The screenshot path: create latency with the desktop's OCR lines, and server OCR throughput with 1 and 2 workers.

    nice .venv/bin/python bench/screenshot_pipeline.py [--clients 50] [--creates 200] [--ocr-tickets 16]

Without ``--url`` it starts a throwaway embedded PostgreSQL (migrated). One web process serves the API with no job
worker of its own (``TECHPAL_INPROCESS_WORKER=false``, as in a deployment with worker processes), so the create
figures measure the web path alone:

1. **Create latency.** ``--clients`` keep-alive clients (one account each) send ``--creates`` creates between them,
   closed loop, each with one distinct rendered 1920×1080 desktop PNG and its ``ocr_0`` lines (what the desktop
   sends). Baseline in the same run, interleaved in two rounds (ABBA): description-only creates. Target: p95 ≤ 300 ms
   and no ``503 busy``. The jobs the creates queue are then drained by one worker (not timed).
2. **OCR throughput.** ``--ocr-tickets`` creates *without* OCR lines queue that many server-side readings; then
   ``techpal-server worker`` processes (1, then 2 on a fresh batch) drain the queue, timed from their start to the
   last screenshot read. Reported as screenshots per second and the 2-vs-1 ratio.

The figures go in ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ticket_api import (
    CLIENT_OCR,
    SECRET_KEY,
    Meters,
    Result,
    find_postmaster,
    load,
    merged,
    on_a_database,
    ours_request,
    pct,
    render_screens,
    sign_up,
    start_server,
)

TARGET_P95_MS = 300
UNREAD = "SELECT count(*) FROM ticket_screenshots WHERE processed_at IS NULL"


async def _unread(url: str) -> int:
    import asyncpg  # type: ignore[import-untyped]  # noqa: PLC0415

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        return int(await connection.fetchval(UNREAD))
    finally:
        await connection.close()


def drain(url: str, data_dir: Path, workers: int, tmp: Path) -> float:
    """Start ``workers`` ``techpal-server worker`` processes; seconds until no screenshot is unread."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TECHPAL_")}
    env.update(
        TECHPAL_DATABASE_URL=url.replace("+asyncpg", ""),
        TECHPAL_DATA_DIR=str(tmp / "worker-data"),
        TECHPAL_BLOB_URL=str(data_dir / "blobs"),
        TECHPAL_SECRET_KEY=SECRET_KEY,
        TECHPAL_LOG_LEVEL="warning",
    )
    started = time.perf_counter()
    processes = [
        subprocess.Popen([sys.executable, "-m", "server", "worker"], env=env, stdout=subprocess.DEVNULL)
        for _ in range(workers)
    ]
    try:
        while asyncio.run(_unread(url)):
            time.sleep(0.1)
        return time.perf_counter() - started
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=60)


def orchestrate(url: str, args: argparse.Namespace, tmp: Path) -> None:
    data_dir = tmp / "data"
    web = start_server("web", url, data_dir)
    try:
        users = sign_up(f"http://127.0.0.1:{web.port}", data_dir / "outbox", args.clients)
        started = time.perf_counter()
        screens = render_screens(args.creates + 2 * args.ocr_tickets)
        print(f"rendered {len(screens)} 1920×1080 desktops in {time.perf_counter() - started:.1f} s", flush=True)
        with_lines, plain = screens[: args.creates], screens[args.creates :]
        postmaster = find_postmaster(url)
        meters = Meters(web.process.pid, postmaster)
        chunks = [with_lines[i :: args.clients] for i in range(args.clients)]
        screenshot_payloads = [
            [ours_request(web.port, users[i], png, ocr=CLIENT_OCR) for png in chunk] for i, chunk in enumerate(chunks)
        ]
        text_payloads = [[ours_request(web.port, user)] for user in users]

        async def measure() -> tuple[Result, Result]:
            await load("warm-up", web.port, text_payloads, 200, clients=args.clients, meters=meters)
            half = args.creates // 2
            rounds: dict[str, list[Result]] = {"text": [], "shot": []}
            for order in (("text", "shot"), ("shot", "text")):
                for case in order:
                    payloads = text_payloads if case == "text" else screenshot_payloads
                    label = "description only" if case == "text" else "+ 1920×1080 PNG and its OCR lines"
                    rounds[case].append(await load(label, web.port, payloads, half, clients=args.clients,
                                                   meters=meters))  # fmt: skip
            return merged(rounds["text"]), merged(rounds["shot"])

        text, shot = asyncio.run(measure())
        for result in (text, shot):
            print(
                f"{result.label:<36} {result.ok:>4} × 201, statuses {dict(result.statuses)}: "
                f"p50 {pct(result.latencies_ms, 50):.0f} ms, p95 {pct(result.latencies_ms, 95):.0f} ms, "
                f"p99 {pct(result.latencies_ms, 99):.0f} ms; "
                f"web CPU per create {result.server_cpu_s / result.ok * 1000:.1f} ms",
                flush=True,
            )
        p95 = pct(shot.latencies_ms, 95)
        busy = shot.statuses[503]
        verdict = "meets" if p95 <= TARGET_P95_MS and not busy else "MISSES"
        print(f"create with a screenshot: p95 {p95:.0f} ms, {busy} × 503 — {verdict} the ≤ {TARGET_P95_MS} ms target")
        queued = asyncio.run(_unread(url))
        print(f"draining the {queued} queued readings (no OCR: the lines came along) with one worker …", flush=True)
        print(f"  {queued / drain(url, data_dir, 1, tmp):.1f} screenshots/s", flush=True)

        rates = []
        for workers, batch in ((1, plain[: args.ocr_tickets]), (2, plain[args.ocr_tickets :])):
            payloads = [[ours_request(web.port, users[i % len(users)], png)] for i, png in enumerate(batch)]
            asyncio.run(load("queue", web.port, payloads, len(batch), clients=len(batch), meters=meters))
            seconds = drain(url, data_dir, workers, tmp)
            rates.append(len(batch) / seconds)
            print(f"server OCR, {workers} worker process(es): {len(batch)} screenshots in {seconds:.1f} s = "
                  f"{rates[-1]:.2f}/s", flush=True)  # fmt: skip
        print(f"OCR throughput 2 workers / 1 worker: {rates[1] / rates[0]:.2f}×")
    finally:
        web.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--creates", type=int, default=200, help="measured creates per case (two rounds each)")
    parser.add_argument("--ocr-tickets", type=int, default=16, help="screenshots read by the server, per worker count")
    parser.add_argument("--url", help="an empty migrated database (postgresql+asyncpg://…) instead of a throwaway one")
    args = parser.parse_args()
    on_a_database(args.url, lambda url, tmp: orchestrate(url, args, tmp))


if __name__ == "__main__":
    main()
