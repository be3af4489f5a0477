"""HTTP endpoints of the accounts slice: ``/api/v1/auth/*``, ``/api/v1/me``, and the pages mail links open."""

from __future__ import annotations

import html
import uuid
from typing import TYPE_CHECKING, Any, Protocol

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.params import FromPath, FromQuery, JSONBody, SkipValidation, URLEncodedBody

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
from server.lib.exceptions import TechPalError
from server.lib.schema import RequestBody

if TYPE_CHECKING:
    from collections.abc import Awaitable
    from email.message import EmailMessage

__all__ = ["AccountDeletion", "AuthController", "MeController", "PagesController"]


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


# ---------------------------------------------------------------------------------------------- pages
class TokenForm(RequestBody, frozen=True):
    """The verification page's form."""

    token: str


class ResetForm(RequestBody, frozen=True):
    """The reset page's form."""

    token: str
    new_password: str


def _page(title: str, body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response[str]:
    document = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{html.escape(title)} · Tech Pal</title>
<style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem;line-height:1.5}}
input,button{{font:inherit;padding:.5rem;width:100%;box-sizing:border-box;margin:.25rem 0}}</style></head>
<body><h1>{html.escape(title)}</h1>{body}</body></html>"""
    return Response(
        document,
        status_code=status,
        media_type=MediaType.HTML,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def _hidden_token(token: str) -> str:
    return f'<input type="hidden" name="token" value="{html.escape(token, quote=True)}">'


def _button_page(title: str, token: str, action: str, intro: str, button: str) -> Response[str]:
    """A mail link's page: one button that posts the token back (scanners that pre-fetch links press nothing)."""
    if not token:
        return _page(title, "<p>This link is incomplete; open the one from the mail.</p>")
    form = f'<form method="post" action="{action}">{_hidden_token(token)}<button>{button}</button></form>'
    return _page(title, f"<p>{intro}</p>{form}")


async def _token_step(step: Awaitable[None], failed_title: str, done_title: str, done_text: str) -> Response[str]:
    """Run what a page's button asks for; its error (or the success) as a page."""
    try:
        await step
    except TechPalError as exc:
        return _page(failed_title, f"<p>{html.escape(exc.detail)}</p>", exc.status_code, exc.headers)
    return _page(done_title, f"<p>{done_text}</p>")


class PagesController(Controller):
    """Pages the mail links open. GET only shows a button: mail scanners that pre-fetch links consume nothing."""

    tags = ["pages"]
    dependencies = AUTH_DEPENDENCIES
    request_max_body_size = BODY_LIMIT

    @get("/verify-email", summary="Page: confirm an e-mail address", media_type=MediaType.HTML)
    async def verify_page(self, token: FromQuery[str] = "") -> Response[str]:
        """Shows the confirm button; does not touch the token."""
        intro = "Press the button to confirm your address."
        return _button_page("Confirm your e-mail address", token, "/verify-email", intro, "Confirm")

    @post("/verify-email", summary="Page: confirm an e-mail address (form)", media_type=MediaType.HTML)
    async def verify_submit(
        self,
        request: Request[Any, Any, Any],
        data: URLEncodedBody[TokenForm],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> Response[str]:
        """Performs the verification the button asks for."""
        verified = accounts.verify_email(data.token, client_ip(request))
        return await _token_step(
            verified, "Could not confirm", "Address confirmed", "Thank you. You can sign in to Tech Pal now."
        )

    @get("/cancel-email-change", summary="Page: cancel an e-mail address change", media_type=MediaType.HTML)
    async def cancel_email_page(self, token: FromQuery[str] = "") -> Response[str]:
        """Shows the cancel button; does not touch the token."""
        intro = "Press the button to keep this address for your account and sign out every device."
        return _button_page("Keep your e-mail address", token, "/cancel-email-change", intro, "Cancel the change")

    @post("/cancel-email-change", summary="Page: cancel an e-mail address change (form)", media_type=MediaType.HTML)
    async def cancel_email_submit(
        self,
        request: Request[Any, Any, Any],
        data: URLEncodedBody[TokenForm],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> Response[str]:
        """Keeps (or brings back) the old address and ends every session."""
        done = (
            "Your account keeps this address and every device is signed out. Now reset your password from the "
            "sign-in screen."
        )
        cancelled = accounts.cancel_email_change(data.token, client_ip(request))
        return await _token_step(cancelled, "Could not cancel", "Change cancelled", done)

    @get("/reset-password", summary="Page: choose a new password", media_type=MediaType.HTML)
    async def reset_page(self, token: FromQuery[str] = "") -> Response[str]:
        """Shows the new-password form; does not touch the token."""
        if not token:
            return _page("Reset your password", "<p>This link is incomplete; open the one from the mail.</p>")
        return _page("Reset your password", _reset_form(token))

    @post("/reset-password", summary="Page: choose a new password (form)", media_type=MediaType.HTML)
    async def reset_submit(
        self,
        request: Request[Any, Any, Any],
        data: URLEncodedBody[ResetForm],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> Response[str]:
        """Sets the password; a weak one shows the form again (the token stays valid)."""
        try:
            await accounts.confirm_password_reset(data.token, data.new_password, client_ip(request))
        except TechPalError as exc:
            retry = _reset_form(data.token) if exc.code == "weak_password" else ""
            return _page("Could not reset", f"<p>{html.escape(exc.detail)}</p>{retry}", exc.status_code, exc.headers)
        return _page("Password changed", "<p>Your password is changed and every device signed out.</p>")


def _reset_form(token: str) -> str:
    return (
        f'<form method="post" action="/reset-password">{_hidden_token(token)}'
        '<label>New password (at least 10 characters)<input type="password" name="new_password" '
        'autocomplete="new-password" minlength="10" required></label><button>Set password</button></form>'
    )
