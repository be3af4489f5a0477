"""HTTP endpoints of the ways to sign in besides a password: Google, and the second step of two-step sign-in."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, SkipValidation

from server.domain.accounts.controllers import BODY_LIMIT
from server.domain.accounts.deps import AUTH_DEPENDENCIES, client_ip, device_name
from server.domain.accounts.guards import BEARER, bearer_required
from server.domain.accounts.schemas import (
    DisableTwoFactor,
    GoogleLogin,
    GoogleProvider,
    OtpLogin,
    Providers,
    RecoveryCodes,
    TokenPair,
    TotpConfirm,
    TotpSetup,
)
from server.domain.accounts.services import AccountService, Principal
from server.settings import Settings

__all__ = ["SignInController", "TwoFactorController"]


class SignInController(Controller):
    """Google sign-in and answering a sign-in's code challenge."""

    path = "/api/v1/auth"
    tags = ["accounts"]
    dependencies = AUTH_DEPENDENCIES
    request_max_body_size = BODY_LIMIT

    @get("/providers", summary="Ways to sign in besides a password", request_max_body_size=0)
    async def providers(self, settings: NamedDependency[SkipValidation[Settings]]) -> Providers:
        """``google`` carries what the desktop needs to run Google's sign-in, or is ``null`` when it is off."""
        google = settings.google
        if google.client_id is None or google.client_secret is None:
            return Providers()
        secret = google.client_secret.get_secret_value()
        return Providers(google=GoogleProvider(client_id=google.client_id, client_secret=secret, issuer=google.issuer))

    @post("/google", status_code=200, summary="Sign in with a Google ID token")
    async def google(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[GoogleLogin],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> TokenPair:
        """The same answer as ``/login``; a first sign-in creates the account from the name and address alone.

        401 ``invalid_id_token``/``otp_required``; 403 ``email_unverified``/``account_deleted``; 404
        ``google_disabled``; 409 ``link_requires_password``; 422 ``age_required``; 503 ``google_unavailable``.
        """
        device = device_name(request, data.device_name)
        return await accounts.google_login(data, device, client_ip(request))

    @post("/login/otp", status_code=200, summary="Finish a sign-in with a code from the authenticator app")
    async def login_otp(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[OtpLogin],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> TokenPair:
        """``code``: 6 digits, or a recovery code (each works once).

        401 ``invalid_otp`` with ``attempts_left``; 401 ``challenge_expired`` after 5 minutes, a success or 5 wrong
        codes; 429 when throttled.
        """
        return await accounts.login_with_code(data.challenge, data.code, client_ip(request))


class TwoFactorController(Controller):
    """Turning two-step sign-in (an authenticator app's codes) on and off."""

    path = "/api/v1/me/2fa"
    tags = ["accounts"]
    dependencies = AUTH_DEPENDENCIES
    request_max_body_size = BODY_LIMIT
    security = BEARER
    guards = [bearer_required]

    @post("/totp", status_code=201, summary="Start setting up an authenticator app", request_max_body_size=0)
    async def start(
        self,
        principal: NamedDependency[SkipValidation[Principal]],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> TotpSetup:
        """A pending secret (replacing an unconfirmed one); 409 ``two_factor_enabled`` when already on.

        403 ``reauthentication_required`` for an account without a password whose sign-in is over 5 minutes old.
        """
        return await accounts.start_totp(principal)

    @post("/totp/confirm", status_code=200, summary="Turn two-step sign-in on with a first code")
    async def confirm(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[TotpConfirm],
        principal: NamedDependency[SkipValidation[Principal]],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> RecoveryCodes:
        """The 10 recovery codes, shown this once; every other session ends.

        403 ``reauthentication_required`` without ``current_password`` (for an account without a password: when its
        sign-in is over 5 minutes old), ``invalid_credentials`` with a wrong one; 422 ``invalid_otp``; 409
        ``two_factor_not_pending``.
        """
        return await accounts.confirm_totp(principal, data.code, data.current_password, client_ip(request))

    @delete("/totp", status_code=204, summary="Turn two-step sign-in off")
    async def disable(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[DisableTwoFactor],
        principal: NamedDependency[SkipValidation[Principal]],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> None:
        """403 ``invalid_credentials`` (password), 422 ``invalid_otp``, 409 ``two_factor_disabled``."""
        await accounts.disable_totp(principal, data.password, data.code, client_ip(request))
