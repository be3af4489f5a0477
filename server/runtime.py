"""Everything ``techpal-server run`` does around the app: data dir, secret key, embedded database, serving.

Kept apart from :func:`server.app.create_app` so the factory stays pure and a production deployment can serve
``server.app:create_app`` with any ASGI server against an external database.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import socket
import stat
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

import structlog
import uvicorn

from server.app import create_app
from server.context import build_context
from server.db.embedded import EmbeddedPostgres
from server.db.migrate import upgrade
from server.lib.crypto import load_or_create_secret_key
from server.settings import Secret, Settings

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

    from server.context import AppContext

__all__ = [
    "DataDirInUse",
    "bind_socket",
    "command_settings",
    "database",
    "freeze_startup_heap",
    "prepare",
    "run_with_context",
    "serve",
    "work",
]

logger = structlog.get_logger(__name__)
T = TypeVar("T")
GRACEFUL_SHUTDOWN_S = 10


def command_settings() -> Settings:
    """The settings a ``techpal-server`` command runs with, logging configured; a bad value ends the command."""
    import click  # noqa: PLC0415 - only commands need it

    from server.lib.log import configure_logging  # noqa: PLC0415
    from server.settings import SettingsError, get_settings  # noqa: PLC0415

    try:
        settings = get_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    configure_logging(settings.log)
    return settings


def prepare(settings: Settings) -> Settings:
    """Create the private data dir and, for the embedded default, fill in the secret key."""
    data_dir = settings.data_dir
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = data_dir.stat()
    # Our own dir, made by hand or an older version, must stay private: it holds keys. Group-class x is allowed:
    # as root it is the mask of the database user's traverse-only ACL grant (see server/db/embedded).
    if info.st_mode & 0o067 and info.st_uid == os.getuid():
        data_dir.chmod(stat.S_IMODE(info.st_mode) & 0o710)
    if settings.secret_key is None:
        settings = settings.replace(secret_key=load_or_create_secret_key(data_dir))
    return settings


class DataDirInUse(RuntimeError):
    """Another ``techpal-server run`` already serves this data dir (a second server would lose its database)."""


@contextmanager
def database(settings: Settings, *, serving: bool = False) -> Iterator[Settings]:
    """Yield settings whose database is up and migrated.

    An embedded one is started here and stopped after; when another process (a serving ``techpal-server run``)
    already runs it, a command attaches to it and leaves it running (see :mod:`server.db.embedded`), and a second
    server (``serving``) refuses with :class:`DataDirInUse`.
    """
    embedded = EmbeddedPostgres(settings.data_dir / "postgres") if settings.db.embedded else None
    try:
        if embedded is not None:
            embedded.start()
            if serving and embedded.attached:
                raise DataDirInUse(
                    f"another Tech Pal server already serves {settings.data_dir}: stop it first, or give this one "
                    "its own TECHPAL_DATA_DIR"
                )
            # The embedded default ships with the seed knowledge base, imported in the background on first start.
            settings = settings.replace(db=replace(settings.db, url=Secret(embedded.url)), kb_seed=serving)
        assert settings.db.url is not None
        upgrade(settings.db.url.get_secret_value())
        logger.info(
            "database_ready", embedded=embedded is not None, attached=embedded is not None and embedded.attached
        )
        yield settings
    finally:
        if embedded is not None:
            embedded.stop()


def run_with_context(settings: Settings, work: Callable[[AppContext], Awaitable[T]]) -> T:
    """Run ``work`` (a CLI command's) with an app context on the configured database, then close what it opened.

    With the embedded default the database of a running server is used (and left running), else started for the
    command. Nothing of the context is started (no background work): only what ``work`` uses is touched.
    """

    async def run(ready: Settings) -> T:
        ctx = build_context(ready)
        try:
            return await work(ctx)
        finally:
            if ctx.billing.gateway is not None:
                await ctx.billing.gateway.close()
            await ctx.engine.dispose()

    with database(prepare(settings)) as ready:
        return asyncio.run(run(ready))


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind the listening socket ourselves so port 0 works and the real port is known before serving."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def freeze_startup_heap() -> None:
    """Exempt what exists once the app is built (modules, classes, the app) from the cyclic garbage collector.

    Those objects live as long as the process, yet every full collection walked them all with the event loop
    stopped: 130 and 147 ms, twice in the 180 requests of one answer benchmark (a hitch for every request in
    flight); none after. Objects made later are collected as usual.
    """
    gc.collect()
    gc.freeze()


def serve(settings: Settings, *, announce: Callable[[Settings], None] | None = None) -> None:
    """Serve the app until SIGINT/SIGTERM, then shut down gracefully (the caller stops the database).

    The socket is bound and listening before ``announce`` runs, so a client that connects at once just waits in the
    backlog until the app has started.
    """
    sock = bind_socket(settings.server.host, settings.server.port)
    settings = settings.replace(server=replace(settings.server, port=sock.getsockname()[1]))
    config = uvicorn.Config(
        create_app(settings),
        lifespan="on",
        access_log=False,
        log_config=None,
        proxy_headers=False,  # X-Forwarded-For is judged by our middleware against TECHPAL_TRUSTED_PROXIES
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        ssl_certfile=os.fspath(settings.server.tls_cert) if settings.server.tls_cert else None,
        ssl_keyfile=os.fspath(settings.server.tls_key) if settings.server.tls_key else None,
    )
    if announce is not None:
        announce(settings)
    freeze_startup_heap()
    try:
        asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))
    finally:
        sock.close()


def work(settings: Settings, *, concurrency: int, announce: Callable[[], None] | None = None) -> None:
    """Run jobs until SIGINT/SIGTERM (``techpal-server worker``), then let running ones finish and close.

    With the embedded default the database of a running server is used (and left running), else started for the
    worker. No HTTP, no other background work: only the job queue, with what its jobs need.
    """

    async def run(ready: Settings) -> None:
        ctx = build_context(ready)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        working = asyncio.create_task(ctx.jobs.work(concurrency=concurrency, name=f"worker-{os.getpid()}"))
        if announce is not None:
            announce()
        try:
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({working, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            working.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await working
        finally:
            await ctx.screenshots.close()
            await ctx.engine.dispose()

    with database(prepare(settings)) as ready:
        asyncio.run(run(ready))
