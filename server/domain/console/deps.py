"""Dependency providers of the console: the signed-in staff member (``staff``, from the session cookie), an admin."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidation

from server.domain.accounts import AccountService, Principal
from server.domain.console.session import COOKIE_NAME, AdminsOnly, SignInRequired, StaffOnly
from server.domain.tickets import STAFF_ROLES, TICKET_DEPENDENCIES
from server.lib.crypto import AccessTokenSigner
from server.lib.exceptions import NotAuthenticated

__all__ = ["ADMIN_DEPENDENCIES", "CONSOLE_DEPENDENCIES", "provide_admin", "provide_staff"]


async def provide_staff(
    request: Request[Any, Any, Any],
    accounts: NamedDependency[SkipValidation[AccountService]],
    console_tokens: NamedDependency[SkipValidation[AccessTokenSigner]],
) -> Principal:
    """The signed-in agent or admin, from the session cookie (its session checked live on every request).

    Raises:
        SignInRequired: no cookie, or its token expired or its session ended (the page asks to sign in).
        StaffOnly: the account is neither agent nor admin (any more).
    """
    token = request.cookies.get(COOKIE_NAME)
    if not token:
        raise SignInRequired("Sign in to the support console.")
    try:
        principal = await accounts.authenticate(token, signer=console_tokens)
    except NotAuthenticated:
        raise SignInRequired("Your console session has ended; sign in again.") from None
    if principal.user.role not in STAFF_ROLES:
        raise StaffOnly("The support console is for support staff.")
    return principal


async def provide_admin(staff: NamedDependency[SkipValidation[Principal]]) -> Principal:
    """The signed-in admin; an agent gets the "not for you" page (403).

    Raises:
        AdminsOnly: the staff member is an agent.
    """
    if staff.user.role != "admin":
        raise AdminsOnly(staff)
    return staff


# ``accounts`` and ``tickets`` come from the slices' own providers; ``principal`` (a bearer token) is never asked for.
CONSOLE_DEPENDENCIES = {**TICKET_DEPENDENCIES, "staff": Provide(provide_staff)}
# Admin pages take ``admin`` (which takes ``staff``, so the session is checked first).
ADMIN_DEPENDENCIES = {**CONSOLE_DEPENDENCIES, "admin": Provide(provide_admin)}
