"""Server health checks that run off the GUI thread.

Network I/O uses synchronous ``httpx`` inside a :class:`QRunnable`; the result
crosses back to the GUI thread through a Qt signal (a queued connection,
because the receiver lives in the GUI thread). Connect that signal to slots of
QObjects, never to lambdas: a lambda has no thread affinity, so Qt would run it
in the worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from desktop.core.health import ServerStatus, health_url, interpret_health, normalize_server_url

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 3.0


def fetch_health(server_url: str, timeout: float = DEFAULT_TIMEOUT_S) -> ServerStatus:
    """GET ``{server_url}/health`` and interpret the answer. Blocks; call from a worker.

    Args:
        server_url: Normalized server base URL.
        timeout: Seconds for each of connect, read, write and pool waits.

    Returns:
        The interpreted status; transport failures become UNREACHABLE.
    """
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.get(health_url(server_url), headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        logger.debug("health check of %s failed: %r", server_url, exc)
        return interpret_health(server_url, None, None, error=str(exc) or type(exc).__name__)
    return interpret_health(server_url, response.status_code, response.content)


class _HealthJob(QRunnable):
    """One health check, run by a :class:`QThreadPool` thread."""

    def __init__(self, server_url: str, timeout: float, deliver: Callable[[ServerStatus], None]) -> None:
        super().__init__()
        self._server_url = server_url
        self._timeout = timeout
        self._deliver = deliver

    def run(self) -> None:
        """Fetch and deliver; always delivers so the caller never waits forever."""
        try:
            status = fetch_health(self._server_url, self._timeout)
        except Exception as exc:  # an unexpected bug must still end the check
            logger.exception("health check crashed")
            status = interpret_health(self._server_url, None, None, error=repr(exc))
        self._deliver(status)


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
        self._pool = QThreadPool(self)
        # One thread: checks are rare, and results then arrive in request order.
        self._pool.setMaxThreadCount(1)

    @property
    def server_url(self) -> str:
        """The normalized server base URL."""
        return self._server_url

    def check(self) -> None:
        """Start one check in the background; the result arrives via ``checked``."""
        self._pool.start(_HealthJob(self._server_url, self._timeout, self.checked.emit))

    def shutdown(self) -> None:
        """Drop queued checks and wait for a running one (at most about the timeout)."""
        self._pool.clear()
        self._pool.waitForDone(int((self._timeout + 1.0) * 1000))
