"""Google sign-in: the server verifies ID tokens from a local OpenID Connect issuer exactly as it would Google's."""

from __future__ import annotations

import asyncio
import io
import json
import secrets
import time
import uuid
import zipfile
from typing import TYPE_CHECKING, Any

import pyotp
import pytest

from server.settings import GoogleSettings, Secret, Settings
from tests.fixtures.auth import auth_header
from tests.fixtures.db import fetch_rows, fetch_value
from tests.fixtures.mail import link_token
from tests.fixtures.oidc_issuer import CLIENT_ID, CLIENT_SECRET, FakeIssuer

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from tests.fixtures.auth import UserFactory
    from tests.fixtures.mail import Mailbox

    Client = AsyncTestClient[Litestar]

GOOGLE = "/api/v1/auth/google"


@pytest.fixture
def settings(settings: Settings, oidc_issuer: FakeIssuer) -> Settings:
    """The accounts test settings with Google sign-in pointed at the local issuer."""
    google = GoogleSettings(client_id=CLIENT_ID, client_secret=Secret(CLIENT_SECRET), issuer=oidc_issuer.url)
    return settings.replace(google=google)


def fresh_nonce() -> str:
    return secrets.token_urlsafe(24)


async def sign_in(client: Client, token: str, nonce: str, **extra: Any) -> Any:
    body = {"id_token": token, "nonce": nonce, "device_name": "ada's laptop", **extra}
    return await client.post(GOOGLE, json=body)


async def user_row(settings: Settings, email: str) -> dict[str, Any]:
    rows = await fetch_rows(settings.db.url.get_secret_value(), "SELECT * FROM users WHERE lower(email) = $1", email)
    assert len(rows) == 1
    return dict(rows[0])


async def test_providers_hand_the_desktop_what_it_needs(client: Client, oidc_issuer: FakeIssuer) -> None:
    answer = await client.get("/api/v1/auth/providers")
    assert answer.status_code == 200
    assert answer.json() == {
        "google": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "issuer": oidc_issuer.url}
    }


async def test_a_first_sign_in_needs_the_age_and_creates_the_account_from_name_and_email_only(
    client: Client, oidc_issuer: FakeIssuer, settings: Settings
) -> None:
    nonce = fresh_nonce()
    token = oidc_issuer.mint(nonce=nonce)
    refused = await sign_in(client, token, nonce)
    assert (refused.status_code, refused.json()["code"]) == (422, "age_required")
    url = settings.db.url.get_secret_value()
    assert await fetch_value(url, "SELECT count(*) FROM users") == 0
    assert await fetch_value(url, "SELECT count(*) FROM oidc_nonces") == 0  # the same token may come back

    signed_in = await sign_in(client, token, nonce, age_confirmed=True)
    assert signed_in.status_code == 200, signed_in.text
    me = (await client.get("/api/v1/me", headers=auth_header(signed_in.json()["access_token"]))).json()
    assert (me["name"], me["email"], me["username"]) == ("Ada Lovelace", "ada@example.com", "ada")
    assert me["email_verified"] is True
    assert (me["google_linked"], me["has_password"], me["two_factor"]) == (True, False, False)

    row = await user_row(settings, "ada@example.com")
    account = oidc_issuer.next_account
    assert row["google_subject"] == account.sub
    assert row["password_hash"] is None
    # Exactly these columns hold something: Google's name, address and subject id, and our own bookkeeping.
    assert {column for column, value in row.items() if value is not None} == {
        "id",
        "name",
        "email",
        "username",
        "role",
        "email_verified_at",
        "age_confirmed_at",
        "kb_contribution",
        "analytics",
        "ai_processing",
        "google_subject",
        "created_at",
        "updated_at",
    }
    for only_in_the_token in (account.picture, account.locale, account.family_name):
        assert all(only_in_the_token not in str(value) for column, value in row.items() if column != "name")
    stored_nonces = await fetch_rows(url, "SELECT nonce_hash FROM oidc_nonces")
    assert [bytes(r["nonce_hash"]) for r in stored_nonces] != [nonce.encode()]
    assert len(stored_nonces) == 1


async def test_the_username_is_made_free_when_taken(
    client: Client, oidc_issuer: FakeIssuer, user_factory: UserFactory
) -> None:
    await user_factory(username="ada", email="someone-else@example.com")
    nonce = fresh_nonce()
    signed_in = await sign_in(client, oidc_issuer.mint(nonce=nonce), nonce, age_confirmed=True)
    me = (await client.get("/api/v1/me", headers=auth_header(signed_in.json()["access_token"]))).json()
    assert me["username"].startswith("ada")
    assert me["username"] != "ada"
    renamed = await client.patch(
        "/api/v1/me", json={"username": "ada-lovelace"}, headers=auth_header(signed_in.json()["access_token"])
    )
    assert renamed.json()["username"] == "ada-lovelace"  # derived, and changeable


async def test_an_account_with_the_same_verified_email_is_linked_changing_only_the_subject(
    client: Client, oidc_issuer: FakeIssuer, user_factory: UserFactory, settings: Settings
) -> None:
    user = await user_factory(email="ada@example.com", name="Ada L.")
    before = await user_row(settings, "ada@example.com")
    nonce = fresh_nonce()
    signed_in = await sign_in(client, oidc_issuer.mint(nonce=nonce), nonce)
    assert signed_in.status_code == 200, signed_in.text
    me = (await client.get("/api/v1/me", headers=auth_header(signed_in.json()["access_token"]))).json()
    assert me["id"] == user.id

    after = await user_row(settings, "ada@example.com")
    changed = {column for column in before if before[column] != after[column]}
    assert changed == {"google_subject", "updated_at"}
    assert after["google_subject"] == oidc_issuer.next_account.sub

    again = fresh_nonce()
    second = await sign_in(client, oidc_issuer.mint(nonce=again), again)
    assert second.status_code == 200  # found by the subject from now on
    assert await user_row(settings, "ada@example.com") == after


async def test_an_account_whose_email_is_not_verified_is_not_linked(
    client: Client, oidc_issuer: FakeIssuer, user_factory: UserFactory, settings: Settings
) -> None:
    await user_factory(email="ada@example.com", verified=False)
    before = await user_row(settings, "ada@example.com")
    nonce = fresh_nonce()
    refused = await sign_in(client, oidc_issuer.mint(nonce=nonce), nonce, age_confirmed=True)
    assert (refused.status_code, refused.json()["code"]) == (409, "link_requires_password")
    assert await user_row(settings, "ada@example.com") == before


async def test_an_unverified_google_email_is_refused(client: Client, oidc_issuer: FakeIssuer) -> None:
    nonce = fresh_nonce()
    refused = await sign_in(client, oidc_issuer.mint(nonce=nonce, email_verified=False), nonce, age_confirmed=True)
    assert (refused.status_code, refused.json()["code"]) == (403, "email_unverified")


@pytest.mark.parametrize(
    "bend",
    [
        pytest.param({"aud": "another-client.apps.googleusercontent.com"}, id="wrong-audience"),
        pytest.param({"iss": "https://accounts.example.com"}, id="wrong-issuer"),
        pytest.param({"issued_at": int(time.time()) - 7200, "expires_in": 3600}, id="expired"),
        pytest.param({"issued_at": int(time.time()) + 600}, id="issued-in-the-future"),
        pytest.param({"drop": ["nonce"]}, id="no-nonce"),
        pytest.param({"drop": ["exp"]}, id="no-expiry"),
    ],
)
async def test_a_token_with_wrong_claims_is_refused(
    client: Client, oidc_issuer: FakeIssuer, settings: Settings, bend: dict[str, Any]
) -> None:
    nonce = fresh_nonce()
    refused = await sign_in(client, oidc_issuer.mint(nonce=nonce, **bend), nonce, age_confirmed=True)
    assert (refused.status_code, refused.json()["code"]) == (401, "invalid_id_token")
    assert await fetch_value(settings.db.url.get_secret_value(), "SELECT count(*) FROM users") == 0


async def test_a_token_just_past_its_expiry_passes_within_the_leeway(client: Client, oidc_issuer: FakeIssuer) -> None:
    nonce = fresh_nonce()
    token = oidc_issuer.mint(nonce=nonce, issued_at=int(time.time()) - 3620, expires_in=3600)
    assert (await sign_in(client, token, nonce, age_confirmed=True)).status_code == 200


async def test_a_nonce_other_than_the_apps_is_refused(client: Client, oidc_issuer: FakeIssuer) -> None:
    token = oidc_issuer.mint(nonce=fresh_nonce())
    refused = await sign_in(client, token, fresh_nonce(), age_confirmed=True)
    assert refused.json()["code"] == "invalid_id_token"


async def test_a_forged_signature_is_refused(client: Client, oidc_issuer: FakeIssuer) -> None:
    nonce = fresh_nonce()
    refused = await sign_in(client, oidc_issuer.forge(nonce=nonce), nonce, age_confirmed=True)
    assert (refused.status_code, refused.json()["code"]) == (401, "invalid_id_token")


async def test_a_replayed_token_is_refused(client: Client, oidc_issuer: FakeIssuer) -> None:
    nonce = fresh_nonce()
    token = oidc_issuer.mint(nonce=nonce)
    assert (await sign_in(client, token, nonce, age_confirmed=True)).status_code == 200
    replayed = await sign_in(client, token, nonce, age_confirmed=True)
    assert (replayed.status_code, replayed.json()["code"]) == (401, "invalid_id_token")


async def test_keys_are_cached_and_fetched_again_when_the_issuer_rotates(
    client: Client, oidc_issuer: FakeIssuer
) -> None:
    for _ in range(2):
        nonce = fresh_nonce()
        assert (await sign_in(client, oidc_issuer.mint(nonce=nonce), nonce, age_confirmed=True)).status_code == 200
    assert oidc_issuer.jwks_fetches == 1

    oidc_issuer.rotate()
    nonce = fresh_nonce()
    rotated = await sign_in(client, oidc_issuer.mint(nonce=nonce), nonce, age_confirmed=True)
    assert rotated.status_code == 200, rotated.text
    assert oidc_issuer.jwks_fetches == 2


async def test_unknown_key_ids_cannot_make_the_server_hammer_the_issuer(
    client: Client, oidc_issuer: FakeIssuer
) -> None:
    nonce = fresh_nonce()
    assert (await sign_in(client, oidc_issuer.mint(nonce=nonce), nonce, age_confirmed=True)).status_code == 200
    for _ in range(5):
        nonce = fresh_nonce()
        refused = await sign_in(client, oidc_issuer.sign_with_unpublished_kid(nonce=nonce), nonce, age_confirmed=True)
        assert refused.json()["code"] == "invalid_id_token"
    assert oidc_issuer.jwks_fetches == 2  # the first load, then one look for the unknown key


async def test_the_issuer_down_is_a_503_not_a_refusal(client: Client, oidc_issuer: FakeIssuer) -> None:
    oidc_issuer.fail_with(500)
    nonce = fresh_nonce()
    answer = await sign_in(client, oidc_issuer.mint(nonce=nonce), nonce, age_confirmed=True)
    assert (answer.status_code, answer.json()["code"]) == (503, "google_unavailable")
    assert "retry-after" in answer.headers


async def test_with_two_step_sign_in_on_the_link_waits_for_the_code(
    client: Client, oidc_issuer: FakeIssuer, user_factory: UserFactory, settings: Settings
) -> None:
    user = await user_factory(email="ada@example.com")
    secret = (await client.post("/api/v1/me/2fa/totp", headers=user.headers)).json()["secret"]
    confirm = {"code": pyotp.TOTP(secret).now(), "current_password": user.password}
    assert (await client.post("/api/v1/me/2fa/totp/confirm", json=confirm, headers=user.headers)).status_code == 200

    nonce = fresh_nonce()
    asked = await sign_in(client, oidc_issuer.mint(nonce=nonce), nonce)
    assert (asked.status_code, asked.json()["code"]) == (401, "otp_required")
    assert (await user_row(settings, "ada@example.com"))["google_subject"] is None

    again = await sign_in(client, oidc_issuer.mint(nonce=nonce), nonce)
    assert again.json()["code"] == "invalid_id_token"  # the token was spent by the challenge it got

    code = pyotp.TOTP(secret).at(time.time() + 30)
    answered = await client.post("/api/v1/auth/login/otp", json={"challenge": asked.json()["challenge"], "code": code})
    assert answered.status_code == 200, answered.text
    assert (await user_row(settings, "ada@example.com"))["google_subject"] == oidc_issuer.next_account.sub


async def test_a_deleted_account_cannot_sign_in_with_google(
    client: Client, oidc_issuer: FakeIssuer, user_factory: UserFactory, settings: Settings
) -> None:
    user = await user_factory(email="ada@example.com")
    nonce = fresh_nonce()
    assert (await sign_in(client, oidc_issuer.mint(nonce=nonce), nonce)).status_code == 200
    await fetch_value(
        settings.db.url.get_secret_value(),
        "UPDATE users SET deleted_at = now(), purge_after = now() + interval '30 days' WHERE id = $1 RETURNING id",
        uuid.UUID(user.id),
    )
    nonce = fresh_nonce()
    refused = await sign_in(client, oidc_issuer.mint(nonce=nonce), nonce)
    assert (refused.status_code, refused.json()["code"]) == (403, "account_deleted")


async def test_an_account_without_a_password_is_told_how_to_set_one(client: Client, oidc_issuer: FakeIssuer) -> None:
    nonce = fresh_nonce()
    tokens = (await sign_in(client, oidc_issuer.mint(nonce=nonce), nonce, age_confirmed=True)).json()
    headers = auth_header(tokens["access_token"])
    change = await client.post(
        "/api/v1/me/password", json={"current_password": "anything-at-all", "new_password": "x" * 12}, headers=headers
    )
    assert (change.status_code, change.json()["code"]) == (403, "password_not_set")
    login = await client.post("/api/v1/auth/login", json={"login": "ada@example.com", "password": "anything-at-all"})
    assert login.json()["code"] == "invalid_credentials"


async def test_the_export_says_how_the_account_signs_in(client: Client, oidc_issuer: FakeIssuer) -> None:
    nonce = fresh_nonce()
    tokens = (await sign_in(client, oidc_issuer.mint(nonce=nonce), nonce, age_confirmed=True)).json()
    headers = auth_header(tokens["access_token"])
    started = await client.post("/api/v1/me/export", headers=headers)
    assert started.status_code == 202
    export_id = started.json()["id"]
    for _ in range(100):
        if (await client.get(f"/api/v1/me/exports/{export_id}", headers=headers)).json()["status"] == "ready":
            break
        await asyncio.sleep(0.05)
    archive = await client.get(f"/api/v1/me/exports/{export_id}/download", headers=headers)
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        profile = json.loads(opened.read("profile.json"))
    assert profile["sign_in"] == {
        "password": False,
        "google_account_id": oidc_issuer.next_account.sub,
        "two_step_since": None,
    }


async def test_a_staff_account_is_not_linked_by_email(
    client: Client, oidc_issuer: FakeIssuer, user_factory: UserFactory, settings: Settings
) -> None:
    user = await user_factory(email="ada@example.com")
    await fetch_value(
        settings.db.url.get_secret_value(),
        "UPDATE users SET role = 'admin' WHERE id = $1 RETURNING id",
        uuid.UUID(user.id),
    )
    nonce = fresh_nonce()
    refused = await sign_in(client, oidc_issuer.mint(nonce=nonce), nonce)
    assert (refused.status_code, refused.json()["code"]) == (409, "link_requires_password")
    assert (await user_row(settings, "ada@example.com"))["google_subject"] is None


async def test_the_owner_taking_the_account_back_drops_a_thiefs_google_link(
    client: Client, oidc_issuer: FakeIssuer, user_factory: UserFactory, mailbox: Mailbox, settings: Settings
) -> None:
    """The owner's "cancel the change" link undoes a thief's Google link along with the address change.

    The thief, holding the password, moved the account to their address and linked their Google account.
    """
    owner = await user_factory(email="owner@example.com")
    moved = await client.patch(
        "/api/v1/me",
        json={"email": "ada@example.com", "current_password": owner.password},
        headers=owner.headers,
    )
    assert moved.status_code == 200
    confirm = link_token(await mailbox.latest_to("ada@example.com"), "verify-email")
    assert (await client.post("/api/v1/auth/verify-email", json={"token": confirm})).status_code == 204
    nonce = fresh_nonce()
    assert (await sign_in(client, oidc_issuer.mint(nonce=nonce), nonce)).status_code == 200  # linked to the thief

    cancel = link_token(await mailbox.latest_to("owner@example.com"), "cancel-email-change")
    assert (await client.post("/cancel-email-change", data={"token": cancel})).status_code == 200
    assert (await user_row(settings, "owner@example.com"))["google_subject"] is None

    nonce = fresh_nonce()
    thief = await sign_in(client, oidc_issuer.mint(nonce=nonce), nonce, age_confirmed=True)
    me = (await client.get("/api/v1/me", headers=auth_header(thief.json()["access_token"]))).json()
    assert me["id"] != owner.id  # a new account of the thief's own, not the owner's
