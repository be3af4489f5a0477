"""Signing in to and out of the console: the accounts slice's password and code steps, staff only.

``GET /console/login`` shows the form; ``POST /console/login`` checks the password with ``AccountService.login`` (its
throttles included). With two-step sign-in on, that answers ``otp_required`` with a challenge: the second form asks
for the code and ``POST /console/login/code`` finishes with ``AccountService.login_with_code``. Either way the
session opened is a real one (see :mod:`server.domain.console.session`); an account that is neither agent nor admin
gets the "for support staff" page with status 403, which rolls its new session back (ADR 9), and its sign-in is
ended explicitly as well. ``POST /console/logout`` ends the session and drops the cookie.
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter, SkipValidation
from litestar.response import Redirect

from server.domain.accounts import AccountService, Principal, client_ip
from server.domain.console.deps import CONSOLE_DEPENDENCIES
from server.domain.console.forms import read_form, text_field
from server.domain.console.pages import page, staff_only_page
from server.domain.console.session import (
    COOKIE_NAME,
    SESSION_SECONDS,
    came_over_tls,
    console_device_name,
    ended_cookie,
    fresh_csrf_cookie,
    safe_next,
    session_cookie,
)
from server.domain.tickets import STAFF_ROLES
from server.lib.clock import Clock
from server.lib.crypto import AccessTokenSigner
from server.lib.exceptions import NotAuthenticated, NotFound, TechPalError

__all__ = ["SignInController"]

LOGIN_FORM = "login.html"
CODE_FORM = "code.html"
OTP_REQUIRED = "otp_required"  # AccountService.login's answer when two-step sign-in is on (with a challenge)


class SignInController(Controller):
    """The sign-in form, its code step and signing out."""

    path = "/"
    dependencies = CONSOLE_DEPENDENCIES

    @get("/login", name="console_login")
    async def login_form(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[SkipValidation[AccountService]],
        console_tokens: NamedDependency[SkipValidation[AccessTokenSigner]],
        next_page: Annotated[str | None, QueryParameter(name="next")] = None,
    ) -> Response[Any]:
        """The form; a staff member already signed in goes straight on."""
        destination = safe_next(next_page)
        if await _signed_in_staff(request, accounts, console_tokens) is not None:
            return Redirect(destination, status_code=303)
        return page(request, LOGIN_FORM, title="Sign in", staff=None, next=destination, login="", error=None)

    @post("/login", status_code=303)
    async def login(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[SkipValidation[AccountService]],
        console_tokens: NamedDependency[SkipValidation[AccessTokenSigner]],
        clock: NamedDependency[SkipValidation[Clock]],
    ) -> Response[Any]:
        """The password step: on to the console, to the code form, or back to this form with the reason."""
        form = await read_form(request)
        destination = safe_next(text_field(form, "next", max_chars=2000))
        login = text_field(form, "login", max_chars=320)
        password = text_field(form, "password", max_chars=1024, strip=False)
        device = console_device_name(request.headers.get("user-agent"))
        try:
            pair = await accounts.login(login, password, device, client_ip(request))
        except TechPalError as refused:
            if refused.code == OTP_REQUIRED:  # the password was right; the challenge outlives this answer
                challenge = str(refused.extra["challenge"])
                return page(request, CODE_FORM, title="Enter your code", staff=None, challenge=challenge,
                            next=destination, error=None)  # fmt: skip
            return page(request, LOGIN_FORM, title="Sign in", staff=None, status=refused.status_code,
                        headers=refused.headers, next=destination, login=login, error=refused.detail)  # fmt: skip
        return await _enter(
            request, accounts, console_tokens, clock, access_token=pair.access_token, destination=destination
        )

    @post("/login/code", status_code=303)
    async def login_code(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[SkipValidation[AccountService]],
        console_tokens: NamedDependency[SkipValidation[AccessTokenSigner]],
        clock: NamedDependency[SkipValidation[Clock]],
    ) -> Response[Any]:
        """The code step: on to the console, this form again after a wrong code, or the sign-in form once it expired."""
        form = await read_form(request)
        destination = safe_next(text_field(form, "next", max_chars=2000))
        challenge = text_field(form, "challenge", max_chars=200)
        code = text_field(form, "code", max_chars=32)
        try:
            pair = await accounts.login_with_code(challenge, code, client_ip(request))
        except TechPalError as refused:
            if refused.code == "challenge_expired":
                return page(request, LOGIN_FORM, title="Sign in", staff=None, status=refused.status_code,
                            next=destination, login="", error=refused.detail)  # fmt: skip
            attempts_left = refused.extra.get("attempts_left")
            error = f"{refused.detail} ({attempts_left} tries left.)" if attempts_left else refused.detail
            return page(request, CODE_FORM, title="Enter your code", staff=None, status=refused.status_code,
                        headers=refused.headers, challenge=challenge, next=destination, error=error)  # fmt: skip
        return await _enter(
            request, accounts, console_tokens, clock, access_token=pair.access_token, destination=destination
        )

    @post("/logout", status_code=303)
    async def logout(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[SkipValidation[AccountService]],
        console_tokens: NamedDependency[SkipValidation[AccessTokenSigner]],
    ) -> Response[Any]:
        """End this console session (whatever its state) and go to the sign-in form."""
        token = request.cookies.get(COOKIE_NAME)
        if token:
            with contextlib.suppress(NotAuthenticated):  # already ended: only the cookie is left to drop
                await accounts.logout(await accounts.authenticate(token, signer=console_tokens))
        return Redirect("/console/login", status_code=303, cookies=[ended_cookie(secure=came_over_tls(request))])


async def _signed_in_staff(
    request: Request[Any, Any, Any], accounts: AccountService, console_tokens: AccessTokenSigner
) -> Principal | None:
    token = request.cookies.get(COOKIE_NAME)
    if not token:
        return None
    try:
        principal = await accounts.authenticate(token, signer=console_tokens)
    except NotAuthenticated:
        return None
    return principal if principal.user.role in STAFF_ROLES else None


async def _enter(
    request: Request[Any, Any, Any],
    accounts: AccountService,
    signer: AccessTokenSigner,
    clock: Clock,
    *,
    access_token: str,
    destination: str,
) -> Response[Any]:
    """After a successful sign-in: the console with a session cookie, or, for a non-staff account, the refusal."""
    principal = await accounts.authenticate(access_token)
    if principal.user.role not in STAFF_ROLES:
        await accounts.logout(principal)  # and the 403 rolls the new session back altogether
        return staff_only_page(request)
    await _end_previous_console_session(request, accounts, signer, principal)
    token = signer.issue(principal.session, int(clock().timestamp()) + SESSION_SECONDS)
    cookie = session_cookie(token, secure=came_over_tls(request))
    return Redirect(destination, status_code=303, cookies=[cookie, fresh_csrf_cookie()])


async def _end_previous_console_session(
    request: Request[Any, Any, Any], accounts: AccountService, signer: AccessTokenSigner, principal: Principal
) -> None:
    """A new sign-in in the same browser ends the console session its old cookie named (expired or not).

    Otherwise every day's sign-in would leave yesterday's session listed as live on the account.
    """
    old = request.cookies.get(COOKIE_NAME)
    # Read at time 0: any token we issued, however long expired, still names its session.
    previous = signer.read(old, 0) if old else None
    if previous is None or previous == principal.session_id:
        return
    with contextlib.suppress(NotFound):  # another account's session, or one that already ended
        await accounts.revoke_session(principal, previous)
