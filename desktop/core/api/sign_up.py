"""Requests made before there is a session: register, confirm the address, a forgotten password, sign-in providers.

A part of :class:`~desktop.core.api.client.ApiClient` (a mixin: the client provides the transport declared here).
None of them sends a token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from desktop.core.api.models import AuthProviders
from desktop.core.api.responses import decode
from desktop.core.api.routes import API

if TYPE_CHECKING:
    import httpx

__all__ = ["SignUpRequests"]


class SignUpRequests:
    """Unauthenticated account requests of the API client (the client provides ``_send``)."""

    def _send(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> httpx.Response:
        raise NotImplementedError

    def register(self, *, name: str, email: str, username: str, password: str, age_confirmed: bool) -> None:
        """Create an account; the server mails a verification link (the next step is :meth:`verify_email`)."""
        body = {"name": name, "email": email, "username": username, "password": password}
        self._send("POST", f"{API}/auth/register", json={**body, "age_confirmed": age_confirmed}, auth=False)

    def verify_email(self, token: str) -> None:
        """Confirm the e-mail address with the token from the mail."""
        self._send("POST", f"{API}/auth/verify-email", json={"token": token}, auth=False)

    def resend_verification(self, email: str) -> None:
        """Ask for the verification mail again (always accepted, whether or not the address exists)."""
        self._send("POST", f"{API}/auth/verify-email/resend", json={"email": email}, auth=False)

    def request_password_reset(self, email: str) -> None:
        """Mail a link to choose a new password (always accepted: nobody learns which addresses have an account).

        The link opens the server's own page, where the new password is set; the app has nothing more to do.
        """
        self._send("POST", f"{API}/auth/password-reset", json={"email": email}, auth=False)

    def auth_providers(self) -> AuthProviders:
        """The other ways this server lets people sign in (Google, or none)."""
        return decode(self._send("GET", f"{API}/auth/providers", auth=False), AuthProviders)
