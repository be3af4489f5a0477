"""The anonymous usage events' one request: a batch to ``POST /api/v1/analytics/events``.

A part of :class:`~desktop.core.api.client.ApiClient` (a mixin: the client provides the transport declared here).
The request carries the bearer token like every other (the server admits only signed-in apps) but the body names no
account: the server stores the events without it and without the client's address.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from desktop.core.api.models import AnalyticsAccepted
from desktop.core.api.responses import decode
from desktop.core.api.routes import API

if TYPE_CHECKING:
    import httpx

    from desktop.core.analytics import UsageBatch

__all__ = ["AnalyticsRequests"]


class AnalyticsRequests:
    """The usage-events request of the API client (the client provides ``_send``)."""

    def _send(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> httpx.Response:
        raise NotImplementedError

    def send_analytics(self, batch: UsageBatch, *, timeout: float | None = None) -> int:
        """Send one batch of usage events (at most 200); returns how many the server accepted.

        Args:
            batch: The events and what describes this run of the app (:meth:`UsageBatch.as_json` is the body).
            timeout: Seconds for each phase of the request, instead of the client's usual timeouts (at quit).

        Raises:
            ApiError: ``rate_limited`` (429: too frequent; keep the batch for later), ``validation_error`` (422),
                :class:`~desktop.core.api.errors.ServerUnreachable`, :class:`~desktop.core.api.errors.SessionExpired`.
        """
        options: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        response = self._send("POST", f"{API}/analytics/events", json=batch.as_json(), **options)
        return decode(response, AnalyticsAccepted).accepted
