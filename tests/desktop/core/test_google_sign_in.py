"""Google sign-in through the system browser, run for real against the local OpenID Connect issuer.

The "browser" is a thread following the issuer's redirects to the app's loopback listener, as a real one would;
nothing in the flow is patched.
"""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError
from joserfc.jwk import KeySet

from desktop.core.api.models import GoogleProvider
from desktop.core.google_sign_in import SCOPE, GoogleIdentity, GoogleSignIn, GoogleSignInError
from tests.fixtures.oidc_issuer import CLIENT_ID, CLIENT_SECRET, s256

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.fixtures.oidc_issuer import FakeIssuer

CLOSE_TAB = "You can close this tab and go back to Tech Pal."


class Browser:
    """``open_browser`` for the flow: visits the URL in a thread (it returns at once, as a real browser launch does)."""

    def __init__(self, visit: Callable[[str], str]) -> None:
        self.visit = visit
        self.urls: list[str] = []
        self.pages: list[str] = []
        self.errors: list[Exception] = []
        self._threads: list[threading.Thread] = []

    def __call__(self, url: str) -> bool:
        self.urls.append(url)
        thread = threading.Thread(target=self._visit, args=(url,), daemon=True)
        thread.start()
        self._threads.append(thread)
        return True

    def _visit(self, url: str) -> None:
        try:
            self.pages.append(self.visit(url))
        except Exception as error:  # the test reads it
            self.errors.append(error)

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=10)
        assert not any(thread.is_alive() for thread in self._threads)


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def back_to_app(authorization_url: str, **params: str) -> str:
    """What a browser gets from the app's loopback listener when it arrives with ``params``."""
    redirect_uri = query_of(authorization_url)["redirect_uri"]
    response = httpx.get(f"{redirect_uri}?{urlencode(params)}", trust_env=False)
    return f"{response.status_code} {response.text}"


def provider_of(fake: FakeIssuer, **changes: str) -> GoogleProvider:
    fields = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "issuer": fake.url} | changes
    return GoogleProvider(**fields)


def sign_in(issuer: FakeIssuer, browser: Browser, **options: float) -> GoogleIdentity:
    try:
        return GoogleSignIn(provider_of(issuer), browser, **options).run()
    finally:
        browser.join()


def failed_sign_in(provider: GoogleProvider, browser: Callable[[str], object], **options: float) -> GoogleSignInError:
    with pytest.raises(GoogleSignInError) as caught:
        GoogleSignIn(provider, browser, **options).run()
    if isinstance(browser, Browser):
        browser.join()
    return caught.value


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# ---------------------------------------------------------------------- the flow


def test_sign_in_returns_the_id_token_google_signed_with_the_flows_nonce(oidc_issuer: FakeIssuer) -> None:
    identity = sign_in(oidc_issuer, Browser(oidc_issuer.browse))

    claims = jwt.decode(identity.id_token, KeySet.import_key_set(oidc_issuer.jwks()), algorithms=["RS256"]).claims
    assert claims["nonce"] == identity.nonce == oidc_issuer.authorize_requests[0]["nonce"]
    assert claims["aud"] == CLIENT_ID
    assert claims["iss"] == oidc_issuer.url
    assert claims["sub"] == oidc_issuer.next_account.sub


def test_authorization_request_carries_pkce_state_nonce_scope_and_a_loopback_redirect(oidc_issuer: FakeIssuer) -> None:
    browser = Browser(oidc_issuer.browse)

    sign_in(oidc_issuer, browser)

    [authorized] = oidc_issuer.authorize_requests
    assert query_of(browser.urls[0]) == authorized
    assert browser.urls[0].startswith(f"{oidc_issuer.url}/authorize?")
    assert authorized["response_type"] == "code"
    assert authorized["client_id"] == CLIENT_ID
    assert authorized["scope"] == SCOPE == "openid email profile"
    assert authorized["code_challenge_method"] == "S256"
    redirect = urlsplit(authorized["redirect_uri"])
    assert (redirect.scheme, redirect.hostname, redirect.path) == ("http", "127.0.0.1", "/")
    assert redirect.port
    assert len(authorized["state"]) >= 43
    assert len(authorized["nonce"]) >= 43
    verifier = oidc_issuer.token_requests[0]["code_verifier"]
    assert 43 <= len(verifier) <= 128
    assert authorized["code_challenge"] == s256(verifier)


def test_token_request_carries_the_code_verifier_and_the_client_credentials(oidc_issuer: FakeIssuer) -> None:
    sign_in(oidc_issuer, Browser(oidc_issuer.browse))

    [exchanged] = oidc_issuer.token_requests
    assert exchanged["grant_type"] == "authorization_code"
    assert exchanged["code"].startswith("4/0A")
    assert exchanged["redirect_uri"] == oidc_issuer.authorize_requests[0]["redirect_uri"]
    assert (exchanged["client_id"], exchanged["client_secret"]) == (CLIENT_ID, CLIENT_SECRET)
    assert exchanged["code_verifier"]


def test_browser_is_told_to_close_the_tab(oidc_issuer: FakeIssuer) -> None:
    browser = Browser(oidc_issuer.browse)

    sign_in(oidc_issuer, browser)

    assert browser.errors == []
    assert len(browser.pages) == 1
    assert CLOSE_TAB in browser.pages[0]


def test_every_sign_in_uses_a_fresh_state_nonce_and_verifier(oidc_issuer: FakeIssuer) -> None:
    first = sign_in(oidc_issuer, Browser(oidc_issuer.browse))
    second = sign_in(oidc_issuer, Browser(oidc_issuer.browse))

    assert first.nonce != second.nonce
    assert first.id_token != second.id_token
    one, two = oidc_issuer.authorize_requests
    assert one["state"] != two["state"]
    assert one["redirect_uri"] != two["redirect_uri"]
    assert oidc_issuer.token_requests[0]["code_verifier"] != oidc_issuer.token_requests[1]["code_verifier"]


def test_requests_without_an_answer_get_404_and_the_wait_goes_on(oidc_issuer: FakeIssuer) -> None:
    def visit(url: str) -> str:
        origin = query_of(url)["redirect_uri"]
        favicon = httpx.get(f"{origin}favicon.ico", trust_env=False)
        bare = back_to_app(url, state=query_of(url)["state"])
        return f"{favicon.status_code} | {bare} | {oidc_issuer.browse(url)}"

    browser = Browser(visit)

    identity = sign_in(oidc_issuer, browser)

    assert identity.nonce
    favicon, bare, page = browser.pages[0].split(" | ")
    assert favicon == "404"
    assert bare.startswith("404 ")
    assert CLOSE_TAB in page


def test_given_http_client_is_used_and_left_open(oidc_issuer: FakeIssuer) -> None:
    browser = Browser(oidc_issuer.browse)
    with httpx.Client(trust_env=False) as http:
        identity = GoogleSignIn(provider_of(oidc_issuer), browser, http=http).run()
        browser.join()

        assert not http.is_closed
        assert http.get(f"{oidc_issuer.url}/jwks").status_code == 200
    assert identity.id_token


# ---------------------------------------------------------------------- what stops it


def test_user_refusing_at_google_is_a_cancelled_sign_in(oidc_issuer: FakeIssuer) -> None:
    oidc_issuer.deny_next = True
    browser = Browser(oidc_issuer.browse)

    error = failed_sign_in(provider_of(oidc_issuer), browser)

    assert str(error) == "You cancelled the Google sign-in."
    assert error.cancelled
    assert oidc_issuer.token_requests == []
    assert "Google sign-in did not finish." in browser.pages[0]


def test_an_answer_with_a_forged_state_stops_the_sign_in_without_a_token_request(oidc_issuer: FakeIssuer) -> None:
    browser = Browser(lambda url: back_to_app(url, code="4/0Astolen", state="forged-state"))

    error = failed_sign_in(provider_of(oidc_issuer), browser)

    assert not error.cancelled
    assert "does not belong to this sign-in" in str(error)
    assert oidc_issuer.token_requests == []
    assert browser.pages[0].startswith("400 ")
    assert CLOSE_TAB not in browser.pages[0]


def test_an_error_from_the_browser_is_never_written_into_the_page_or_the_message(oidc_issuer: FakeIssuer) -> None:
    script = "<script>alert(1)</script>"
    browser = Browser(lambda url: back_to_app(url, error=script, state=query_of(url)["state"]))

    error = failed_sign_in(provider_of(oidc_issuer), browser)

    assert not error.cancelled
    assert str(error) == "Google could not sign you in. Please try again."
    assert script not in browser.pages[0]
    assert "<script" not in browser.pages[0]
    assert oidc_issuer.token_requests == []


def test_no_answer_from_the_browser_times_out(oidc_issuer: FakeIssuer) -> None:
    opened: list[str] = []

    error = failed_sign_in(provider_of(oidc_issuer), opened.append, timeout=0.5)

    assert len(opened) == 1
    assert "took too long" in str(error)
    assert not error.cancelled


def test_cancel_stops_the_wait_and_closes_the_listener(oidc_issuer: FakeIssuer) -> None:
    cancel = threading.Event()
    opened: list[str] = []

    def open_then_cancel(url: str) -> None:
        opened.append(url)
        cancel.set()

    flow = GoogleSignIn(provider_of(oidc_issuer), open_then_cancel, timeout=60)
    with pytest.raises(GoogleSignInError) as caught:
        flow.run(cancel)

    assert caught.value.cancelled
    assert str(caught.value) == "Google sign-in was cancelled."
    with pytest.raises(httpx.ConnectError):
        httpx.get(query_of(opened[0])["redirect_uri"], trust_env=False)


def test_unreachable_issuer_is_an_error_before_any_browser_opens() -> None:
    provider = GoogleProvider(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, issuer=f"http://127.0.0.1:{closed_port()}"
    )
    opened: list[str] = []

    error = failed_sign_in(provider, opened.append)

    assert "cannot reach Google's sign-in service" in str(error)
    assert opened == []


def test_issuer_outage_is_an_unexpected_answer(oidc_issuer: FakeIssuer) -> None:
    oidc_issuer.fail_with(503)
    opened: list[str] = []

    error = failed_sign_in(provider_of(oidc_issuer), opened.append)

    assert "unexpected answer" in str(error)
    assert opened == []


def test_discovery_naming_another_issuer_stops_the_sign_in(oidc_issuer: FakeIssuer) -> None:
    elsewhere = oidc_issuer.url.replace("127.0.0.1", "localhost")
    opened: list[str] = []

    error = failed_sign_in(provider_of(oidc_issuer, issuer=elsewhere), opened.append)

    assert "did not identify itself" in str(error)
    assert opened == []


def test_insecure_issuer_address_is_refused() -> None:
    provider = GoogleProvider(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, issuer="http://accounts.example.com")
    opened: list[str] = []

    error = failed_sign_in(provider, opened.append)

    assert "not secure" in str(error)
    assert opened == []


def test_token_endpoint_refusal_is_an_error(oidc_issuer: FakeIssuer) -> None:
    browser = Browser(oidc_issuer.browse)

    error = failed_sign_in(provider_of(oidc_issuer, client_secret="not-the-secret"), browser)

    assert str(error) == "Google refused the sign-in (invalid_client). Please try again."
    assert len(oidc_issuer.token_requests) == 1
    assert CLOSE_TAB in browser.pages[0]


def test_a_browser_that_cannot_open_is_an_error(oidc_issuer: FakeIssuer) -> None:
    error = failed_sign_in(provider_of(oidc_issuer), lambda url: False)

    assert "could not open your web browser" in str(error)
    assert oidc_issuer.authorize_requests == []


# ---------------------------------------------------------------------- the fake issuer itself


def authorization(verifier: str) -> dict[str, str]:
    """A valid authorization request, as the app makes it, for the redirect ``http://127.0.0.1:9/``."""
    return {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "redirect_uri": "http://127.0.0.1:9/",
        "scope": "openid email",
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
        "state": "s",
        "nonce": "n",
    }


def test_fake_issuer_spends_a_code_once_and_only_for_the_matching_verifier(oidc_issuer: FakeIssuer) -> None:
    verifier, redirect_uri = "v" * 43, "http://127.0.0.1:9/"
    answer = httpx.get(f"{oidc_issuer.url}/authorize", params=authorization(verifier), trust_env=False)
    assert answer.status_code == 302
    code = query_of(answer.headers["location"])["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}

    def exchange(with_verifier: str) -> httpx.Response:
        return httpx.post(
            f"{oidc_issuer.url}/token",
            data=form | {"code_verifier": with_verifier},
            auth=(CLIENT_ID, CLIENT_SECRET),
            trust_env=False,
        )

    assert exchange("w" * 43).json() == {"error": "invalid_grant", "error_description": "Bad Request"}
    assert exchange(verifier).status_code == 400  # the failed attempt spent the code


@pytest.mark.parametrize(
    ("change", "value"),
    [
        ("redirect_uri", "https://evil.example/"),
        ("redirect_uri", "http://localhost:9/"),
        ("code_challenge_method", "plain"),
        ("client_id", "someone-else"),
        ("nonce", ""),
    ],
)
def test_fake_issuer_answers_a_bad_authorization_request_with_a_page_not_a_redirect(
    oidc_issuer: FakeIssuer, change: str, value: str
) -> None:
    params = authorization("v" * 43) | {change: value}

    answer = httpx.get(f"{oidc_issuer.url}/authorize", params=params, trust_env=False)

    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert oidc_issuer.authorize_requests == []


def test_fake_issuer_rotates_keys_and_its_forgeries_fail_verification(oidc_issuer: FakeIssuer) -> None:
    old_kid = oidc_issuer.kid
    before = oidc_issuer.mint(drop=["email"])

    new_kid = oidc_issuer.rotate()

    published = KeySet.import_key_set(oidc_issuer.jwks())
    assert new_kid != old_kid
    assert old_kid not in {key["kid"] for key in oidc_issuer.jwks()["keys"]}
    assert jwt.decode(oidc_issuer.mint(drop=["email"]), published).claims.get("email") is None
    assert jwt.decode(oidc_issuer.mint(), published).claims["email"] == oidc_issuer.next_account.email
    with pytest.raises(InvalidKeyIdError):
        jwt.decode(before, published)
    with pytest.raises(BadSignatureError):
        jwt.decode(oidc_issuer.forge(), published)
    with pytest.raises(InvalidKeyIdError):
        jwt.decode(oidc_issuer.sign_with_unpublished_kid(), published)
