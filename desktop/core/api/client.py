"""Synchronous client of the Tech Pal server API, made to run in worker threads.

Qt cannot open connections from its asyncio loop (ADR 3), so the desktop does its network I/O with a blocking
``httpx.Client`` inside a worker thread. One client can serve several worker threads at once: ``httpx.Client``
is thread-safe, and the token refresh is serialized with a lock so that two threads that both see a 401 rotate
the refresh token once (the server kills a spent refresh token, and presenting it again ends the session).

Every failure is an :class:`~desktop.core.api.errors.ApiError` with a sentence for the user.
"""

from __future__ import annotations

import json
import logging
import platform
import threading
import uuid
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Final

import httpx

from desktop.core.api.account import AccountRequests
from desktop.core.api.analytics import AnalyticsRequests
from desktop.core.api.errors import (
    ApiError,
    ServerUnreachable,
    SessionExpired,
)
from desktop.core.api.models import (
    PlanCatalogue,
    Profile,
    Subscription,
    Ticket,
    TicketChanged,
    TicketDetail,
    TicketPage,
    TokenPair,
    UrlResponse,
)
from desktop.core.api.responses import checked, decode, unexpected
from desktop.core.api.routes import API, segment
from desktop.core.api.sign_up import SignUpRequests
from desktop.core.api.streams import EventStream, StreamEvent, iter_answer, iter_events
from desktop.core.auth import StoredTokens, TokenStore
from desktop.core.ocr_text import MEDIA_TYPE as OCR_MEDIA_TYPE
from desktop.core.ocr_text import part_name
from desktop.core.version import app_version

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from desktop.core.question import Question

__all__ = ["ApiClient", "EventStream", "StreamEvent", "app_version", "user_agent"]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT: Final = httpx.Timeout(connect=5.0, read=30.0, write=60.0, pool=10.0)
# A streamed answer may pause while the model thinks; the events stream sends keep-alives well within this.
STREAM_TIMEOUT: Final = httpx.Timeout(connect=5.0, read=120.0, write=60.0, pool=10.0)


def user_agent() -> str:
    """``TechPal-Desktop/<version>``, so the server's logs tell app versions apart."""
    return f"TechPal-Desktop/{app_version()}"


def default_device_name() -> str:
    """What the server lists under "signed-in devices" when the UI gives no name: the system, never the host name."""
    return f"Tech Pal on {platform.system() or 'this computer'}"[:200]


class ApiClient(SignUpRequests, AccountRequests, AnalyticsRequests, AbstractContextManager["ApiClient"]):
    """The server's API as blocking methods. Close it (or use ``with``) to release connections.

    Registering, confirming the address, a forgotten password and the sign-in providers come from
    :class:`SignUpRequests`; the account's password, two-step sign-in, devices and data-rights requests from
    :class:`AccountRequests`; the anonymous usage events from :class:`AnalyticsRequests`.

    Args:
        server_url: Normalized base URL, e.g. ``"https://help.example.com"`` (a path prefix is kept).
        tokens: Where the session's token pair lives (the OS keyring in the app).
        account: The signed-in user's id when restoring a session; a sign-in (:meth:`login`, :meth:`login_otp`,
            :meth:`google_login`) sets it.
        transport: An ``httpx`` transport; tests pass ``httpx.MockTransport``.
        timeout: Per-phase timeouts of ordinary requests.
    """

    def __init__(
        self,
        server_url: str,
        *,
        tokens: TokenStore,
        account: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.server_url = server_url.rstrip("/")
        self._store = tokens
        self._account = account
        self._refresh_lock = threading.Lock()
        self._http = httpx.Client(
            base_url=self.server_url,
            transport=transport,
            timeout=timeout,
            follow_redirects=False,  # a redirect could carry the bearer token to another host
            headers={"User-Agent": user_agent(), "Accept": "application/json"},
        )

    # ------------------------------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Close the connection pool; a stream being read in another thread ends with an error."""
        self._http.close()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def account(self) -> str | None:
        """The signed-in user's id (the token store's account key), or ``None``."""
        return self._account

    @property
    def signed_in(self) -> bool:
        """Whether a token pair is stored for this account and server (it may still turn out revoked)."""
        return self._account is not None and self._store.load(self.server_url, self._account) is not None

    # ------------------------------------------------------------------------------------------ accounts
    def health(self) -> dict[str, Any]:
        """``GET /health`` as a plain dict (its shape is for humans and monitoring)."""
        response = self._send("GET", "/health", auth=False)
        document = decode(response, object)
        if not isinstance(document, dict):
            raise unexpected(response, ValueError("health answer is not an object"))
        return document

    def login(self, login: str, password: str, *, device_name: str | None = None) -> Profile:
        """Sign in with e-mail or username, store the token pair, and return the profile.

        The account key of the token store is the user's id (stable across renames), read from ``/me``.

        Raises:
            OtpRequired: Two-step sign-in is on: send its ``challenge`` and the code to :meth:`login_otp`.
        """
        body = {"login": login, "password": password, "device_name": device_name or default_device_name()}
        return self._signed_in(self._send("POST", f"{API}/auth/login", json=body, auth=False))

    def login_otp(self, challenge: str, code: str) -> Profile:
        """Finish a sign-in that answered ``otp_required``: the 6-digit code, or one of the recovery codes.

        Raises:
            ApiError: ``invalid_otp`` (try again while attempts are left), ``challenge_expired`` (sign in again).
        """
        body = {"challenge": challenge, "code": code}
        return self._signed_in(self._send("POST", f"{API}/auth/login/otp", json=body, auth=False))

    def google_login(
        self, id_token: str, nonce: str, *, age_confirmed: bool = False, device_name: str | None = None
    ) -> Profile:
        """Sign in with the ID token Google issued for ``nonce``; the first sign-in makes the account.

        Raises:
            ApiError: ``age_required`` on a first sign-in without ``age_confirmed`` (nothing is stored: send the
                same token and nonce again with it), ``invalid_id_token``, ``email_unverified``,
                ``link_requires_password``, ``google_disabled``.
            OtpRequired: Two-step sign-in is on.
            AccountDeleted: The account is deleted and can be restored.
        """
        body = {
            "id_token": id_token,
            "nonce": nonce,
            "device_name": device_name or default_device_name(),
            "age_confirmed": age_confirmed,
        }
        return self._signed_in(self._send("POST", f"{API}/auth/google", json=body, auth=False))

    def _signed_in(self, response: httpx.Response) -> Profile:
        """Keep the token pair a sign-in answered with, under the account id ``/me`` gives; return the profile."""
        pair = decode(response, TokenPair)
        tokens = StoredTokens(pair.access_token, pair.refresh_token)
        profile = decode(self._send_with(tokens, "GET", f"{API}/me"), Profile)
        self._account = str(profile.id)
        self._store.save(self.server_url, self._account, tokens)
        return profile

    def logout(self, *, timeout: float | None = None) -> None:
        """End the session on the server if it can be reached, and forget the tokens locally in any case.

        Args:
            timeout: Seconds for each phase of the request, instead of the client's usual timeouts.
        """
        if self._account is None:
            return
        try:
            options: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
            self._send("POST", f"{API}/auth/logout", **options)
        except ApiError as exc:  # signed out locally all the same: that is what the user asked for
            logger.warning("server-side logout failed (%s); tokens forgotten locally", exc.code)
        finally:
            self.forget()

    def forget(self) -> None:
        """Forget the tokens locally without asking the server (which ended the session itself: a deleted account)."""
        if self._account is not None:
            self._store.clear(self.server_url, self._account)
            self._account = None

    def me(self) -> Profile:
        """The signed-in user's profile."""
        return decode(self._send("GET", f"{API}/me"), Profile)

    def update_me(self, **changes: Any) -> Profile:
        """Change profile fields (``name``, ``username``, ``email``, …); absent ones stay."""
        return decode(self._send("PATCH", f"{API}/me", json=changes), Profile)

    # ------------------------------------------------------------------------------------------ tickets
    def create_ticket(self, question: Question, *, idempotency_key: str | None = None) -> Ticket:
        """Send a question, its redacted screenshots and their text; a resend with the same key gets the same ticket."""
        # Every field is a part of its own, so the body is multipart even without screenshots.
        parts: list[tuple[str, tuple[str | None, bytes] | tuple[str | None, bytes, str]]] = [
            ("description", (None, question.description.encode()))
        ]
        if question.priority is not None:
            parts.append(("priority", (None, question.priority.encode())))
        if question.category is not None:
            parts.append(("category", (None, question.category.encode())))
        if question.device is not None:
            parts.append(("device", (None, json.dumps(question.device).encode(), "application/json")))
        parts.extend(("screenshots", (a.filename, a.data, a.media_type)) for a in question.attachments)
        # The text read here on screenshot n (only lines no redaction box touches); without it the server reads it.
        parts.extend(
            (part_name(n), (None, a.ocr.to_json(), OCR_MEDIA_TYPE))
            for n, a in enumerate(question.attachments)
            if a.ocr is not None
        )
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        response = self._send("POST", f"{API}/tickets", files=parts, headers=headers)
        return decode(response, Ticket)

    def list_tickets(self, *, limit: int = 50, offset: int = 0) -> TicketPage:
        """One page of my tickets, newest first."""
        return decode(self._send("GET", f"{API}/tickets", params={"limit": limit, "offset": offset}), TicketPage)

    def get_ticket(self, ticket_id: str) -> TicketDetail:
        """A ticket with its messages, screenshots and history."""
        return decode(self._send("GET", f"{API}/tickets/{segment(ticket_id)}"), TicketDetail)

    def resolve(self, ticket_id: str) -> EventStream[StreamEvent]:
        """Ask for the AI answer; yields typed events as they arrive (see :meth:`_stream_answer`)."""
        return self._stream_answer(f"{API}/tickets/{segment(ticket_id)}/resolve", None)

    def send_message(self, ticket_id: str, content: str) -> EventStream[StreamEvent]:
        """A follow-up question; the answer streams like :meth:`resolve`."""
        return self._stream_answer(f"{API}/tickets/{segment(ticket_id)}/messages", {"content": content})

    def send_feedback(self, ticket_id: str, *, resolved: bool, comment: str | None = None) -> None:
        """Send "Fixed it" (``resolved=True``) or "Still broken" (escalates to an agent)."""
        body: dict[str, Any] = {"resolved": resolved}
        if comment:
            body["comment"] = comment
        self._send("POST", f"{API}/tickets/{segment(ticket_id)}/feedback", json=body)

    def events(self) -> EventStream[TicketChanged]:
        """Changes of my tickets (agent replies, status) as they happen; iterate in a worker, close to stop.

        The iterator ends when the server closes the stream; the caller reconnects after a pause.
        """
        response = self._open_stream("GET", f"{API}/events", None)
        return EventStream(response, iter_events(response))

    # ------------------------------------------------------------------------------------------ billing
    def plans(self) -> PlanCatalogue:
        """The plans on offer, and whether this server sells subscriptions at all."""
        return decode(self._send("GET", f"{API}/billing/plans"), PlanCatalogue)

    def subscription(self) -> Subscription:
        """Plan, status, period end and usage against quota."""
        return decode(self._send("GET", f"{API}/billing/subscription"), Subscription)

    def checkout_url(self, plan: str) -> str:
        """A Stripe Checkout URL to open in the browser (409 ``billing_disabled`` when the server has no Stripe)."""
        return decode(self._send("POST", f"{API}/billing/checkout", json={"plan": plan}), UrlResponse).url

    def portal_url(self) -> str:
        """A Stripe Customer Portal URL to open in the browser."""
        return decode(self._send("POST", f"{API}/billing/portal"), UrlResponse).url

    # ------------------------------------------------------------------------------------------ plumbing
    def _current_tokens(self) -> StoredTokens:
        if self._account is None:
            raise SessionExpired(message="Please sign in to continue.")
        tokens = self._store.load(self.server_url, self._account)
        if tokens is None:
            raise SessionExpired()
        return tokens

    def _send(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> httpx.Response:
        """One request; with ``auth``, a 401 triggers one refresh and one retry."""
        if not auth:
            return checked(self._transmit(lambda: self._http.build_request(method, path, **kwargs)))
        tokens = self._current_tokens()
        response = self._send_with(tokens, method, path, check=False, **kwargs)
        if response.status_code == 401:
            tokens = self._refresh(tokens)
            response = self._send_with(tokens, method, path, check=False, **kwargs)
            if response.status_code == 401:
                self._expire()
        return checked(response)

    def _send_with(
        self, tokens: StoredTokens, method: str, path: str, *, check: bool = True, **kwargs: Any
    ) -> httpx.Response:
        def build() -> httpx.Request:
            request = self._http.build_request(method, path, **kwargs)
            request.headers["Authorization"] = f"Bearer {tokens.access_token}"
            return request

        response = self._transmit(build)
        return checked(response) if check else response

    def _transmit(self, build: Callable[[], httpx.Request], *, stream: bool = False) -> httpx.Response:
        try:
            return self._http.send(build(), stream=stream)
        except httpx.TransportError as exc:
            logger.info("request to %s failed: %r", self.server_url, exc)
            raise ServerUnreachable(detail=str(exc) or type(exc).__name__) from exc

    def _refresh(self, stale: StoredTokens) -> StoredTokens:
        """Rotate the pair once, even when several threads got a 401 with the same stale access token."""
        with self._refresh_lock:
            current = self._current_tokens()
            if current.access_token != stale.access_token:
                return current  # another thread rotated while we waited
            # ServerUnreachable propagates and the tokens stay: the session may well be fine once the network is back.
            response = self._transmit(
                lambda: self._http.build_request(
                    "POST", f"{API}/auth/refresh", json={"refresh_token": current.refresh_token}
                )
            )
            if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
                logger.info("refresh refused (HTTP %d); signing out", response.status_code)
                self._expire()
            pair = decode(checked(response), TokenPair)
            fresh = StoredTokens(pair.access_token, pair.refresh_token)
            assert self._account is not None  # _current_tokens() checked it
            self._store.save(self.server_url, self._account, fresh)
            return fresh

    def _expire(self) -> None:
        if self._account is not None:
            self._store.clear(self.server_url, self._account)
        raise SessionExpired()

    def _open_stream(
        self, method: str, path: str, body: dict[str, Any] | None, *, accept: str = "text/event-stream"
    ) -> httpx.Response:
        """Open a streamed response (events, a download), refreshing once on 401; error statuses raise at once."""
        kwargs: dict[str, Any] = {"headers": {"Accept": accept}, "timeout": STREAM_TIMEOUT}
        if body is not None:
            kwargs["json"] = body
        tokens = self._current_tokens()
        for attempt in range(2):

            def build(tokens: StoredTokens = tokens) -> httpx.Request:
                request = self._http.build_request(method, path, **kwargs)
                request.headers["Authorization"] = f"Bearer {tokens.access_token}"
                return request

            response = self._transmit(build, stream=True)
            if response.status_code == 401:
                response.close()
                if attempt == 0:
                    tokens = self._refresh(tokens)
                    continue
                self._expire()
            if response.is_error:
                try:
                    response.read()
                finally:
                    response.close()
                checked(response)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _stream_answer(self, path: str, body: dict[str, Any] | None) -> EventStream[StreamEvent]:
        # Open eagerly so that HTTP errors (402 quota, 404, 401 → refresh) raise here, not at the first next().
        response = self._open_stream("POST", path, body)
        return EventStream(response, iter_answer(response))
