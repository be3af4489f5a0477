"""Sign-in as the app does it, end to end on real parts.

The desktop's Google flow runs in a "browser" against a local OpenID Connect issuer, the real server verifies its ID
token, and two-step sign-in uses real TOTP codes. Every answer is the real server's, decoded by the desktop's client.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import pyotp
import pytest

from desktop.core.api import ApiClient, ApiError, OtpRequired
from desktop.core.auth import MemoryTokenStore
from desktop.core.google_sign_in import GoogleSignIn
from server.settings import GoogleSettings, Secret, Settings
from tests.fixtures.auth import TEST_PASSWORD
from tests.fixtures.mail import link_token
from tests.fixtures.oidc_issuer import CLIENT_ID, CLIENT_SECRET, FakeIssuer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tests.fixtures.mail import Mailbox
    from tests.fixtures.server import LiveServer

pytestmark = pytest.mark.usefixtures("anyio_backend")  # the server fixtures are async
EMAIL = "ada@example.com"


@pytest.fixture
def settings(settings: Settings, oidc_issuer: FakeIssuer) -> Settings:
    """The live server with Google sign-in pointed at the local issuer."""
    google = GoogleSettings(client_id=CLIENT_ID, client_secret=Secret(CLIENT_SECRET), issuer=oidc_issuer.url)
    return settings.replace(google=google)


@pytest.fixture
def app_client(live_server: LiveServer) -> Iterator[ApiClient]:
    """The desktop's client, signed out."""
    with ApiClient(live_server.url, tokens=MemoryTokenStore()) as client:
        yield client


def registered(client: ApiClient, mailbox: Mailbox) -> None:
    """Register ``EMAIL`` and confirm it from the mail, as the app's sign-up does."""
    client.register(name="Ada L.", email=EMAIL, username="ada", password=TEST_PASSWORD, age_confirmed=True)
    mail = [m for m in mailbox.messages() if m["To"] == EMAIL][-1]
    client.verify_email(link_token(mail, "verify-email"))


def browser_for(issuer: FakeIssuer) -> tuple[list[str], Callable[[str], bool]]:
    """A system browser stand-in: opens the URL in a thread, follows the redirects; what it showed."""
    pages: list[str] = []

    def open_browser(url: str) -> bool:
        threading.Thread(target=lambda: pages.append(issuer.browse(url)), daemon=True).start()
        return True

    return pages, open_browser


def google_identity(client: ApiClient, issuer: FakeIssuer) -> tuple[str, str, list[str]]:
    """Run the desktop's Google flow with the provider the server announces: the ID token, nonce, browser pages."""
    provider = client.auth_providers().google
    assert provider is not None
    assert (provider.client_id, provider.issuer) == (CLIENT_ID, issuer.url)
    pages, open_browser = browser_for(issuer)
    identity = GoogleSignIn(provider, open_browser, timeout=20).run()
    return identity.id_token, identity.nonce, pages


def code_ahead(secret: str) -> str:
    """A code of the next time step (accepted within the ±1 step drift, and never one used before)."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def test_a_first_google_sign_in_asks_the_age_then_creates_the_account(
    app_client: ApiClient, oidc_issuer: FakeIssuer
) -> None:
    id_token, nonce, pages = google_identity(app_client, oidc_issuer)
    assert any("close this tab" in page for page in pages)
    with pytest.raises(ApiError) as refused:
        app_client.google_login(id_token, nonce)
    assert refused.value.code == "age_required"

    profile = app_client.google_login(id_token, nonce, age_confirmed=True, device_name="Ada's laptop")
    assert (profile.name, profile.email, profile.username) == ("Ada Lovelace", EMAIL, "ada")
    assert (profile.google_linked, profile.has_password, profile.two_factor) == (True, False, False)
    assert app_client.signed_in
    assert [s.device_name for s in app_client.sessions()] == ["Ada's laptop"]
    token_request = oidc_issuer.token_requests[-1]
    assert token_request["code_verifier"]  # PKCE: the issuer checked it against the challenge


def test_google_links_an_existing_confirmed_account(
    app_client: ApiClient, oidc_issuer: FakeIssuer, mailbox: Mailbox
) -> None:
    registered(app_client, mailbox)
    id_token, nonce, _ = google_identity(app_client, oidc_issuer)
    profile = app_client.google_login(id_token, nonce)
    assert (profile.username, profile.google_linked, profile.has_password) == ("ada", True, True)


def test_two_step_sign_in_from_set_up_to_turning_it_off(
    app_client: ApiClient, live_server: LiveServer, mailbox: Mailbox
) -> None:
    registered(app_client, mailbox)
    app_client.login(EMAIL, TEST_PASSWORD)
    setup = app_client.start_totp()
    assert setup.otpauth_uri.startswith("otpauth://totp/")
    codes = app_client.confirm_totp(pyotp.TOTP(setup.secret).now(), current_password=TEST_PASSWORD)
    assert len(codes) == 10
    assert app_client.me().two_factor is True

    with ApiClient(live_server.url, tokens=MemoryTokenStore()) as laptop:
        with pytest.raises(OtpRequired) as asked:
            laptop.login(EMAIL, TEST_PASSWORD, device_name="laptop")
        assert asked.value.challenge
        with pytest.raises(ApiError) as wrong:
            laptop.login_otp(asked.value.challenge, "000000")
        assert wrong.value.code == "invalid_otp"
        assert laptop.login_otp(asked.value.challenge, code_ahead(setup.secret)).email == EMAIL
        assert laptop.signed_in

    with ApiClient(live_server.url, tokens=MemoryTokenStore()) as phone:
        with pytest.raises(OtpRequired) as asked:
            phone.login("ada", TEST_PASSWORD)
        assert phone.login_otp(asked.value.challenge, codes[0]).username == "ada"  # a recovery code

    app_client.disable_totp(TEST_PASSWORD, codes[1])
    assert app_client.me().two_factor is False


def test_google_sign_in_asks_for_the_code_when_two_step_is_on(
    app_client: ApiClient, oidc_issuer: FakeIssuer, mailbox: Mailbox, live_server: LiveServer
) -> None:
    registered(app_client, mailbox)
    app_client.login(EMAIL, TEST_PASSWORD)
    secret = app_client.start_totp().secret
    app_client.confirm_totp(pyotp.TOTP(secret).now(), current_password=TEST_PASSWORD)

    with ApiClient(live_server.url, tokens=MemoryTokenStore()) as other:
        id_token, nonce, _ = google_identity(other, oidc_issuer)
        with pytest.raises(OtpRequired) as asked:
            other.google_login(id_token, nonce)
        profile = other.login_otp(asked.value.challenge, code_ahead(secret))
        assert (profile.username, profile.google_linked) == ("ada", True)


def test_forgot_password_mails_a_link_to_our_page(app_client: ApiClient, mailbox: Mailbox) -> None:
    registered(app_client, mailbox)
    app_client.request_password_reset(EMAIL)
    deadline = time.monotonic() + 10
    while not (mails := [m for m in mailbox.messages() if m["To"] == EMAIL and "reset" in m["Subject"].lower()]):
        assert time.monotonic() < deadline, "no reset mail"
        time.sleep(0.05)
    assert link_token(mails[-1], "reset-password")
