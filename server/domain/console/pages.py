"""How a console page is written: one layout, one navigation, one helper, one way errors look.

A route returns :func:`page` (a whole page in ``layout.html``) or :func:`fragment` (a piece htmx swaps in), both with
the console's headers: its own Content-Security-Policy (this origin's scripts and styles only, no inline script or
style at all), ``Cache-Control: no-store`` (pages show personal data) and ``Vary`` on the htmx headers. Every page
gets the signed-in staff member and the navigation for their role; a template extends ``layout.html`` and fills
``main``. Errors raised by console routes become pages too (:func:`console_error`): a missing or ended session goes
to the sign-in form, a user without a staff role gets the "for support staff" page, an agent on an admin's page the
"not for you" page, anything else an error page with the problem's status and text. A new page: a template, a route
returning ``page(...)``, and, if it belongs in the navigation, a :data:`NAVIGATION` entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.response import Redirect, Template

from server.domain.console.session import (
    COOKIE_NAME,
    AdminsOnly,
    StaffOnly,
    came_over_tls,
    ended_cookie,
    safe_next,
)
from server.lib.errors import to_problem_response
from server.lib.exceptions import NotAuthenticated, TechPalError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from litestar.datastructures import Cookie

    from server.domain.accounts import Principal

__all__ = [
    "CONSOLE_CSP",
    "NAVIGATION",
    "PLAIN_ERRORS",
    "NavItem",
    "console_error",
    "error_page",
    "fragment",
    "is_htmx",
    "not_for_you_page",
    "page",
    "see_other",
    "sign_in_redirect",
    "staff_only_page",
]

# Stricter than the other pages' CSP: no inline style either, and nothing from anywhere but this origin.
CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONSOLE_CSP,
    "Cache-Control": "no-store",
    "Vary": "HX-Request, HX-Target",
}
# A route whose ``opt`` sets this answers errors as problem details (the event stream: EventSource reads no pages).
PLAIN_ERRORS = "console_plain_errors"


@dataclass(frozen=True, slots=True)
class NavItem:
    """One entry of the navigation: shown to the ``roles`` listed, marked current under its ``href``."""

    label: str
    href: str
    roles: frozenset[str] = frozenset({"agent", "admin"})


# The console's one navigation, in order.
NAVIGATION: tuple[NavItem, ...] = (
    NavItem("Queue", "/console"),
    NavItem("Knowledge review", "/console/kb"),
    NavItem("Users", "/console/admin/users", roles=frozenset({"admin"})),
)


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    """Whether htmx sent the request (it then wants a fragment, or a redirect told in ``HX-Redirect``)."""
    return request.headers.get("hx-request") == "true"


def _navigation(staff: Principal | None, path: str) -> list[dict[str, Any]]:
    if staff is None:
        return []
    items = [item for item in NAVIGATION if staff.user.role in item.roles]
    # The longest matching prefix is the current page ("/console" would match every page).
    current = max((i.href for i in items if path == i.href or path.startswith(f"{i.href}/")), key=len, default="")
    return [{"label": i.label, "href": i.href, "current": i.href == current} for i in items]


def page(
    request: Request[Any, Any, Any],
    template: str,
    *,
    title: str,
    staff: Principal | None,
    status: int = 200,
    cookies: Iterable[Cookie] = (),
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    """A whole page: ``template`` (extending ``layout.html``) with the layout's context and the console's headers."""
    layout = {
        "title": title,
        "staff": staff.user if staff is not None else None,
        "navigation": _navigation(staff, request.url.path),
    }
    return Template(
        template_name=template,
        context={**layout, **context},
        status_code=status,
        headers={**HEADERS, **(headers or {})},
        cookies=list(cookies),
        media_type="text/html",
    )


def fragment(template: str, *, status: int = 200, **context: Any) -> Template:
    """A piece of a page for htmx to swap in (no layout), with the console's headers."""
    return Template(
        template_name=template, context=context, status_code=status, headers=HEADERS, media_type="text/html"
    )


def see_other(request: Request[Any, Any, Any], url: str) -> Response[Any]:
    """After a form: a 303 to ``url``; to htmx, when ``url`` has a fragment, a 204 with ``HX-Location: url``.

    htmx follows a 303 by XHR, which never sees the fragment (``#message-…``, ``#user-…``): the page would come back
    at its top. Told ``HX-Location``, htmx (2.0) fetches ``url`` itself, swaps it into the body, scrolls the
    fragment's element into view and puts ``url``, fragment included, into the address bar and the history.
    """
    if is_htmx(request) and "#" in url:
        return Response(None, status_code=204, headers={**HEADERS, "HX-Location": url})
    return Redirect(url, status_code=303, headers=HEADERS)


def sign_in_redirect(request: Request[Any, Any, Any]) -> Response[Any]:
    """To the sign-in form, coming back here afterwards; the session cookie goes if there was one."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = "/console/login" if request.method != "GET" else "/console/login?" + urlencode({"next": safe_next(here)})
    cookies = [ended_cookie(secure=came_over_tls(request))] if COOKIE_NAME in request.cookies else []
    if is_htmx(request):  # htmx would follow a 303 and swap the sign-in form into part of a page
        return Response(b"", status_code=401, headers={**HEADERS, "HX-Redirect": target}, cookies=cookies)
    return Redirect(target, status_code=303, headers=HEADERS, cookies=cookies)


def staff_only_page(request: Request[Any, Any, Any]) -> Template:
    """The "for support staff" page (403); a console cookie is dropped with it."""
    cookies = [ended_cookie(secure=came_over_tls(request))] if COOKIE_NAME in request.cookies else []
    return page(request, "staff_only.html", title="For support staff", staff=None, status=403, cookies=cookies)


def not_for_you_page(request: Request[Any, Any, Any], staff: Principal) -> Template:
    """The "not for you" page (403): an agent opened an admin's page; they stay signed in, navigation and all."""
    return page(request, "not_for_you.html", title="For admins", staff=staff, status=403)


def error_page(
    request: Request[Any, Any, Any], status: int, detail: str, *, headers: dict[str, str] | None = None
) -> Template:
    """A page saying what went wrong, with the problem's status."""
    return page(
        request,
        "error.html",
        title=HTTPStatus(status).phrase,
        staff=None,
        status=status,
        headers=headers,
        status_phrase=HTTPStatus(status).phrase,
        detail=detail,
    )


def console_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The console's exception handler: every error a console route raises, as a page (see the module docstring)."""
    if request.route_handler.opt.get(PLAIN_ERRORS):
        return to_problem_response(request, exc)
    if isinstance(exc, NotAuthenticated):  # SignInRequired is one
        return sign_in_redirect(request)
    if isinstance(exc, StaffOnly):
        return staff_only_page(request)
    if isinstance(exc, AdminsOnly):
        return not_for_you_page(request, exc.staff)
    status, detail, headers = _explained(request, exc)
    return error_page(request, status, detail, headers=headers)


def _explained(request: Request[Any, Any, Any], exc: Exception) -> tuple[int, str, dict[str, str]]:
    """The status, text and headers of an error page for ``exc``."""
    if isinstance(exc, TechPalError):
        return exc.status_code, exc.detail, exc.headers
    if isinstance(exc, PermissionDeniedException) and "CSRF" in exc.detail:
        return 403, "This form has expired. Go back, reload the page and try again.", {}
    if isinstance(exc, HTTPException):
        return exc.status_code, exc.detail, dict(exc.headers or {})
    answer = to_problem_response(request, exc)  # logs it, and knows the overloads that are a 503
    return answer.status_code or 500, "Something went wrong on our side; it has been logged.", {}
