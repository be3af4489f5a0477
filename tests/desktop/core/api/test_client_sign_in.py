"""ApiClient's sign-in beyond the password, against the fake server over real HTTP (issue-17 contract shapes).

Providers, two-step sign-in (the challenge, codes, recovery codes, turning it on and off), Google sign-in (the age
confirmation with the same token and nonce), and the forgotten-password link.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import httpx
import pyotp
import pytest

from desktop.core.api import ApiClient, ApiError, AuthProviders, GoogleProvider, OtpRequired, Profile, TotpSetup
from desktop.core.auth import MemoryTokenStore
from tests.fixtures.fake_server import GOOGLE_CLIENT_ID, GOOGLE_ISSUER

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.fixtures.fake_server import FakeServer

PASSWORD = "correct horse battery"
RECOVERY_CODE = re.compile(r"^[a-z]{5}-[a-z]{5}$")


@pytest.fixture
def client(fake_server: FakeServer) -> Iterator[ApiClient]:
    """A client of the fake server that is not signed in."""
    with ApiClient(fake_server.url, tokens=MemoryTokenStore()) as client:
        yield client


def code_for(secret: str) -> str:
    return pyotp.TOTP(secret).now()


def wrong_code(secret: str) -> str:
    """A 6-digit code that is none of those the fake accepts now (it allows one step either side)."""
    totp = pyotp.TOTP(secret)
    return next(code for code in (f"{n:06d}" for n in range(1000)) if not totp.verify(code, valid_window=1))


def otp_challenge(client: ApiClient, login: str = "ada@example.com") -> str:
    with pytest.raises(OtpRequired) as caught:
        client.login(login, PASSWORD)
    assert caught.value.challenge
    return caught.value.challenge


# ---------------------------------------------------------------------------------------------- providers
def test_a_server_without_google_names_no_provider(client: ApiClient) -> None:
    assert client.auth_providers() == AuthProviders(google=None)


def test_a_server_with_google_names_its_client(client: ApiClient, fake_server: FakeServer) -> None:
    fake_server.enable_google(client_secret="s3")

    providers = client.auth_providers()

    assert providers.google == GoogleProvider(client_id=GOOGLE_CLIENT_ID, client_secret="s3", issuer=GOOGLE_ISSUER)
    assert fake_server.requests_to("GET", "/auth/providers")[0].headers.get("Authorization") is None


# ---------------------------------------------------------------------------------------------- two-step sign-in
def test_with_two_step_on_a_password_sign_in_asks_for_the_code_and_stores_nothing(
    client: ApiClient, fake_server: FakeServer
) -> None:
    fake_server.turn_on_two_factor(fake_server.add_account(password=PASSWORD))

    with pytest.raises(OtpRequired) as caught:
        client.login("ada", PASSWORD)

    assert (caught.value.status, caught.value.code) == (401, "otp_required")
    assert caught.value.message == "Enter the code from your authenticator app."
    assert len(caught.value.challenge) > 20
    assert not client.signed_in
    assert client.account is None


def test_the_code_finishes_the_sign_in_like_a_password_does(client: ApiClient, fake_server: FakeServer) -> None:
    account = fake_server.add_account(password=PASSWORD)
    secret = fake_server.turn_on_two_factor(account)
    challenge = otp_challenge(client)

    code = code_for(secret)  # once: the next 30-second step may begin before the request is checked
    profile = client.login_otp(challenge, code)

    assert isinstance(profile, Profile)
    assert (profile.email, profile.two_factor, profile.has_password) == ("ada@example.com", True, True)
    assert client.account == account.id
    assert client.signed_in
    assert client.me().id == profile.id  # the stored tokens work
    assert fake_server.requests_to("POST", "/auth/login/otp")[0].json() == {
        "challenge": challenge,
        "code": code,
    }


def test_a_wrong_code_says_how_many_tries_are_left_then_the_challenge_expires(
    client: ApiClient, fake_server: FakeServer
) -> None:
    secret = fake_server.turn_on_two_factor(fake_server.add_account(password=PASSWORD))
    challenge = otp_challenge(client)
    messages = []

    for _ in range(5):
        with pytest.raises(ApiError) as caught:
            client.login_otp(challenge, wrong_code(secret))
        assert (caught.value.status, caught.value.code) == (401, "invalid_otp")
        messages.append(caught.value.message.rsplit(". ", 1)[-1])
    with pytest.raises(ApiError) as expired:
        client.login_otp(challenge, code_for(secret))

    assert messages == [
        "4 attempts left.",
        "3 attempts left.",
        "2 attempts left.",
        "1 attempt left.",
        "No attempts left: sign in again.",
    ]
    assert (expired.value.status, expired.value.code) == (401, "challenge_expired")
    assert expired.value.message == "Signing in took too long or too many codes were wrong. Please sign in again."
    assert not client.signed_in


def test_a_recovery_code_signs_in_once_whatever_its_case_and_dash(client: ApiClient, fake_server: FakeServer) -> None:
    account = fake_server.add_account(password=PASSWORD)
    fake_server.turn_on_two_factor(account)
    recovery = account.recovery_codes[3]

    client.login_otp(otp_challenge(client), recovery.upper().replace("-", ""))
    client.forget()
    with pytest.raises(ApiError) as again:
        client.login_otp(otp_challenge(client), recovery)

    assert again.value.code == "invalid_otp"
    assert len(account.recovery_codes) == 9


def test_an_unknown_challenge_is_expired(client: ApiClient) -> None:
    with pytest.raises(ApiError) as caught:
        client.login_otp("not-a-challenge", "123456")

    assert (caught.value.status, caught.value.code) == (401, "challenge_expired")


def test_turning_two_step_on_takes_a_code_and_the_password_and_gives_ten_recovery_codes(
    signed_in_client: ApiClient, fake_server: FakeServer
) -> None:
    phone = fake_server.add_session(fake_server.account("ada@example.com"), "ada-phone")
    setup = signed_in_client.start_totp()

    assert isinstance(setup, TotpSetup)
    assert setup.otpauth_uri.startswith("otpauth://totp/Tech%20Pal:")
    assert f"secret={setup.secret}" in setup.otpauth_uri
    with pytest.raises(ApiError) as wrong:
        signed_in_client.confirm_totp(wrong_code(setup.secret), current_password=PASSWORD)
    refused = code_for(setup.secret)  # once: the next 30-second step may begin before the requests are checked
    with pytest.raises(ApiError) as no_password:
        signed_in_client.confirm_totp(refused)
    with pytest.raises(ApiError) as wrong_password:
        signed_in_client.confirm_totp(refused, current_password="not it")
    assert (wrong.value.status, wrong.value.code) == (422, "invalid_otp")
    assert (no_password.value.status, no_password.value.code) == (403, "reauthentication_required")
    assert (wrong_password.value.status, wrong_password.value.code) == (403, "invalid_credentials")
    assert not signed_in_client.me().two_factor

    accepted = code_for(setup.secret)
    codes = signed_in_client.confirm_totp(accepted, current_password=PASSWORD)

    assert len(codes) == 10
    assert all(RECOVERY_CODE.match(code) for code in codes)
    assert signed_in_client.me().two_factor
    sent = fake_server.requests_to("POST", "/me/2fa/totp/confirm")
    assert sent[-1].json() == {"code": accepted, "current_password": PASSWORD}
    assert sent[1].json() == {"code": refused}  # no password given: none sent
    assert phone not in {s.id for s in signed_in_client.sessions()}  # every other device signs in again


def test_an_account_without_a_password_turns_two_step_on_with_the_code_alone(
    signed_in_client: ApiClient, fake_server: FakeServer
) -> None:
    fake_server.account("ada@example.com").has_password = False
    setup = signed_in_client.start_totp()

    codes = signed_in_client.confirm_totp(code_for(setup.secret))

    assert len(codes) == 10


def test_two_step_on_already_or_not_started_is_refused_in_words(signed_in_client: ApiClient) -> None:
    with pytest.raises(ApiError) as not_pending:
        signed_in_client.confirm_totp("123456")
    setup = signed_in_client.start_totp()
    signed_in_client.confirm_totp(code_for(setup.secret), current_password=PASSWORD)
    with pytest.raises(ApiError) as enabled:
        signed_in_client.start_totp()

    assert (not_pending.value.status, not_pending.value.code) == (409, "two_factor_not_pending")
    assert not_pending.value.message == "This setup of two-step sign-in has expired. Please start again."
    assert (enabled.value.status, enabled.value.code) == (409, "two_factor_enabled")
    assert enabled.value.message == "Two-step sign-in is already on."


def test_turning_two_step_off_needs_the_password_and_a_code(
    signed_in_client: ApiClient, fake_server: FakeServer
) -> None:
    secret = fake_server.turn_on_two_factor(fake_server.account("ada@example.com"))

    with pytest.raises(ApiError) as bad_password:
        signed_in_client.disable_totp("not it", code_for(secret))
    with pytest.raises(ApiError) as bad_code:
        signed_in_client.disable_totp(PASSWORD, wrong_code(secret))
    signed_in_client.disable_totp(PASSWORD, code_for(secret))
    with pytest.raises(ApiError) as already:
        signed_in_client.disable_totp(PASSWORD, code_for(secret))

    assert (bad_password.value.status, bad_password.value.code) == (403, "invalid_credentials")
    assert (bad_code.value.status, bad_code.value.code) == (422, "invalid_otp")
    assert (already.value.status, already.value.code) == (409, "two_factor_disabled")
    assert not signed_in_client.me().two_factor
    sent = fake_server.requests_to("DELETE", "/me/2fa/totp")[2]
    assert sent.json() == {"password": PASSWORD, "code": code_for(secret)}


# ---------------------------------------------------------------------------------------------- Google
def test_a_first_google_sign_in_needs_the_age_and_the_same_token_and_nonce_then_makes_the_account(
    client: ApiClient, fake_server: FakeServer
) -> None:
    fake_server.enable_google()
    token = fake_server.google_token("grace@example.com", "n-1", name="Grace Hopper")

    with pytest.raises(ApiError) as age:
        client.google_login(token, "n-1", device_name="Tech Pal on Linux")
    profile = client.google_login(token, "n-1", age_confirmed=True, device_name="Tech Pal on Linux")

    assert (age.value.status, age.value.code) == (422, "age_required")
    assert (profile.email, profile.name, profile.has_password, profile.google_linked) == (
        "grace@example.com",
        "Grace Hopper",
        False,
        True,
    )
    assert client.signed_in
    first, second = (r.json() for r in fake_server.requests_to("POST", "/auth/google"))
    assert first == {"id_token": token, "nonce": "n-1", "device_name": "Tech Pal on Linux", "age_confirmed": False}
    assert second == {**first, "age_confirmed": True}


def test_google_sign_in_of_an_account_with_two_step_asks_for_the_code(
    client: ApiClient, fake_server: FakeServer
) -> None:
    fake_server.enable_google()
    secret = fake_server.turn_on_two_factor(fake_server.add_account(password=PASSWORD))

    with pytest.raises(OtpRequired) as caught:
        client.google_login(fake_server.google_token("ada@example.com", "n-2"), "n-2")
    profile = client.login_otp(caught.value.challenge, code_for(secret))

    assert profile.google_linked
    assert client.signed_in


@pytest.mark.parametrize(
    ("setup", "status", "code", "message"),
    [
        ("off", 404, "google_disabled", "Google sign-in is not available on this server."),
        ("other_nonce", 401, "invalid_id_token", "Google sign-in couldn't be confirmed. Please try again."),
        ("replayed", 401, "invalid_id_token", "Google sign-in couldn't be confirmed. Please try again."),
        (
            "unverified_google",
            403,
            "email_unverified",
            "Google hasn't confirmed this account's e-mail address yet. Confirm it with Google first.",
        ),
        ("unconfirmed_account", 409, "link_requires_password", None),
    ],
)
def test_google_refusals_come_back_in_words(
    client: ApiClient, fake_server: FakeServer, *, setup: str, status: int, code: str, message: str | None
) -> None:
    if setup != "off":
        fake_server.enable_google()
    if setup == "unconfirmed_account":
        fake_server.add_account(password=PASSWORD, verified=False)
    token = fake_server.google_token("ada@example.com", "n-3", email_verified=setup != "unverified_google")
    if setup == "replayed":
        client.google_login(token, "n-3", age_confirmed=True)
        client.forget()

    with pytest.raises(ApiError) as caught:
        client.google_login(token, "other" if setup == "other_nonce" else "n-3", age_confirmed=True)

    assert (caught.value.status, caught.value.code) == (status, code)
    assert "_" not in caught.value.message
    if message is not None:
        assert caught.value.message == message


# ---------------------------------------------------------------------------------------------- forgotten password
def test_a_reset_link_is_asked_for_without_a_token(client: ApiClient, fake_server: FakeServer) -> None:
    client.request_password_reset("ada@example.com")

    sent = fake_server.requests_to("POST", "/auth/password-reset")[0]
    assert sent.json() == {"email": "ada@example.com"}
    assert "Authorization" not in sent.headers
    assert fake_server.password_resets == ["ada@example.com"]


# ---------------------------------------------------------------------------------------------- wire shapes
def problem_client(status: int, body: dict[str, Any]) -> ApiClient:
    def answer(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, headers={"Content-Type": "application/problem+json"})

    return ApiClient("http://techpal.test", tokens=MemoryTokenStore(), transport=httpx.MockTransport(answer))


def test_otp_required_reads_the_challenge_member_of_the_servers_problem() -> None:
    body = {
        "status": 401,
        "code": "otp_required",
        "title": "Unauthorized",
        "detail": "Enter the code from your authenticator app.",
        "challenge": "opaque.challenge-string",
        "request_id": "r-1",
    }
    with problem_client(401, body) as client, pytest.raises(OtpRequired) as caught:
        client.login("ada", PASSWORD)

    assert caught.value.challenge == "opaque.challenge-string"
    assert caught.value.detail == "Enter the code from your authenticator app."


def test_a_profile_from_a_server_before_two_step_and_google_reads_with_defaults() -> None:
    import msgspec

    document = {"id": "0b6c2a43-3f59-4a3e-9a7e-5b8f1f0d7c11", "name": "Ada", "username": "ada", "email": "a@b.c"}

    profile = msgspec.json.decode(msgspec.json.encode(document), type=Profile)

    assert (profile.two_factor, profile.has_password, profile.google_linked) == (False, True, False)
