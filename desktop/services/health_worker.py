"""Server health checks that run off the GUI thread.

The check uses the standard library (``urllib.request``), not ``httpx``: the idle tray checks the server every few
minutes, and loading httpx and its TLS setup for that alone would cost megabytes of memory on every launch (the API
client loads them once the user signs in). Like the API client, it honours proxy settings from the environment and
verifies TLS against ``SSL_CERT_FILE``/``SSL_CERT_DIR`` or certifi's bundle; that context is built once, on the first
https check. Redirects are not followed: a redirect is not our health answer.

Checks run on a one-thread :class:`~desktop.services.workers.WorkerPool`; the result crosses back to the GUI thread
through a Qt signal (a queued connection, because the receiver lives in the GUI thread). Connect that signal to slots
of QObjects, never to lambdas: a lambda has no thread affinity, so Qt would run it in the worker thread.
"""

from __future__ import annotations

import functools
import http.client
import logging
import os
import ssl
import urllib.error
import urllib.request
from typing import IO

from PySide6.QtCore import QObject, Signal

from desktop.core.health import ServerStatus, health_url, interpret_health, normalize_server_url
from desktop.services.workers import WorkerPool

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 3.0


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Report a redirect as the answer it is instead of following it."""

    def redirect_request(  # noqa: PLR0917 - urllib.request calls it with this signature
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The CA certificates httpx (so the API client) trusts; loading them costs memory, so once and only for https."""
    if cafile := os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=cafile)
    if capath := os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=capath)
    import certifi  # noqa: PLC0415 - only for an https server

    return ssl.create_default_context(cafile=certifi.where())


@functools.cache
def _opener(https: bool) -> urllib.request.OpenerDirector:
    handlers: list[urllib.request.BaseHandler] = [_NoRedirects()]
    if https:
        handlers.append(urllib.request.HTTPSHandler(context=_tls_context()))
    return urllib.request.build_opener(*handlers)


def fetch_health(server_url: str, timeout: float = DEFAULT_TIMEOUT_S) -> ServerStatus:
    """GET ``{server_url}/health`` and interpret the answer. Blocks; call from a worker.

    Args:
        server_url: Normalized server base URL.
        timeout: Seconds for connecting and for each read.

    Returns:
        The interpreted status; transport failures become UNREACHABLE.
    """
    url = health_url(server_url)
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - http(s) only
    try:
        with _opener(url.startswith("https:")).open(request, timeout=timeout) as response:
            return interpret_health(server_url, response.status, response.read())
    except urllib.error.HTTPError as answer:  # any status but 2xx: still an answer from the server
        with answer:
            body = answer.read()
        return interpret_health(server_url, answer.code, body)
    except (OSError, http.client.HTTPException) as exc:  # refused, timeout, TLS, broken HTTP
        logger.debug("health check of %s failed: %r", server_url, exc)
        return interpret_health(server_url, None, None, error=str(exc) or type(exc).__name__)


class HealthChecker(QObject):
    """Starts health checks in a private one-thread pool and reports results.

    Signals:
        checked(ServerStatus): Emitted from the worker thread after every check.
    """

    checked = Signal(object)

    def __init__(self, server_url: str, *, timeout: float = DEFAULT_TIMEOUT_S, parent: QObject | None = None) -> None:
        """Create a checker.

        Args:
            server_url: Server base URL; validated here so a typo fails early.
            timeout: Per-request timeout in seconds.
            parent: Owning QObject.

        Raises:
            ValueError: If ``server_url`` is not a usable http(s) URL.
        """
        super().__init__(parent)
        self._server_url = normalize_server_url(server_url)
        self._timeout = timeout
        # One thread: checks are rare, and results then arrive in request order.
        self._pool = WorkerPool(max_threads=1, parent=self)

    @property
    def server_url(self) -> str:
        """The normalized server base URL."""
        return self._server_url

    def check(self) -> None:
        """Start one check in the background; the result arrives via ``checked``."""
        server_url, timeout, checked = self._server_url, self._timeout, self.checked

        def job() -> None:  # always reports, so the caller never waits forever
            try:
                status = fetch_health(server_url, timeout)
            except Exception as exc:  # an unexpected bug must still end the check
                logger.exception("health check crashed")
                status = interpret_health(server_url, None, None, error=repr(exc))
            checked.emit(status)

        self._pool.start(job)

    def shutdown(self) -> None:
        """Drop queued checks and wait for a running one (at most about the timeout)."""
        self._pool.wait(int((self._timeout + 1.0) * 1000))
