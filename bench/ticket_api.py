"""Ticket create throughput and p99 over real HTTP at 50 concurrent clients, against a bare Litestar endpoint.

    nice .venv/bin/python bench/ticket_api.py [--requests 2000] [--rounds 4] [--clients 50]
                                              [--screenshot-requests 40] [--profile] [--url postgresql+asyncpg://…]

Without ``--url`` it starts a throwaway embedded PostgreSQL (migrated). Then it starts two server processes with
the same uvicorn config (one worker, loopback, access log off, log level warning), the same database and the same
SQLAlchemy engine settings (``create_engine(DatabaseSettings(pool_size=20))`` in ``server.db.engine``):

- ``ours``: ``create_app(settings)`` with test-like settings (cheap argon2, registration limit raised), 50 users
  signed up through the API (register, verify from the outbox mail, login), one per client;
- ``bare``: a Litestar app built here with one ``POST /bare/tickets`` handler that takes a url-encoded form
  (``owner_id``, ``description``) and INSERTs the ticket row and its ``status → open`` history row, one Core INSERT
  each, in one transaction: no auth, no multipart, no idempotency, no NOTIFY, no ORM.

Cases, each with a warm-up first: (1) ``bare``, (2) ``POST /api/v1/tickets`` with the description only, with the
user's session token, (2b) the same with the user's API key (``tickets:write``: the key lookup, the per-key limit
and the usage log; target: CPU per create within 5% of (2) — the throughput ratio is printed too, but on this shared
machine its rounds swing ±15%), (3) unless ``--no-orm-baseline``, the bare app writing the same two
rows through the plugin's ORM session (prices the unit of work alone), all with ``--requests`` requests split into
``--rounds`` interleaved rounds in alternating order (ABBA):
this shared machine's speed drifts by ±30% within minutes (the bare endpoint's rate alone ranged 380–810 req/s in
one afternoon), so one block per case measures the drift as much as the servers. The headline ratio is the median
of the rounds' ours/bare ratios; run with ``ours`` replaced by ``bare`` it gives 1.00 (rounds 0.80–1.22). And (4)
ours with one rendered 1920×1080 desktop PNG (distinct per
request, so no blob is shared), with ``--screenshot-requests`` requests: OCR runs at upload in a pool of 2 workers
with 8 waiting places, so at 50 clients most attempts get 503 ``busy``; a client then waits 0.5 s and retries, and
its latency runs from the first attempt to the 201 (what a user waits). It prints a table with the server's and
PostgreSQL's CPU per create (read from /proc: comparable under a varying machine load, unlike req/s) and the ratio
ours/bare (target ≥ 0.6 for the description-only case).

The load generator is a raw asyncio HTTP/1.1 keep-alive client in this process with the requests pre-encoded, not
httpx: on 2 shared cores it costs a few percent of one core, so the figures measure the servers, not the client
(its CPU share is printed). The servers run in their own processes so the client and the server each get a core.

``--profile`` samples the ``ours`` server's Python stack on every SIGPROF tick of its CPU time during the measured
description-only case and prints the share per slice (auth, multipart, idempotency, NOTIFY, ORM flush, COMMITs,
Litestar, uvicorn) and per innermost package, converted to CPU ms per create. Its cost is small (a few hundred
samples a second), but report the unprofiled runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import pickle
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast
from urllib.parse import urlencode

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import greenlet  # type: ignore[import-untyped]  # noqa: E402
import httpx  # noqa: E402
import uvicorn  # noqa: E402
from litestar import Litestar, post  # noqa: E402
from litestar.enums import RequestEncodingType  # noqa: E402
from litestar.params import Body  # noqa: E402
from sqlalchemy import Table, insert  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession  # noqa: E402

from server.settings import (  # noqa: E402
    Argon2Params,
    AuthSettings,
    DatabaseSettings,
    LogSettings,
    Secret,
    Settings,
    TicketSettings,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType

DESCRIPTION = (
    "Since this morning Outlook keeps asking for my password every few minutes. I type it in and it accepts it, "
    "then the prompt comes back. Webmail works fine in the browser and Teams is signed in. I restarted the laptop "
    "twice and it still happens; I am on the office Wi-Fi."
)
BOUNDARY = "techpal-bench-boundary-7f3a9c"
SECRET_KEY = "bench-secret-key-" + "k" * 32
# argon2id at its cheapest, as in the tests: passwords are not what this measures.
CHEAP_ARGON2 = Argon2Params(time_cost=1, memory_cost_kib=64, parallelism=1)
POOL_SIZE = 20
TARGET_RATIO = 0.6
API_KEY_CASE = "ours: description only, API key"
KEY_TOLERANCE = 0.05  # a create with an API key (lookup, per-key limit, usage log) vs with a session token
BUSY_RETRY_S = 0.5
WARM_SCREENS = 2
ORM_PATH = "/bare/tickets-orm"
PASSWORD = "violet-harbour-lantern-42"


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


def bench_settings(url: str, data_dir: Path) -> Settings:
    """Test-like settings: cheap argon2, limits out of the way, a pool for 50 clients, quiet logs.

    The registration, hourly ticket and per-key limits are out of the way but still counted on every create, as in
    production.
    """
    return Settings(
        data_dir=data_dir,
        secret_key=Secret(SECRET_KEY),
        db=DatabaseSettings(url=Secret(url), pool_size=POOL_SIZE),
        log=LogSettings(level="warning", format="json"),
        auth=AuthSettings(argon2=CHEAP_ARGON2, register_limit=10_000, api_key_requests_per_minute=1_000_000),
        tickets=TicketSettings(per_hour=1_000_000),
    )


# ---------------------------------------------------------------------------------------------- the bare baseline
def bare_app(settings: Settings) -> Litestar:
    """The baseline: the same ticket and history rows, one INSERT each in one transaction, nothing else."""
    from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin  # noqa: PLC0415
    from advanced_alchemy.mixins.uuid import uuid7  # type: ignore[attr-defined]  # noqa: PLC0415

    from server.db.engine import create_engine  # noqa: PLC0415
    from server.db.models import Ticket, TicketHistory  # noqa: PLC0415
    from server.db.transactions import request_sessions  # noqa: PLC0415
    from server.lib.clock import utcnow  # noqa: PLC0415

    ticket_table = cast("Table", Ticket.__table__)
    history_table = cast("Table", TicketHistory.__table__)

    @post("/bare/tickets", status_code=201)
    async def create_ticket(
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)], db_engine: AsyncEngine
    ) -> dict[str, Any]:
        ticket_id = uuid7()
        owner_id = uuid.UUID(data["owner_id"])
        now = utcnow()
        async with db_engine.begin() as conn:
            await conn.execute(
                insert(ticket_table).values(
                    id=ticket_id,
                    owner_id=owner_id,
                    description=data["description"],
                    priority="normal",
                    status="open",
                    created_at=now,
                    updated_at=now,
                )
            )
            await conn.execute(
                insert(history_table).values(
                    ticket_id=ticket_id, at=now, actor="user", actor_id=owner_id, field="status", new_value="open"
                )
            )
        return {"id": str(ticket_id), "status": "open", "priority": "normal", "category": None, "created_at": now}

    @post(ORM_PATH, status_code=201)
    async def create_ticket_orm(
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)], db_session: AsyncSession
    ) -> dict[str, Any]:
        """The same rows through the ORM session (unit of work, the plugin's session), to price the ORM alone."""
        ticket_id = uuid7()
        owner_id = uuid.UUID(data["owner_id"])
        now = utcnow()
        born = TicketHistory(
            ticket_id=ticket_id, at=now, actor="user", actor_id=owner_id, field="status", new_value="open"
        )
        ticket = Ticket(
            id=ticket_id,
            owner_id=owner_id,
            description=data["description"],
            priority="normal",
            status="open",
            messages=[],
            screenshots=[],
            history=[born],
        )
        db_session.add(ticket)
        await db_session.commit()
        return {"id": str(ticket_id), "status": "open", "priority": "normal", "category": None, "created_at": now}

    return Litestar(
        route_handlers=[create_ticket, create_ticket_orm],
        plugins=[SQLAlchemyPlugin(config=request_sessions(create_engine(settings.db)))],
        debug=False,
        logging_config=None,
    )


# ---------------------------------------------------------------------------------------------- server processes
def serve(kind: str, url: str, data_dir: Path, profile: Path | None) -> None:
    """Run one server (in its own process) until SIGTERM; print ``ready PORT`` once it accepts requests."""
    from server.app import create_app  # noqa: PLC0415

    settings = bench_settings(url, data_dir)
    if kind == "web":  # ours without a job worker: `techpal-server worker` processes run the jobs
        settings = settings.replace(inprocess_worker=False)
    app = bare_app(settings) if kind == "bare" else create_app(settings)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, log_level="warning", access_log=False, lifespan="on"
        )
    )

    async def run() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                await task
                raise SystemExit(f"{kind} server did not start")
            await asyncio.sleep(0.05)
        print(f"ready {port}", flush=True)
        await task

    # uvicorn re-raises the SIGTERM it caught once it has shut down; with a handler that ignores it, the process
    # lives on (to write its samples) and exits normally.
    signal.signal(signal.SIGTERM, lambda *_: None)
    sampler = StackSampler() if profile else None
    if sampler:
        signal.signal(signal.SIGUSR1, lambda *_: sampler.start())
        signal.signal(signal.SIGUSR2, lambda *_: sampler.stop())
    asyncio.run(run())
    if sampler and profile:
        sampler.stop()
        with profile.open("wb") as out:
            pickle.dump(sampler.samples, out)


class StackSampler:
    """A small CPU-time sampling profiler (py-spy is not installed).

    SIGPROF fires per millisecond of process CPU (the kernel rounds up to its tick, ~4 ms here), and the handler
    counts the interrupted main-thread Python stack.

    Neither cProfile (each coroutine resumption counts as a call; time inside greenlet switches lands on the
    caller) nor a sampling thread (it only gets the GIL where the main thread releases it: socket writes) says
    where an async server's CPU goes; a CPU-time signal lands where the CPU is spent, idle time is never sampled.
    """

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        self.samples: Counter[tuple[tuple[str, str], ...]] = Counter()

    def start(self) -> None:  # samples add up over the measured rounds
        signal.signal(signal.SIGPROF, self._sample)
        signal.setitimer(signal.ITIMER_PROF, self.interval, self.interval)

    def stop(self) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)

    def _sample(self, _signum: int, frame: FrameType | None) -> None:
        stack = []
        # SQLAlchemy's async layer runs the ORM in a child greenlet: continue from the greenlet that spawned it
        # (the coroutine awaiting it), so ORM work counts for the slice that asked for it.
        context = greenlet.getcurrent()
        while True:
            while frame is not None:
                stack.append((frame.f_code.co_filename, frame.f_code.co_name))
                frame = frame.f_back
            context = context.parent
            if context is None:
                break
            frame = context.gr_frame
        self.samples[tuple(stack)] += 1


@dataclass
class ServerProcess:
    kind: str
    process: subprocess.Popen[str]
    port: int

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(kind: str, url: str, data_dir: Path, profile: Path | None = None) -> ServerProcess:
    command = [sys.executable, __file__, "--serve", kind, "--url", url, "--data-dir", str(data_dir)]
    if profile:
        command += ["--profile-file", str(profile)]
    log = data_dir.parent / f"{kind}-server.log"
    with log.open("w") as errors:  # its warnings (e.g. every 503 `busy`) would drown the table
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("ready "):
        process.kill()
        raise SystemExit(f"the {kind} server did not start: {line!r}\n{log.read_text()[-4000:]}")
    return ServerProcess(kind, process, int(line.split()[1]))


# ---------------------------------------------------------------------------------------------- users and bodies
@dataclass(frozen=True, slots=True)
class BenchUser:
    id: str
    token: str
    api_key: str  # tickets:write


def sign_up(base_url: str, outbox: Path, n: int) -> list[BenchUser]:
    """``n`` verified, signed-in users through the real API (register, the verification mail, login, an API key)."""
    from tests.fixtures.mail import OutboxReader, link_token  # noqa: PLC0415

    reader = OutboxReader(outbox)
    users = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for i in range(n):
            email = f"bench{i}@example.com"
            body = {
                "name": f"Bench User {i}",
                "email": email,
                "username": f"bench{i}",
                "password": PASSWORD,
                "age_confirmed": True,
            }
            response = client.post("/api/v1/auth/register", json=body)
            response.raise_for_status()
            user_id = response.json()["id"]
            mail = [m for m in reader.messages() if m["To"] == email][-1]
            token = link_token(mail, "verify-email")
            client.post("/api/v1/auth/verify-email", json={"token": token}).raise_for_status()
            response = client.post(
                "/api/v1/auth/login", json={"login": email, "password": PASSWORD, "device_name": "bench"}
            )
            response.raise_for_status()
            token = response.json()["access_token"]
            response = client.post(
                "/api/v1/me/api-keys",
                json={"name": "bench", "scopes": ["tickets:write"]},
                headers={"Authorization": f"Bearer {token}"},
            )
            response.raise_for_status()
            users.append(BenchUser(user_id, token, response.json()["key"]))
    return users


def render_screens(count: int) -> list[bytes]:
    """Distinct 1920×1080 desktops (wallpaper, icons, a document window, taskbar, an error dialog)."""
    from tests.fixtures.screens import error_queries, render_desktop  # noqa: PLC0415

    texts = [screen.query for screen in error_queries()]
    return [render_desktop(texts[i % len(texts)], seed=i, size=(1920, 1080)) for i in range(count)]


def http_request(method: str, path: str, port: int, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def multipart(description: str, screenshot: bytes | None, ocr: bytes | None = None) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="description"\r\n\r\n'.encode()
        + description.encode()
        + b"\r\n"
    ]
    if screenshot is not None:
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="screenshots"; filename="screen.png"\r\n'
            "Content-Type: image/png\r\n\r\n".encode()
            + screenshot
            + b"\r\n"
        )
    if ocr is not None:
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="ocr_0"\r\n'
            "Content-Type: application/json\r\n\r\n".encode()
            + ocr
            + b"\r\n"
        )
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


# What a desktop's OCR sends with a 1920×1080 desktop: icon labels, a window title, the dialog's lines, the clock.
CLIENT_OCR = json.dumps(
    {
        "engine": "rapidocr",
        "version": "3.4.2",
        "lines": [
            {"text": f"Line {n} of what the screen says", "box": [40 + n * 7, 30 + n * 34, 420, 22]} for n in range(30)
        ],
    }
).encode()


def ours_request(
    port: int, user: BenchUser, screenshot: bytes | None = None, *, api_key: bool = False, ocr: bytes | None = None
) -> bytes:
    bearer = user.api_key if api_key else user.token
    headers = {"Authorization": f"Bearer {bearer}", "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    return http_request("POST", "/api/v1/tickets", port, headers, multipart(DESCRIPTION, screenshot, ocr))


def bare_request(port: int, user: BenchUser, path: str = "/bare/tickets") -> bytes:
    body = urlencode({"owner_id": user.id, "description": DESCRIPTION}).encode()
    return http_request("POST", path, port, {"Content-Type": "application/x-www-form-urlencoded"}, body)


# ---------------------------------------------------------------------------------------------- the load generator
async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, payload: bytes) -> tuple[int, bool]:
    """Send one pre-encoded request, read the whole response; (status, server closes the connection)."""
    writer.write(payload)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length, close = 0, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
        elif name == b"transfer-encoding":
            raise RuntimeError("chunked responses are not expected here")
    await reader.readexactly(length)
    return status, close


@dataclass
class Result:
    label: str
    requests: int
    wall_s: float
    client_cpu_s: float
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    retries: int = 0
    server_cpu_s: float = 0.0
    postgres_cpu_s: float = 0.0
    round_rates: list[float] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return self.statuses[201]

    @property
    def rate(self) -> float:
        return self.ok / self.wall_s if self.wall_s else float("nan")


def merged(parts: list[Result]) -> Result:
    """One case's rounds as a single result (requests, time, CPU and latencies added up)."""
    total = Result(parts[0].label, 0, 0.0, 0.0)
    for part in parts:
        total.requests += part.requests
        total.wall_s += part.wall_s
        total.client_cpu_s += part.client_cpu_s
        total.latencies_ms += part.latencies_ms
        total.statuses += part.statuses
        total.retries += part.retries
        total.server_cpu_s += part.server_cpu_s
        total.postgres_cpu_s += part.postgres_cpu_s
    total.round_rates = [part.rate for part in parts]
    return total


# ---------------------------------------------------------------------------------------------- CPU accounting
_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # fields from 3 (state) on


def process_cpu(pid: int, *, children_reaped: bool = False) -> float:
    """CPU seconds (user + system) of ``pid``, plus its reaped children's with ``children_reaped``."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if children_reaped else 0)
    return ticks / _TICK


def postgres_cpu(postmaster: int) -> float:
    """CPU seconds of the postmaster, its live backends and the backends that already exited (0: not metered)."""
    if not postmaster:
        return 0.0
    total = process_cpu(postmaster, children_reaped=True)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None and int(fields[1]) == postmaster:
            total += process_cpu(int(entry.name))
    return total


@dataclass(frozen=True, slots=True)
class Meters:
    """Where to read the CPU a case costs: the server process under load and the database cluster."""

    server_pid: int
    postmaster_pid: int

    def read(self) -> tuple[float, float]:
        return process_cpu(self.server_pid), postgres_cpu(self.postmaster_pid)


async def load(
    label: str,
    port: int,
    payloads: list[list[bytes]],
    total: int,
    *,
    clients: int,
    meters: Meters,
    retry_busy: bool = False,
) -> Result:
    """Closed-loop load: ``clients`` keep-alive connections issue ``total`` requests between them.

    Client ``i`` sends the requests of ``payloads[i]`` in turn. Only 201s count towards the rate and the latencies.
    """
    counter = itertools.count()
    result = Result(label, total, 0.0, 0.0)

    async def client(i: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        mine = itertools.cycle(payloads[i % len(payloads)])
        try:
            while next(counter) < total:
                payload = next(mine)
                started = time.perf_counter()
                while True:
                    status, close = await exchange(reader, writer, payload)
                    if close:
                        writer.close()
                        reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    if status == 503 and retry_busy:
                        result.retries += 1
                        await asyncio.sleep(BUSY_RETRY_S)
                        continue
                    break
                result.statuses[status] += 1
                if status == 201:
                    result.latencies_ms.append((time.perf_counter() - started) * 1000)
        finally:
            writer.close()

    server_cpu, pg_cpu = meters.read()
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    result.wall_s = time.perf_counter() - wall
    result.client_cpu_s = time.process_time() - cpu
    server_after, pg_after = meters.read()
    result.server_cpu_s, result.postgres_cpu_s = server_after - server_cpu, pg_after - pg_cpu
    return result


def report(results: list[Result], clients: int) -> None:
    print(f"\n{clients} concurrent clients, one uvicorn worker per server, same database and engine settings")
    print(
        f"{'case':<32} {'reqs':>5} {'201':>5} {'other':>6} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'server CPU ms/req':>17} {'PG CPU ms/req':>13} {'client CPU':>10}"
    )
    for r in results:
        other = ", ".join(f"{s}×{n}" for s, n in sorted(r.statuses.items()) if s != 201) or "-"
        digits = 1 if r.rate >= 10 else 2
        print(
            f"{r.label:<32} {r.requests:>5} {r.ok:>5} {other:>6} {r.rate:>7.{digits}f} {pct(r.latencies_ms, 50):>8.1f} "
            f"{pct(r.latencies_ms, 99):>8.1f} {r.server_cpu_s * 1000 / max(r.ok, 1):>17.2f} "
            f"{r.postgres_cpu_s * 1000 / max(r.ok, 1):>13.2f} {r.client_cpu_s / r.wall_s:>10.0%}"
            + (f"  ({r.retries} busy 503s retried after {BUSY_RETRY_S} s)" if r.retries else "")
        )


# Slices of a create: a sample counts for the first slice whose frames (path fragment, function or "" for any) are
# all on its stack; the request-context middleware and Litestar wrap everything, so they only get what is left.
_CREATE = ("server/domain/tickets/services.py", "create")
SLICES: list[tuple[str, tuple[tuple[str, str], ...]]] = [
    ("hourly ticket limit (rate_counters upsert)", (("server/lib/ratelimit.py", ""),)),
    ("create: INSERT ticket + history + NOTIFY", (("server/domain/tickets/services.py", "_insert_ticket"),)),
    ("create: idempotency", (("server/domain/tickets/idempotency.py", ""),)),
    ("create: COMMIT (autocommit: no round trip)", (_CREATE, ("sqlalchemy/ext/asyncio/session.py", "commit"))),
    ("create: rest", (_CREATE,)),
    ("auth: token check + session/user SELECT", (("server/domain/accounts/services/_sessions.py", "authenticate"),)),
    ("auth: AccountService + limiter set-up", (("server/domain/accounts/deps.py", "provide_accounts"),)),
    ("pool checkout (+ ping when idle)", (("sqlalchemy/ext/asyncio/session.py", "connection"),)),
    ("multipart (read_ticket_form)", (("server/domain/tickets/upload.py", ""),)),
    ("response (ticket_detail)", (("server/domain/tickets/views.py", ""),)),
    ("db session provide/close + autocommit", (("advanced_alchemy", ""),)),
    ("structlog (access log call, filtered)", (("structlog", ""),)),
    ("Litestar: routing, DI, guards, response", (("litestar/", ""),)),
    ("request-context + security middleware", (("server/lib/middleware.py", ""),)),
]
LEAF_PACKAGES = ["sqlalchemy", "asyncpg", "advanced_alchemy", "litestar", "msgspec", "h11", "uvicorn", "multipart",
                 "structlog", "anyio", "greenlet", "/work/main/server", "asyncio", "selectors"]  # fmt: skip


def _has(stack: tuple[tuple[str, str], ...], path: str, function: str) -> bool:
    return any(path in file and function in {"", name} for file, name in stack)


def _slice(stack: tuple[tuple[str, str], ...]) -> str:
    for label, frames in SLICES:
        if all(_has(stack, path, function) for path, function in frames):
            return label
    return "uvicorn/h11 + asyncio loop (outside the app)"


def _leaf(stack: tuple[tuple[str, str], ...]) -> str:
    file = stack[0][0]
    return next((package for package in LEAF_PACKAGES if package in file), "other")


def print_profile(path: Path, result: Result) -> None:
    """Where the ours server's time goes during the measured description-only case, from the stack samples."""
    with path.open("rb") as source:
        samples: Counter[tuple[tuple[str, str], ...]] = pickle.load(source)
    busy = {stack: n for stack, n in samples.items() if stack}
    total = sum(busy.values())
    cpu_ms = result.server_cpu_s * 1000 / max(result.ok, 1)
    print(
        f"\nwhere the ours server's CPU goes (stack samples on SIGPROF ticks of its CPU time, measured case only): "
        f"{total} samples; shares × its {cpu_ms:.2f} ms CPU per create"
    )
    for title, key in (("slice (innermost match)", _slice), ("innermost frame's package", _leaf)):
        counts: Counter[str] = Counter()
        for stack, n in busy.items():
            counts[key(stack)] += n
        print(f"  {title:<78} {'share':>6} {'ms/req':>7}")
        for label, n in counts.most_common():
            print(f"  {label:<78} {n / total:>6.1%} {cpu_ms * n / total:>7.2f}")
    leaves: Counter[str] = Counter()
    for stack, n in busy.items():
        file, name = stack[0]
        caller = f" ← {Path(stack[1][0]).name}:{stack[1][1]}" if len(stack) > 1 else ""
        leaves[f"{Path(file).name}:{name}{caller}"] += n
    print(f"  {'top innermost frames':<78} {'share':>6} {'ms/req':>7}")
    for label, n in leaves.most_common(12):
        print(f"  {label[:78]:<78} {n / total:>6.1%} {cpu_ms * n / total:>7.2f}")


# ---------------------------------------------------------------------------------------------- orchestration
async def run_cases(
    args: argparse.Namespace,
    servers: tuple[ServerProcess, ServerProcess],
    postmaster: int,
    users: list[BenchUser],
    screens: list[bytes],
) -> list[Result]:
    ours, bare = servers
    cases = [
        ("bare Litestar INSERT (baseline)", bare, [[bare_request(bare.port, u)] for u in users]),
        ("ours: description only", ours, [[ours_request(ours.port, u)] for u in users]),
        (API_KEY_CASE, ours, [[ours_request(ours.port, u, api_key=True)] for u in users]),
    ]
    if args.orm_baseline:
        cases.append(("bare + ORM session (same rows)", bare, [[bare_request(bare.port, u, ORM_PATH)] for u in users]))
    for _label, server, payloads in cases:
        meters = Meters(server.process.pid, postmaster)
        await load("warm-up", server.port, payloads, args.warmup, clients=args.clients, meters=meters)
    # Interleaved rounds in alternating order (ABBA): a drift in the shared machine's load, and the database's
    # background work one case leaves behind (autovacuum of its dead rows), fall on every case alike; each round
    # gives its own ours/bare ratio.
    per_round = max(1, args.requests // args.rounds)
    rounds: list[dict[str, Result]] = []
    for number in range(1, args.rounds + 1):
        row: dict[str, Result] = {}
        for label, server, payloads in cases if number % 2 else cases[::-1]:
            meters = Meters(server.process.pid, postmaster)
            sampled = args.profile and server is ours
            if sampled:
                server.process.send_signal(signal.SIGUSR1)
            row[label] = await load(label, server.port, payloads, per_round, clients=args.clients, meters=meters)
            if sampled:
                server.process.send_signal(signal.SIGUSR2)
        rounds.append(row)
        print(f"  round {number}: " + ", ".join(f"{r.label} {r.rate:.0f} req/s" for r in row.values()), flush=True)
    results = [merged([row[label] for row in rounds]) for label, _server, _payloads in cases]
    if args.screenshot_requests:
        meters = Meters(ours.process.pid, postmaster)
        warm, measured = screens[:WARM_SCREENS], screens[WARM_SCREENS:]
        warm_payloads = [[ours_request(ours.port, users[i], png)] for i, png in enumerate(warm)]
        await load("warm-up", ours.port, warm_payloads, WARM_SCREENS, clients=WARM_SCREENS, meters=meters)
        # Each client gets its own screenshots, so no two requests upload the same image; the second case (the
        # desktop's OCR lines sent along, so the server reads no image) gets screenshots the first did not store.
        halves = (
            ("ours: + one 1920×1080 PNG", measured[::2], None),
            ("ours: + PNG and its OCR lines", measured[1::2], CLIENT_OCR),
        )
        for label, shots, ocr in halves:
            chunks = [shots[i :: args.clients] for i in range(args.clients)]
            payloads = [
                [ours_request(ours.port, users[i], png, ocr=ocr) for png in c] for i, c in enumerate(chunks) if c
            ]
            result = await load(
                label,
                ours.port,
                payloads,
                args.screenshot_requests,
                clients=min(args.clients, len(payloads)),
                meters=meters,
                retry_busy=True,
            )
            results.append(result)
            print(f"  {result.label}: {result.rate:.2f} req/s", flush=True)
    return results


def find_postmaster(url: str) -> int:
    """The PostgreSQL server's pid (a backend's parent), to meter its CPU; 0 when it is not on this machine."""
    import asyncpg  # type: ignore[import-untyped]  # noqa: PLC0415

    async def parent_of_backend() -> int:
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
        try:
            fields = _stat(int(await connection.fetchval("SELECT pg_backend_pid()")))  # while the backend lives
        finally:
            await connection.close()
        return int(fields[1]) if fields else 0

    return asyncio.run(parent_of_backend())


def orchestrate(url: str, args: argparse.Namespace, tmp: Path) -> None:
    from tests.fixtures.screens import read_screen  # noqa: PLC0415

    with os.popen("uptime") as uptime:
        print(f"load before: {uptime.read().strip()}", flush=True)
    profile = tmp / "ours.samples" if args.profile else None
    ours = start_server("ours", url, tmp / "data", profile)
    bare = start_server("bare", url, tmp / "data-bare")
    try:
        started = time.perf_counter()
        users = sign_up(f"http://127.0.0.1:{ours.port}", tmp / "data" / "outbox", args.clients)
        print(f"signed up {len(users)} users through the API in {time.perf_counter() - started:.1f} s", flush=True)
        screens: list[bytes] = []
        if args.screenshot_requests:
            started = time.perf_counter()
            screens = render_screens(WARM_SCREENS + 2 * args.screenshot_requests)
            size = sum(map(len, screens)) / len(screens) / 1024
            print(
                f"rendered {len(screens)} 1920×1080 desktops ({size:.0f} KiB each) in "
                f"{time.perf_counter() - started:.1f} s",
                flush=True,
            )
            ocr = []
            for png in screens[:3]:
                t = time.perf_counter()
                read_screen(png)
                ocr.append(time.perf_counter() - t)
            print(f"rapidocr on one 1920×1080 desktop, in this process: {min(ocr) * 1000:.0f} ms (best of 3)")
        postmaster = find_postmaster(url)
        results = asyncio.run(run_cases(args, (ours, bare), postmaster, users, screens))
    finally:
        ours.stop()
        bare.stop()
    with os.popen("uptime") as uptime:
        print(f"load after: {uptime.read().strip()}")
    report(results, args.clients)
    if any(status >= 500 and status != 503 for r in results for status in r.statuses):
        errors = [line for line in (tmp / "ours-server.log").read_text().splitlines() if '"level": "error"' in line]
        print(f"\n{len(errors)} server errors; the last one:\n{errors[-1][-3000:] if errors else '(none logged)'}")
    baseline, created = results[0], results[1]
    per_round = [o / b for o, b in zip(created.round_rates, baseline.round_rates, strict=True)]
    ratio = statistics.median(per_round)
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(
        f"\nratio ours/bare (description only), median of the rounds: {ratio:.2f}× — {verdict} the ≥ {TARGET_RATIO}× "
        f"target (rounds: {', '.join(f'{r:.2f}' for r in per_round)}; all requests pooled: "
        f"{created.rate / baseline.rate:.2f}×)"
    )
    bare_cost = (baseline.server_cpu_s + baseline.postgres_cpu_s) / baseline.ok
    cpu_ratio = bare_cost / ((created.server_cpu_s + created.postgres_cpu_s) / created.ok)
    print(f"CPU-cost ratio bare/ours (server + PostgreSQL CPU per create; load-independent): {cpu_ratio:.2f}×")
    by_key = next(r for r in results if r.label == API_KEY_CASE)
    key_rounds = [k / o for k, o in zip(by_key.round_rates, created.round_rates, strict=True)]
    key_ratio = statistics.median(key_rounds)
    key_cpu = ((by_key.server_cpu_s + by_key.postgres_cpu_s) / by_key.ok) / (
        (created.server_cpu_s + created.postgres_cpu_s) / created.ok
    )
    verdict = "meets" if key_cpu <= 1 + KEY_TOLERANCE else "MISSES"
    print(
        f"CPU per create with an API key / with a session (server + PostgreSQL; load-independent): {key_cpu:.3f}× — "
        f"{verdict} the within-{KEY_TOLERANCE:.0%} target; throughput ratio, median of the rounds: {key_ratio:.3f}× "
        f"(rounds: {', '.join(f'{r:.3f}' for r in key_rounds)}; all requests pooled: {by_key.rate / created.rate:.3f}×)"
    )
    if profile:
        print_profile(profile, created)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per description-only case")
    parser.add_argument("--warmup", type=int, default=200, help="warm-up requests before each case")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds the measured requests are split in")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--screenshot-requests", type=int, default=40, help="0 skips the screenshot case")
    parser.add_argument(
        "--orm-baseline", action=argparse.BooleanOptionalAction, default=True, help="also time the bare ORM variant"
    )
    parser.add_argument("--profile", action="store_true", help="sample the ours server's stacks")
    parser.add_argument("--url", help="an empty migrated database (postgresql+asyncpg://…) instead of a throwaway one")
    parser.add_argument("--serve", choices=["ours", "bare", "web"], help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--profile-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.url, args.data_dir, args.profile_file)
        return
    on_a_database(args.url, lambda url, tmp: orchestrate(url, args, tmp))


def on_a_database(url: str | None, run: Callable[[str, Path], None]) -> None:
    """``run(url, tmp)`` on the database at ``url``, or on a throwaway migrated embedded one (``fsync`` off)."""
    from server.db.embedded import EmbeddedPostgres  # noqa: PLC0415
    from server.db.migrate import upgrade  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="techpal-bench-") as tmp:
        if url:
            run(url, Path(tmp))
            return
        pg = EmbeddedPostgres(Path(tmp) / "postgres", extra_settings={"fsync": "off", "synchronous_commit": "off"})
        pg.start()
        try:
            upgrade(pg.url)
            run(pg.url, Path(tmp))
        finally:
            pg.stop()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
