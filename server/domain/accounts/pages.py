"""The pages mail links open: confirm an address, cancel an address change, choose a new password."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.params import FromQuery, SkipValidation, URLEncodedBody

from server.domain.accounts.controllers import BODY_LIMIT
from server.domain.accounts.deps import AUTH_DEPENDENCIES, client_ip
from server.domain.accounts.services import AccountService
from server.lib.exceptions import TechPalError
from server.lib.schema import RequestBody

if TYPE_CHECKING:
    from collections.abc import Awaitable

__all__ = ["PagesController"]


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
