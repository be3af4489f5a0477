"""Google sign-in from the desktop: OAuth 2.0 for native apps (RFC 8252) with PKCE (RFC 7636).

The app never sees the user's Google password. It reads Google's discovery document, opens the system browser on
the authorization page, and waits on a one-shot listener at ``http://127.0.0.1:<port>/`` (RFC 8252 §7.3) for the
browser to come back with a code. The code, the PKCE verifier that only this process knows and the client's
credentials are exchanged for an ID token, which goes to our server together with the nonce; the server checks its
signature and claims. A desktop client's secret is not confidential (Google ships it in installed apps), so PKCE
and the ``state`` are what keep a code stolen on the way from being usable by anyone else.

:meth:`GoogleSignIn.run` blocks for as long as the user takes in the browser: call it off the UI thread.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from desktop.core.api.models import GoogleProvider

__all__ = ["SCOPE", "GoogleIdentity", "GoogleSignIn", "GoogleSignInError"]

SCOPE: Final = "openid email profile"
HTTP_TIMEOUT: Final = httpx.Timeout(connect=10.0, read=20.0, write=20.0, pool=10.0)
_POLL_SECONDS: Final = 0.05
_LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "::1", "localhost"})
_ERROR_CODE: Final = re.compile(r"[a-z_]{1,64}")

_CANCELLED: Final = "Google sign-in was cancelled."
_DENIED: Final = "You cancelled the Google sign-in."
_TIMED_OUT: Final = "Google sign-in took too long: the browser never came back to Tech Pal. Please try again."
_WRONG_STATE: Final = "The browser came back with an answer that does not belong to this sign-in. Please try again."
_UNEXPECTED: Final = "Google's sign-in service gave an unexpected answer. Please try again later."
_NO_BROWSER: Final = "Tech Pal could not open your web browser for Google sign-in."


def _page(message: str) -> bytes:
    return (
        '<!doctype html><html lang="en"><meta charset="utf-8"><title>Tech Pal</title>'
        f'<body style="font-family:sans-serif;margin:3em"><p>{message}</p></body></html>'
    ).encode()


# The pages are constants: nothing from the request is ever written back into them.
_DONE_PAGE: Final = _page("You can close this tab and go back to Tech Pal.")
_STOPPED_PAGE: Final = _page("Google sign-in did not finish. You can close this tab and go back to Tech Pal.")
_WRONG_STATE_PAGE: Final = _page("This answer does not belong to a sign-in Tech Pal started, so it was refused.")
_NOT_FOUND_PAGE: Final = _page("Not found.")


@dataclass(frozen=True, slots=True)
class GoogleIdentity:
    """What our server needs to sign the user in: Google's ID token and the nonce this app put into it."""

    id_token: str
    nonce: str


class GoogleSignInError(Exception):
    """Google sign-in did not finish; ``str()`` is a sentence for the user, ``cancelled`` says the user chose so."""

    def __init__(self, message: str, *, cancelled: bool = False) -> None:
        super().__init__(message)
        self.cancelled = cancelled


@dataclass(frozen=True, slots=True)
class _Callback:
    """The browser's return to the loopback listener."""

    state_matches: bool
    code: str
    error: str

    @property
    def page(self) -> tuple[int, bytes]:
        """The status and page the browser gets for this return."""
        if not self.state_matches:
            return 400, _WRONG_STATE_PAGE
        return (200, _DONE_PAGE) if self.code and not self.error else (200, _STOPPED_PAGE)

    def code_or_raise(self) -> str:
        """The authorization code, or the reason there is none as a :class:`GoogleSignInError`."""
        if not self.state_matches:
            raise GoogleSignInError(_WRONG_STATE)
        if self.error == "access_denied":
            raise GoogleSignInError(_DENIED, cancelled=True)
        if self.error:
            detail = f" ({self.error})" if _ERROR_CODE.fullmatch(self.error) else ""
            raise GoogleSignInError(f"Google could not sign you in{detail}. Please try again.")
        if not self.code:
            raise GoogleSignInError(_UNEXPECTED)
        return self.code


def _single(query: dict[str, list[str]], name: str) -> str:
    """The parameter's value; ``""`` when it is absent or repeated (a repeated one is never trusted)."""
    values = query.get(name, [])
    return values[0] if len(values) == 1 else ""


class _CallbackServer(ThreadingHTTPServer):
    """Serves the loopback redirect; the first return carrying ``code`` or ``error`` is kept, later ones refused."""

    daemon_threads = True

    def __init__(self, expected_state: str) -> None:
        super().__init__(("127.0.0.1", 0), _CallbackHandler)
        self.expected_state = expected_state
        self.callback: _Callback | None = None
        self.answered = threading.Event()
        self._lock = threading.Lock()

    def accept(self, query: dict[str, list[str]]) -> _Callback | None:
        """Record the browser's return unless one was recorded already."""
        state = _single(query, "state")
        matches = bool(state) and hmac.compare_digest(state.encode(), self.expected_state.encode())
        with self._lock:
            if self.callback is not None:
                return None
            self.callback = _Callback(matches, _single(query, "code"), _single(query, "error"))
            return self.callback


class _CallbackHandler(BaseHTTPRequestHandler):
    """Answers the browser; requests for other paths (``/favicon.ico``) get a 404 and the wait goes on."""

    server: _CallbackServer
    timeout = 10  # an idle connection (a browser's speculative preconnect) is dropped, not kept forever

    def do_GET(self) -> None:
        """Take the redirect from Google, or refuse anything else."""
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        if parts.path != "/" or not ({"code", "error"} & query.keys()):
            self._send(404, _NOT_FOUND_PAGE)
            return
        callback = self.server.accept(query)
        if callback is None:
            self._send(404, _NOT_FOUND_PAGE)
            return
        try:
            self._send(*callback.page)
        finally:
            self.server.answered.set()

    def _send(self, status: int, page: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")  # the address holds the code
        self.send_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request line carries the authorization code, which must not reach any log."""


class _LoopbackListener(contextlib.AbstractContextManager["_LoopbackListener"]):
    """The one-shot listener, bound on creation so its address exists before the browser is opened.

    It is served from the thread that waits (the caller's worker): each connection gets a short-lived thread of
    the server's own, so a browser's idle preconnect cannot hold up the real redirect.
    """

    def __init__(self, expected_state: str) -> None:
        try:
            self._server = _CallbackServer(expected_state)
        except OSError as error:
            raise GoogleSignInError("Tech Pal could not wait for your browser: no local port is free.") from error
        self._server.timeout = _POLL_SECONDS  # handle_request() returns this often to look at cancel and the clock
        self.redirect_uri = f"http://127.0.0.1:{self._server.server_address[1]}/"

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._server.server_close()

    def wait(self, cancel: threading.Event, timeout: float) -> _Callback:
        """The browser's return; raises :class:`GoogleSignInError` on ``cancel`` or after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not self._server.answered.is_set():
            if cancel.is_set():
                raise GoogleSignInError(_CANCELLED, cancelled=True)
            if time.monotonic() >= deadline:
                raise GoogleSignInError(_TIMED_OUT)
            self._server.handle_request()
        assert self._server.callback is not None  # answered is set only after a callback was kept
        return self._server.callback


@dataclass(frozen=True, slots=True)
class _Endpoints:
    authorization: str
    token: str


class GoogleSignIn:
    """One Google sign-in through the system browser, for the client the server announced in ``provider``.

    Args:
        provider: The server's Google client: ``client_id``, ``client_secret`` and ``issuer`` are read.
        open_browser: Opens a URL in the system browser; a ``False`` result means it could not.
        http: The HTTP client for Google's endpoints; one is made (and closed) per run when omitted.
        timeout: Seconds to wait for the browser to come back.
    """

    def __init__(
        self,
        provider: GoogleProvider,
        open_browser: Callable[[str], object],
        *,
        http: httpx.Client | None = None,
        timeout: float = 300.0,
    ) -> None:
        self._client_id: str = provider.client_id
        self._client_secret: str = provider.client_secret
        self._issuer: str = provider.issuer
        self._open_browser = open_browser
        self._http = http
        self._timeout = timeout

    def run(self, cancel: threading.Event | None = None) -> GoogleIdentity:
        """Sign in and return Google's ID token; blocks until the browser comes back, ``cancel`` or the timeout.

        Raises:
            GoogleSignInError: with a sentence for the user (``cancelled`` when the user stopped it).
        """
        cancel = cancel or threading.Event()
        with contextlib.ExitStack() as stack:
            http = self._http if self._http is not None else stack.enter_context(httpx.Client(timeout=HTTP_TIMEOUT))
            endpoints = self._discover(http)
            verifier, state, nonce = secrets.token_urlsafe(64), secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            with _LoopbackListener(state) as listener:
                url = self._authorization_url(endpoints.authorization, listener.redirect_uri, verifier, state, nonce)
                if cancel.is_set():
                    raise GoogleSignInError(_CANCELLED, cancelled=True)
                if self._open_browser(url) is False:
                    raise GoogleSignInError(_NO_BROWSER)
                code = listener.wait(cancel, self._timeout).code_or_raise()
            id_token = self._exchange(http, endpoints.token, code, listener.redirect_uri, verifier)
        return GoogleIdentity(id_token=id_token, nonce=nonce)

    def _discover(self, http: httpx.Client) -> _Endpoints:
        """Google's endpoints from its discovery document, which must name the issuer we were given."""
        if not _is_secure(self._issuer):
            raise GoogleSignInError("The server announced a Google sign-in address that is not secure.")
        discovery_url = f"{self._issuer.rstrip('/')}/.well-known/openid-configuration"
        response = self._request(http, "GET", discovery_url)
        document = _json_object(response)
        if response.status_code != 200 or document is None:
            raise GoogleSignInError(_UNEXPECTED)
        if document.get("issuer") != self._issuer:
            raise GoogleSignInError(
                "Google's sign-in service did not identify itself as the one the server named, so Tech Pal "
                "stopped the sign-in."
            )
        authorization, token = document.get("authorization_endpoint"), document.get("token_endpoint")
        if not (isinstance(authorization, str) and isinstance(token, str)):
            raise GoogleSignInError(_UNEXPECTED)
        if not (_is_secure(authorization) and _is_secure(token)):
            raise GoogleSignInError(_UNEXPECTED)
        return _Endpoints(authorization, token)

    def _authorization_url(self, endpoint: str, redirect_uri: str, verifier: str, state: str, nonce: str) -> str:
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=")
        params = {
            "response_type": "code",
            "client_id": self._client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPE,
            "code_challenge": challenge.decode("ascii"),
            "code_challenge_method": "S256",
            "state": state,
            "nonce": nonce,
        }
        separator = "&" if urlsplit(endpoint).query else "?"
        return f"{endpoint}{separator}{urlencode(params, quote_via=quote)}"

    def _exchange(self, http: httpx.Client, endpoint: str, code: str, redirect_uri: str, verifier: str) -> str:
        """Trade the authorization code (and the PKCE verifier) for Google's ID token."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "code_verifier": verifier,
        }
        response = self._request(http, "POST", endpoint, data=form, headers={"Accept": "application/json"})
        body = _json_object(response)
        if response.status_code != 200:
            error = body.get("error") if body else None
            detail = f" ({error})" if isinstance(error, str) and _ERROR_CODE.fullmatch(error) else ""
            raise GoogleSignInError(f"Google refused the sign-in{detail}. Please try again.")
        id_token = body.get("id_token") if body else None
        if not isinstance(id_token, str) or not id_token:
            raise GoogleSignInError(_UNEXPECTED)
        return id_token

    def _request(self, http: httpx.Client, method: str, url: str, **options: Any) -> httpx.Response:
        try:
            return http.request(method, url, **options)
        except httpx.HTTPError as error:
            raise GoogleSignInError(
                "Tech Pal cannot reach Google's sign-in service. Check your internet connection and try again."
            ) from error


def _is_secure(url: str) -> bool:
    """HTTPS, or plain HTTP to this computer (a local issuer); anything else could be read or changed on the way."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return bool(parts.hostname) and (
        parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS)
    )


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The response's JSON object; ``None`` when the body is not one."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
