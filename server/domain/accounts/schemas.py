"""Wire types of the accounts endpoints (field names are the public contract)."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Literal

import msgspec

from server.lib.schema import RequestBody, ResponseBody

__all__ = [
    "ChangePassword",
    "DeleteAccount",
    "DeletionScheduled",
    "DisableTwoFactor",
    "GoogleLogin",
    "GoogleProvider",
    "Login",
    "OtpLogin",
    "PasswordReset",
    "PasswordResetConfirm",
    "PolicyAccept",
    "PolicyNotice",
    "Profile",
    "ProfileUpdate",
    "Providers",
    "RecoveryCodes",
    "Refresh",
    "Register",
    "ResendVerification",
    "SessionInfo",
    "TokenPair",
    "TotpConfirm",
    "TotpSetup",
    "VerifyEmail",
]

# Generous upper bounds: the real rules (username charset, e-mail syntax, password policy) are checked by the
# service with specific error codes; these only keep absurd inputs out cheaply.
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
Username = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
Token = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
LoginName = Annotated[str, msgspec.Meta(min_length=1, max_length=320)]
DeviceName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
# A 6-digit code from an authenticator app or a recovery code ("k7m2p-x9qtr"), with room for spaces.
OneTimeCode = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
IdToken = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
Nonce = Annotated[str, msgspec.Meta(min_length=16, max_length=256)]


class Register(RequestBody, frozen=True):
    """A new account. ``age_confirmed`` must be true: the service is for people 18 and older."""

    name: Name
    email: Email
    username: Username
    password: Password
    age_confirmed: bool


class Login(RequestBody, frozen=True):
    """``login`` is the e-mail address or the username."""

    login: LoginName
    password: Password
    device_name: DeviceName | None = None
    code: OneTimeCode | None = None  # with two-step sign-in on; else the answer is 401 otp_required


class OtpLogin(RequestBody, frozen=True):
    """The second step of a sign-in: the ``challenge`` of the 401 ``otp_required`` and a code."""

    challenge: Token
    code: OneTimeCode


class GoogleLogin(RequestBody, frozen=True):
    """An ID token from Google and the nonce the app put in its authorization request.

    A first sign-in creates the account and needs ``age_confirmed`` (422 ``age_required`` without it).
    """

    id_token: IdToken
    nonce: Nonce
    device_name: DeviceName | None = None
    age_confirmed: bool = False
    code: OneTimeCode | None = None


class GoogleProvider(ResponseBody, frozen=True):
    """What the desktop needs to run Google's sign-in (a "Desktop app" client: the secret is not confidential)."""

    client_id: str
    client_secret: str
    issuer: str


class Providers(ResponseBody, frozen=True):
    """The ways to sign in besides a password; ``google`` is ``null`` when Google sign-in is off."""

    google: GoogleProvider | None = None


class TotpSetup(ResponseBody, frozen=True):
    """A pending authenticator secret: show ``otpauth_uri`` as a QR code, ``secret`` as text to type in."""

    secret: str
    otpauth_uri: str


class TotpConfirm(RequestBody, frozen=True):
    """A code from the authenticator app, proving it holds the pending secret, and the account's password."""

    code: OneTimeCode
    current_password: Password | None = None  # required unless the account has no password (Google sign-in)


class RecoveryCodes(ResponseBody, frozen=True):
    """Single-use codes for when the phone is lost: shown this once, stored only as hashes."""

    recovery_codes: list[str]


class DisableTwoFactor(RequestBody, frozen=True):
    """The password and a current (or recovery) code prove it is the owner turning two-step sign-in off."""

    password: Password
    code: OneTimeCode


class Refresh(RequestBody, frozen=True):
    """Exchange a refresh token for a new pair (the old one is spent)."""

    refresh_token: Token


class VerifyEmail(RequestBody, frozen=True):
    """The token from the verification mail."""

    token: Token


class ResendVerification(RequestBody, frozen=True):
    """Send the verification mail again."""

    email: Email


class PasswordReset(RequestBody, frozen=True):
    """Ask for a reset link; the answer is the same whether or not the address has an account."""

    email: Email


class PasswordResetConfirm(RequestBody, frozen=True):
    """The token from the reset mail and the new password."""

    token: Token
    new_password: Password


class ProfileUpdate(RequestBody, frozen=True, omit_defaults=True):
    """Fields to change; absent ones stay. A new e-mail needs ``current_password`` and takes effect once verified."""

    name: Name | None = None
    username: Username | None = None
    email: Email | None = None
    current_password: Password | None = None  # required to change the e-mail address
    kb_contribution: bool | None = None  # whether resolved tickets' anonymised fixes may join the knowledge base
    analytics: bool | None = None  # whether anonymized usage events are recorded
    ai_processing: bool | None = None  # whether the user's text and images may reach the AI model


class ChangePassword(RequestBody, frozen=True):
    """The current password proves it is really the owner."""

    current_password: Password
    new_password: Password


class DeleteAccount(RequestBody, frozen=True):
    """The current password proves it is the owner asking."""

    password: Password


class DeletionScheduled(ResponseBody, frozen=True):
    """The account is closed now and purged at ``purge_after`` unless restored before."""

    purge_after: datetime.datetime


class PolicyAccept(RequestBody, frozen=True):
    """The privacy-policy version the user read."""

    version: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class TokenPair(ResponseBody, frozen=True):
    """Credentials after login or refresh; ``expires_in`` is the access token's lifetime in seconds."""

    access_token: str
    refresh_token: str
    expires_in: int
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type, not a secret


class PolicyNotice(ResponseBody, frozen=True):
    """The current privacy policy: ``accepted`` is whether this user has acknowledged this version."""

    version: str
    summary: str
    url: str | None
    published_at: datetime.datetime
    accepted: bool


class Profile(ResponseBody, frozen=True):
    """The signed-in user; ``pending_email`` is a new address awaiting verification.

    ``kb_contribution``, ``analytics`` and ``ai_processing`` are the user's objections (false = objected);
    ``policy`` is the current privacy policy, ``null`` while none has been published.
    """

    id: uuid.UUID
    name: str
    username: str
    email: str
    email_verified: bool
    role: str
    created_at: datetime.datetime
    pending_email: str | None = None
    kb_contribution: bool = True
    analytics: bool = True
    ai_processing: bool = True
    policy: PolicyNotice | None = None
    two_factor: bool = False  # sign-in asks for a code from an authenticator app
    has_password: bool = True  # false for an account made by Google sign-in that never set one
    google_linked: bool = False  # "Sign in with Google" reaches this account


class SessionInfo(ResponseBody, frozen=True):
    """One signed-in device."""

    id: uuid.UUID
    device_name: str
    created_at: datetime.datetime
    last_used_at: datetime.datetime
    current: bool
