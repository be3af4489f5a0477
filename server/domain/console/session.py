"""The console's sign-in session: a cookie holding a token that names a real session of the accounts slice.

A console sign-in opens a session like any other (``AccountService.login``), named "Support console — <browser>",
so it is listed among the user's sessions (``GET /api/v1/auth/sessions``) and revocable like the others. The cookie
``techpal_console`` holds a token naming that session, valid 12 hours and signed with a key of its own (the app
context's ``console_tokens``): it is no API bearer token, and no API token is a console cookie; no refresh token
ever reaches the browser. Every request authenticates it with ``AccountService.authenticate``, which
checks the session row: a revoked session is signed out at its next click (``deps.provide_staff``).

The cookie is ``HttpOnly`` (no script reads it), ``SameSite=Lax`` (another site's form posts and script requests go
without it; only following a link brings it along), scoped to ``/console`` (the JSON API never sees it), and
``Secure`` whenever the request came over TLS: served with ``TECHPAL_TLS_CERT``, or through a proxy in
``TECHPAL_TRUSTED_PROXIES`` that said ``X-Forwarded-Proto: https`` (the same judgement the security-header middleware
makes for HSTS).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from litestar.datastructures import Cookie

from server.lib.exceptions import NotAuthenticated, PermissionDenied

if TYPE_CHECKING:
    from litestar import Request

    from server.domain.accounts import Principal

__all__ = [
    "COOKIE_NAME",
    "COOKIE_PATH",
    "CSRF_COOKIE",
    "SERVED_OVER_TLS",
    "SESSION_SECONDS",
    "AdminsOnly",
    "SignInRequired",
    "StaffOnly",
    "came_over_tls",
    "console_device_name",
    "ended_cookie",
    "fresh_csrf_cookie",
    "safe_next",
    "session_cookie",
]

COOKIE_NAME = "techpal_console"
CSRF_COOKIE = "techpal_console_csrf"  # the CSRF middleware's cookie (see router.py)
COOKIE_PATH = "/console"
SESSION_SECONDS = 12 * 3600  # a working day and then some; then sign in again
HOME = "/console"
SERVED_OVER_TLS = "console_served_over_tls"  # the router's opt key: the server itself terminates TLS

# Most specific first: Edge and Opera also say "Chrome", Chrome also says "Safari".
_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
             ("Safari/", "Safari"))  # fmt: skip
_SAFE_NEXT = re.compile(r"/console(?:[/?#][^\\\s]*)?")


class SignInRequired(NotAuthenticated):
    """No console session, or one that ended: the pages send the browser to the sign-in form."""

    default_code = "console_sign_in_required"


class StaffOnly(PermissionDenied):
    """Signed in, but neither agent nor admin: the console is for support staff."""

    default_code = "staff_only"


class AdminsOnly(PermissionDenied):
    """An agent opened an admin's page: the "not for you" page, with the agent still signed in (``staff``)."""

    default_code = "admins_only"

    def __init__(self, staff: Principal) -> None:
        super().__init__("This page is for admins.")
        self.staff = staff


def came_over_tls(request: Request[Any, Any, Any]) -> bool:
    """Whether the browser reached us over HTTPS: served directly with TLS, or via a trusted proxy that said so.

    The console's router records ``TECHPAL_TLS_CERT`` in its ``opt`` (:data:`SERVED_OVER_TLS`); the request-context
    middleware set the scheme to ``https`` for a trusted proxy's ``X-Forwarded-Proto: https``.
    """
    return bool(request.route_handler.opt.get(SERVED_OVER_TLS)) or request.scope.get("scheme") == "https"


def session_cookie(token: str, *, secure: bool) -> Cookie:
    """The session cookie carrying ``token`` (see the module docstring for its attributes)."""
    return Cookie(
        key=COOKIE_NAME,
        value=token,
        path=COOKIE_PATH,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def fresh_csrf_cookie() -> Cookie:
    """The CSRF cookie dropped at sign-in: the next page gets a new token (one planted before sign-in is worthless)."""
    return Cookie(key=CSRF_COOKIE, value="", path=COOKIE_PATH, max_age=0, httponly=True, samesite="lax")


def ended_cookie(*, secure: bool) -> Cookie:
    """The session cookie emptied and expired: the browser drops it."""
    return Cookie(key=COOKIE_NAME, value="", path=COOKIE_PATH, max_age=0, httponly=True, samesite="lax", secure=secure)


def console_device_name(user_agent: str | None) -> str:
    """The session's device name in the user's list: ``Support console — Firefox``."""
    agent = user_agent or ""
    browser = next((name for marker, name in _BROWSERS if marker in agent), "browser")
    return f"Support console — {browser}"


def safe_next(raw: str | None) -> str:
    """Where to go after signing in: a console path, never another site (``//evil.example``) or ``javascript:``."""
    value = (raw or "").strip()
    return value if _SAFE_NEXT.fullmatch(value) and ".." not in value else HOME
