"""HTTP endpoints of the accounts slice: ``/api/v1/auth/*`` and ``/api/v1/me`` (the mail links' pages: ``pages``)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Protocol

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, SkipValidation

from server.domain.accounts.deps import AUTH_DEPENDENCIES, client_ip, device_name
from server.domain.accounts.guards import BEARER, bearer_required
from server.domain.accounts.schemas import (
    ChangePassword,
    DeleteAccount,
    DeletionScheduled,
    Login,
    PasswordReset,
    PasswordResetConfirm,
    PolicyAccept,
    Profile,
    ProfileUpdate,
    Refresh,
    Register,
    ResendVerification,
    SessionInfo,
    TokenPair,
    VerifyEmail,
)
from server.domain.accounts.services import AccountService, Principal

if TYPE_CHECKING:
    from email.message import EmailMessage

__all__ = ["AccountDeletion", "AuthController", "MeController"]


class AccountDeletion(Protocol):
    """Deletes the caller's account (the data-rights slice provides it as the ``account_deletion`` dependency)."""

    async def __call__(
        self, accounts: AccountService, principal: Principal, password: str, client_ip: str
    ) -> Response[DeletionScheduled]:
        """Check the password, close the account, and answer 202 ``{purge_after}``."""
        ...


# Account bodies are a few short strings; a small limit keeps hashing-sized garbage out before parsing.
BODY_LIMIT = 8 * 1024


def _accepted(accounts: AccountService, message: EmailMessage | None) -> Response[None]:
    """202 at once; an SMTP mail leaves after the answer, so its delay cannot reveal whether the account exists."""
    background = BackgroundTask(accounts.deliver, message) if message is not None else None
    return Response(None, status_code=202, background=background)


class AuthController(Controller):
    """Registration, verification, sign-in, sessions and password reset."""

    path = "/api/v1/auth"
    tags = ["accounts"]
    dependencies = AUTH_DEPENDENCIES
    request_max_body_size = BODY_LIMIT

    @post("/register", status_code=201, summary="Create an account (mails a verification link)")
    async def register(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[Register],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> Response[Profile]:
        """409 ``email_taken``/``username_taken``, 422 ``weak_password``/``age_required``, 429 when rate-limited."""
        user = await accounts.register(data, client_ip(request))
        profile = await accounts.profile(user)
        return Response(profile, status_code=201, background=BackgroundTask(accounts.send_queued_mail))

    @post("/verify-email", status_code=204, summary="Confirm an e-mail address with the mailed token")
    async def verify_email(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[VerifyEmail],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> None:
        """400 ``invalid_token`` for a forged, used or expired token."""
        await accounts.verify_email(data.token, client_ip(request))

    @post("/verify-email/resend", status_code=202, summary="Mail the verification link again")
    async def resend_verification(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ResendVerification],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> Response[None]:
        """Always 202 (no account enumeration); rate-limited per address and client."""
        return _accepted(accounts, await accounts.resend_verification(data.email, client_ip(request)))

    @post("/login", status_code=200, summary="Sign in with e-mail or username")
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[Login],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> TokenPair:
        """401 ``invalid_credentials``, or ``otp_required`` with ``challenge`` (two-step sign-in on, no ``code``).

        403 ``email_not_verified``, or ``account_deleted`` with ``purge_after``; 429.
        """
        device = device_name(request, data.device_name)
        return await accounts.login(data.login, data.password, device, client_ip(request), data.code)

    @post("/refresh", status_code=200, summary="Rotate the refresh token")
    async def refresh(
        self, data: JSONBody[Refresh], accounts: NamedDependency[SkipValidation[AccountService]]
    ) -> TokenPair:
        """Every refresh token works once; presenting a spent one ends its session."""
        return await accounts.refresh(data.refresh_token)

    @post(
        "/logout",
        status_code=204,
        summary="End the current session",
        security=BEARER,
        guards=[bearer_required],
        request_max_body_size=0,
    )
    async def logout(
        self,
        principal: NamedDependency[SkipValidation[Principal]],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> None:
        """Its access and refresh tokens stop working at once."""
        await accounts.logout(principal)

    @get("/sessions", summary="Signed-in devices", security=BEARER, guards=[bearer_required], request_max_body_size=0)
    async def sessions(
        self,
        principal: NamedDependency[SkipValidation[Principal]],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> list[SessionInfo]:
        """Live sessions of the caller; ``current`` marks the one making this request."""
        return await accounts.sessions(principal)

    @delete(
        "/sessions",
        status_code=204,
        summary="End every other session (sign out all other devices)",
        security=BEARER,
        guards=[bearer_required],
    )
    async def revoke_other_sessions(
        self,
        principal: NamedDependency[SkipValidation[Principal]],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> None:
        """The calling session stays signed in."""
        await accounts.revoke_other_sessions(principal)

    @delete(
        "/sessions/{session_id:uuid}",
        status_code=204,
        summary="End a session",
        security=BEARER,
        guards=[bearer_required],
    )
    async def revoke_session(
        self,
        session_id: FromPath[uuid.UUID],
        principal: NamedDependency[SkipValidation[Principal]],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> None:
        """404 for a session that is not the caller's or has ended."""
        await accounts.revoke_session(principal, session_id)

    @post("/password-reset", status_code=202, summary="Mail a password-reset link")
    async def password_reset(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[PasswordReset],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> Response[None]:
        """Always 202, in the same time whether or not the address has an account: the mail work follows the answer."""
        await accounts.request_password_reset(data.email, client_ip(request))
        return Response(None, status_code=202, background=BackgroundTask(accounts.mail_reset_link, data.email))

    @post("/password-reset/confirm", status_code=204, summary="Set a new password with the mailed token")
    async def password_reset_confirm(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[PasswordResetConfirm],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> None:
        """Ends every session of the account."""
        await accounts.confirm_password_reset(data.token, data.new_password, client_ip(request))


class MeController(Controller):
    """The signed-in user's own profile."""

    path = "/api/v1/me"
    tags = ["accounts"]
    dependencies = AUTH_DEPENDENCIES
    request_max_body_size = BODY_LIMIT
    security = BEARER
    guards = [bearer_required]

    @get("/", summary="My profile", request_max_body_size=0)
    async def me(
        self,
        principal: NamedDependency[SkipValidation[Principal]],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> Profile:
        """401 without a valid access token."""
        return await accounts.profile(principal.user)

    @patch("/", summary="Correct my profile")
    async def update(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ProfileUpdate],
        principal: NamedDependency[SkipValidation[Principal]],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> Response[Profile]:
        """Name and username change now; a new e-mail address once verified (see ``pending_email``).

        A new address needs ``current_password`` (403 ``reauthentication_required`` without it).
        """
        profile = await accounts.update_profile(principal.user, data, client_ip(request))
        return Response(profile, background=BackgroundTask(accounts.send_queued_mail))

    @post("/password", status_code=204, summary="Change my password")
    async def change_password(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ChangePassword],
        principal: NamedDependency[SkipValidation[Principal]],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> None:
        """Ends every other session."""
        await accounts.change_password(principal, data.current_password, data.new_password, client_ip(request))

    @delete("/", status_code=202, summary="Delete my account (purged after 30 days unless restored)")
    async def delete_account(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[DeleteAccount],
        principal: NamedDependency[SkipValidation[Principal]],
        accounts: NamedDependency[SkipValidation[AccountService]],
        account_deletion: NamedDependency[SkipValidation[AccountDeletion]],
    ) -> Response[DeletionScheduled]:
        """Ends every session and cancels any subscription now; 403 ``invalid_credentials`` for a wrong password.

        ``POST /api/v1/auth/restore`` brings the account back within 30 days.
        """
        return await account_deletion(accounts, principal, data.password, client_ip(request))

    @post("/policy/accept", status_code=204, summary="Acknowledge the current privacy policy")
    async def accept_policy(
        self,
        data: JSONBody[PolicyAccept],
        principal: NamedDependency[SkipValidation[Principal]],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> None:
        """422 ``unknown_policy_version`` unless ``version`` is the current one (see ``policy`` on ``GET /me``)."""
        await accounts.accept_policy(principal.user, data.version)
