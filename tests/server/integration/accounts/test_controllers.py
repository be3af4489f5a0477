"""Accounts over HTTP, against the real database and a real SMTP server: what a user or an attacker sees."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.lib.crypto import AccessTokenSigner
from server.settings import Secret, Settings
from tests.fixtures.auth import TEST_PASSWORD, TestUser, UserFactory, auth_header
from tests.fixtures.db import connect
from tests.fixtures.mail import SmtpCapture, link_token

Client = AsyncTestClient[Litestar]
REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"


def registration(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "username": "ada",
        "password": TEST_PASSWORD,
        "age_confirmed": True,
    }
    return body | overrides


def last_mail_to(smtp: SmtpCapture, address: str) -> Any:
    mails = [m for m in smtp.messages() if m["To"] == address]
    assert mails, f"no mail to {address}"
    return mails[-1]


async def login(
    client: Client, login: str, password: str = TEST_PASSWORD, headers: dict[str, str] | None = None, **extra: Any
) -> Any:
    return await client.post(LOGIN, json={"login": login, "password": password, **extra}, headers=headers)


async def sql(db_url: str, query: str, *args: Any) -> list[Any]:
    connection = await connect(db_url)
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


# ---------------------------------------------------------------------------------------------- registration
async def test_register_creates_an_unverified_account_and_mails_a_link(
    client: Client, smtp_server: SmtpCapture, settings: Settings, db_url: str
) -> None:
    response = await client.post(REGISTER, json=registration(email="Ada@Example.COM", username="Ada"))
    assert response.status_code == 201
    profile = response.json()
    assert profile["email"] == "Ada@example.com"
    assert profile["username"] == "ada"
    assert profile["email_verified"] is False
    assert profile["role"] == "user"
    assert profile["has_password"] is True
    assert "password_hash" not in profile
    assert "argon2" not in str(profile)

    mail = last_mail_to(smtp_server, "Ada@example.com")
    body = mail.get_body(("plain",)).get_content()
    assert f"{settings.server.base_url}/verify-email?token=" in body
    token = link_token(mail, "verify-email")
    assert len(token) >= 43  # 32 random bytes, URL-safe
    # Only a hash of the token is stored, and the password only as argon2id.
    rows = await sql(db_url, "SELECT token_hash FROM email_tokens")
    assert [bytes(r["token_hash"]) for r in rows] == [hashlib.sha256(token.encode()).digest()]
    (user,) = await sql(db_url, "SELECT password_hash FROM users")
    assert user["password_hash"].startswith("$argon2id$")
    assert TEST_PASSWORD not in user["password_hash"]


@pytest.mark.parametrize(
    ("second", "code"),
    [
        ({"email": "ADA@example.com", "username": "other"}, "email_taken"),
        ({"email": "other@example.com", "username": "ADA"}, "username_taken"),
    ],
)
async def test_duplicates_are_refused_case_insensitively(client: Client, second: dict[str, str], code: str) -> None:
    assert (await client.post(REGISTER, json=registration())).status_code == 201
    response = await client.post(REGISTER, json=registration(**second))
    assert response.status_code == 409
    assert response.json()["code"] == code


@pytest.mark.parametrize(
    "password",
    [
        "short1!",  # under 10 characters
        "password123",  # common
        "qwertyuiop",  # common keyboard walk
        "Iloveyou2024",  # common with a year, whatever the case
        "my-ada-is-great",  # contains the username
        "ada@example.com",  # equal to the e-mail address
    ],
)
async def test_weak_passwords_are_refused(client: Client, password: str, db_url: str) -> None:
    response = await client.post(REGISTER, json=registration(password=password))
    assert response.status_code == 422
    assert response.json()["code"] == "weak_password"
    assert response.json()["errors"][0]["field"] == "password"
    assert await sql(db_url, "SELECT id FROM users") == []


async def test_age_must_be_confirmed(client: Client) -> None:
    response = await client.post(REGISTER, json=registration(age_confirmed=False))
    assert response.status_code == 422
    assert response.json()["code"] == "age_required"


@pytest.mark.parametrize(
    "overrides",
    [
        {"username": "ab"},
        {"username": "a" * 33},
        {"username": "bad name"},
        {"username": "émile"},
        {"email": "not-an-email"},
        {"email": "ada@localhost"},
        {"email": "a b@example.com"},
        {"name": "   "},
    ],
)
async def test_bad_usernames_emails_and_names_are_refused(client: Client, overrides: dict[str, str]) -> None:
    response = await client.post(REGISTER, json=registration(**overrides))
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize(
    "body",
    [
        {k: v for k, v in registration().items() if k != "password"},  # missing field
        registration(age_confirmed="yes"),  # wrong type
        registration(email=42),
        registration(is_admin=True),  # unknown field (no mass assignment)
        registration(role="admin"),
        registration(name="Ada\x00"),  # NUL
        registration(password="x" * 2000),  # absurdly long
    ],
)
async def test_malformed_registrations_are_422(client: Client, body: dict[str, Any]) -> None:
    response = await client.post(REGISTER, json=body)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_broken_and_oversized_bodies(client: Client) -> None:
    broken = await client.post(REGISTER, content=b'{"name": ', headers={"content-type": "application/json"})
    assert broken.status_code == 400
    assert broken.json()["code"] == "malformed_body"
    huge = await client.post(REGISTER, json=registration(name="x" * 20_000))
    assert huge.status_code == 413
    assert huge.json()["code"] == "body_too_large"


async def test_registration_is_rate_limited_per_client(settings: Settings) -> None:
    from server.app import create_app
    from server.settings import AuthSettings

    app = create_app(settings.replace(auth=AuthSettings(argon2=settings.auth.argon2, register_limit=3)))
    async with AsyncTestClient(app=app) as client:
        for n in range(3):
            body = registration(email=f"u{n}@example.com", username=f"user{n}")
            assert (await client.post(REGISTER, json=body)).status_code == 201
        response = await client.post(REGISTER, json=registration(email="u9@example.com", username="user9"))
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= 3600


# ---------------------------------------------------------------------------------------------- verification
async def test_the_link_opens_a_page_that_does_not_consume_the_token(client: Client, smtp_server: SmtpCapture) -> None:
    await client.post(REGISTER, json=registration())
    token = link_token(last_mail_to(smtp_server, "ada@example.com"), "verify-email")
    for _ in range(2):  # a mail scanner pre-fetching the link, then the user
        page = await client.get("/verify-email", params={"token": token})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert 'method="post"' in page.text
        assert "<script" not in page.text
    assert (await login(client, "ada")).json()["code"] == "email_not_verified"
    # The page's button posts the form; that verifies.
    done = await client.post("/verify-email", data={"token": token})
    assert done.status_code == 200
    assert "confirmed" in done.text
    assert (await login(client, "ada")).status_code == 200
    again = await client.post("/verify-email", data={"token": token})
    assert again.status_code == 400


async def test_login_before_verification_is_refused(client: Client, smtp_server: SmtpCapture) -> None:
    await client.post(REGISTER, json=registration())
    response = await login(client, "ada@example.com")
    assert response.status_code == 403
    assert response.json()["code"] == "email_not_verified"
    token = link_token(last_mail_to(smtp_server, "ada@example.com"), "verify-email")
    assert (await client.post("/api/v1/auth/verify-email", json={"token": token})).status_code == 204
    assert (await login(client, "ada@example.com")).status_code == 200


async def test_verification_tokens_are_single_use_and_unforgeable(
    client: Client, smtp_server: SmtpCapture, db_url: str
) -> None:
    await client.post(REGISTER, json=registration())
    token = link_token(last_mail_to(smtp_server, "ada@example.com"), "verify-email")
    for forged in ["x" * 43, token[:-1] + ("A" if token[-1] != "A" else "B"), ""]:
        response = await client.post("/api/v1/auth/verify-email", json={"token": forged})
        assert response.status_code in {400, 422}
    assert (await client.post("/api/v1/auth/verify-email", json={"token": token})).status_code == 204
    reused = await client.post("/api/v1/auth/verify-email", json={"token": token})
    assert reused.status_code == 400
    assert reused.json()["code"] == "invalid_token"


async def test_expired_verification_tokens_are_refused(client: Client, smtp_server: SmtpCapture, db_url: str) -> None:
    await client.post(REGISTER, json=registration())
    token = link_token(last_mail_to(smtp_server, "ada@example.com"), "verify-email")
    (row,) = await sql(db_url, "SELECT expires_at - created_at AS ttl FROM email_tokens")
    assert row["ttl"].total_seconds() == pytest.approx(24 * 3600, abs=5)
    await sql(db_url, "UPDATE email_tokens SET expires_at = now() - interval '1 second'")
    response = await client.post("/api/v1/auth/verify-email", json={"token": token})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_token"


async def test_verification_can_be_resent_within_limits(client: Client, smtp_server: SmtpCapture) -> None:
    await client.post(REGISTER, json=registration())
    first = link_token(last_mail_to(smtp_server, "ada@example.com"), "verify-email")
    assert (await client.post("/api/v1/auth/verify-email/resend", json={"email": "ada@example.com"})).status_code == 202
    second = link_token(last_mail_to(smtp_server, "ada@example.com"), "verify-email")
    assert second != first
    # Unknown addresses get the same answer and no mail.
    count = len(smtp_server.messages())
    unknown = await client.post("/api/v1/auth/verify-email/resend", json={"email": "nobody@example.com"})
    assert unknown.status_code == 202
    assert len(smtp_server.messages()) == count
    statuses = [
        (await client.post("/api/v1/auth/verify-email/resend", json={"email": "ada@example.com"})).status_code
        for _ in range(5)
    ]
    assert statuses == [202, 202, 202, 202, 429]
    assert (await client.post("/api/v1/auth/verify-email", json={"token": second})).status_code == 204


# ---------------------------------------------------------------------------------------------- login and tokens
async def test_login_returns_a_token_pair(client: Client, user_factory: UserFactory) -> None:
    user = await user_factory(sign_in=False)
    for name in (user.email.upper(), user.username):
        response = await login(client, name, user.password)
        assert response.status_code == 200
        pair = response.json()
        assert pair["token_type"] == "bearer"
        assert pair["expires_in"] == 900
        me = await client.get("/api/v1/me", headers=auth_header(pair["access_token"]))
        assert me.status_code == 200
        assert me.json()["email"] == user.email


@pytest.mark.parametrize(("who", "password"), [("user", "wrong-password-123"), ("nobody@example.com", TEST_PASSWORD)])
async def test_wrong_credentials_look_the_same(
    client: Client, signed_in_user: TestUser, who: str, password: str
) -> None:
    response = await login(client, signed_in_user.email if who == "user" else who, password)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/auth/sessions"])
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer garbage", "Basic dXNlcjpwYXNz", "Bearer tp1.AAAA.BBBB", "Bearer " + "x" * 5000],
)
async def test_protected_routes_need_a_valid_token(client: Client, path: str, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = await client.get(path, headers=headers)
    assert response.status_code == 401


async def test_forged_and_expired_access_tokens_are_refused(
    client: Client, signed_in_user: TestUser, settings: Settings
) -> None:
    sessions = (await client.get("/api/v1/auth/sessions", headers=signed_in_user.headers)).json()
    session_id = uuid.UUID(sessions[0]["id"])
    assert settings.secret_key is not None
    expired = AccessTokenSigner(settings.secret_key).issue(session_id, 1)
    other_key = AccessTokenSigner(Secret("another-secret-key-" + "z" * 32)).issue(session_id, 2**40)
    prefix, payload, mac = signed_in_user.access_token.split(".")
    tampered = f"{prefix}.{payload[:-2]}AA.{mac}"
    for token in (expired, other_key, tampered):
        assert (await client.get("/api/v1/me", headers=auth_header(token))).status_code == 401


async def test_refresh_rotates_and_reuse_revokes_the_session(client: Client, signed_in_user: TestUser) -> None:
    old_refresh = signed_in_user.refresh_token
    response = await client.post("/api/v1/auth/refresh", json={"refresh_token": old_refresh})
    assert response.status_code == 200
    pair = response.json()
    assert pair["refresh_token"] != old_refresh
    assert (await client.get("/api/v1/me", headers=auth_header(pair["access_token"]))).status_code == 200
    # The old token was spent: presenting it again means it was copied. The whole session ends, at once.
    reused = await client.post("/api/v1/auth/refresh", json={"refresh_token": old_refresh})
    assert reused.status_code == 401
    assert (await client.get("/api/v1/me", headers=auth_header(pair["access_token"]))).status_code == 401
    assert (await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})).status_code == 401


async def test_forged_and_expired_refresh_tokens_are_refused(
    client: Client, signed_in_user: TestUser, db_url: str
) -> None:
    forged = await client.post("/api/v1/auth/refresh", json={"refresh_token": "y" * 43})
    assert forged.status_code == 401
    await sql(db_url, "UPDATE refresh_tokens SET expires_at = now() - interval '1 second'")
    expired = await client.post("/api/v1/auth/refresh", json={"refresh_token": signed_in_user.refresh_token})
    assert expired.status_code == 401


async def test_logout_ends_the_session_immediately(client: Client, signed_in_user: TestUser) -> None:
    assert (await client.post("/api/v1/auth/logout", headers=signed_in_user.headers)).status_code == 204
    assert (await client.get("/api/v1/me", headers=signed_in_user.headers)).status_code == 401
    refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": signed_in_user.refresh_token})
    assert refresh.status_code == 401


async def test_a_session_records_when_it_was_last_used_at_most_once_a_minute(
    client: Client, signed_in_user: TestUser, db_url: str
) -> None:
    # GIVEN a session last used two hours ago
    mine = uuid.UUID(signed_in_user.id)
    await sql(db_url, "UPDATE user_sessions SET last_used_at = now() - interval '2 hours' WHERE user_id = $1", mine)
    # WHEN it makes a request THEN its last use is now
    assert (await client.get("/api/v1/me", headers=signed_in_user.headers)).status_code == 200
    [moved] = await sql(
        db_url, "SELECT extract(epoch FROM now() - last_used_at) FROM user_sessions WHERE user_id = $1", mine
    )
    assert moved[0] < 60
    # GIVEN a session used 30 seconds ago WHEN it makes a request THEN nothing is written (precision: one minute)
    await sql(db_url, "UPDATE user_sessions SET last_used_at = now() - interval '30 seconds' WHERE user_id = $1", mine)
    assert (await client.get("/api/v1/me", headers=signed_in_user.headers)).status_code == 200
    [kept] = await sql(
        db_url, "SELECT extract(epoch FROM now() - last_used_at) FROM user_sessions WHERE user_id = $1", mine
    )
    assert kept[0] >= 30


async def test_sessions_can_be_listed_and_revoked(
    client: Client, user_factory: UserFactory, signed_in_user: TestUser
) -> None:
    phone = (await login(client, signed_in_user.email, headers={"User-Agent": "TechPal-Android/1.0"})).json()
    laptop = (await login(client, signed_in_user.username, device_name="Work laptop")).json()
    listed = (await client.get("/api/v1/auth/sessions", headers=auth_header(laptop["access_token"]))).json()
    assert len(listed) == 3
    by_device = {s["device_name"]: s for s in listed}
    assert by_device["Work laptop"]["current"] is True
    assert by_device["tests"]["current"] is False
    assert {"id", "device_name", "created_at", "last_used_at", "current"} <= set(listed[0])
    # The laptop signs out the phone: the phone's token is refused on its very next request.
    phone_session = by_device["TechPal-Android/1.0"]  # no device_name given: the User-Agent names it
    revoke = await client.delete(
        f"/api/v1/auth/sessions/{phone_session['id']}", headers=auth_header(laptop["access_token"])
    )
    assert revoke.status_code == 204
    assert (await client.get("/api/v1/me", headers=auth_header(phone["access_token"]))).status_code == 401
    assert (await client.get("/api/v1/me", headers=auth_header(laptop["access_token"]))).status_code == 200
    # Unknown sessions and other people's sessions are "not found".
    other = await user_factory()
    other_session = (await client.get("/api/v1/auth/sessions", headers=other.headers)).json()[0]["id"]
    for session_id in (other_session, str(uuid.uuid4())):
        response = await client.delete(f"/api/v1/auth/sessions/{session_id}", headers=signed_in_user.headers)
        assert response.status_code == 404
    assert (await client.get("/api/v1/me", headers=other.headers)).status_code == 200


# ---------------------------------------------------------------------------------------------- profile
async def test_profile_can_be_corrected(client: Client, user_factory: UserFactory, signed_in_user: TestUser) -> None:
    response = await client.patch(
        "/api/v1/me", json={"name": "Ada King", "username": "Countess"}, headers=signed_in_user.headers
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Ada King"
    assert response.json()["username"] == "countess"
    other = await user_factory()
    taken = await client.patch("/api/v1/me", json={"username": other.username}, headers=signed_in_user.headers)
    assert taken.status_code == 409
    assert taken.json()["code"] == "username_taken"
    change = {"email": other.email.upper(), "current_password": signed_in_user.password}
    taken = await client.patch("/api/v1/me", json=change, headers=signed_in_user.headers)
    assert taken.status_code == 409
    assert taken.json()["code"] == "email_taken"
    for bad in ({"username": "x"}, {"email": "nope", "current_password": "x"}, {"role": "admin"}, {"name": 5}):
        assert (await client.patch("/api/v1/me", json=bad, headers=signed_in_user.headers)).status_code == 422
    assert (await client.patch("/api/v1/me", json={"name": "X"})).status_code == 401


async def test_a_new_email_is_verified_before_it_replaces_the_old(
    client: Client, signed_in_user: TestUser, smtp_server: SmtpCapture
) -> None:
    change = {"email": "new@example.org", "current_password": signed_in_user.password}
    response = await client.patch("/api/v1/me", json=change, headers=signed_in_user.headers)
    assert response.status_code == 200
    assert response.json()["email"] == signed_in_user.email
    assert response.json()["pending_email"] == "new@example.org"
    token = link_token(last_mail_to(smtp_server, "new@example.org"), "verify-email")
    assert (await client.post("/api/v1/auth/verify-email", json={"token": token})).status_code == 204
    me = (await client.get("/api/v1/me", headers=signed_in_user.headers)).json()
    assert me["email"] == "new@example.org"
    assert me["pending_email"] is None
    assert (await login(client, "new@example.org")).status_code == 200
    assert (await login(client, signed_in_user.email)).status_code == 401


async def test_password_change_revokes_the_other_sessions(client: Client, signed_in_user: TestUser) -> None:
    other = (await login(client, signed_in_user.email, device_name="phone")).json()
    url, headers = "/api/v1/me/password", signed_in_user.headers
    wrong = await client.post(url, json={"current_password": "nope-nope-nope", "new_password": "x"}, headers=headers)
    assert wrong.status_code == 403
    weak = await client.post(
        url, json={"current_password": TEST_PASSWORD, "new_password": "password1"}, headers=headers
    )
    assert weak.status_code == 422
    assert weak.json()["code"] == "weak_password"
    new = "a-much-better-passphrase-7"
    ok = await client.post(url, json={"current_password": TEST_PASSWORD, "new_password": new}, headers=headers)
    assert ok.status_code == 204
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    assert (await client.get("/api/v1/me", headers=auth_header(other["access_token"]))).status_code == 401
    assert (await login(client, signed_in_user.email)).status_code == 401
    assert (await login(client, signed_in_user.email, new)).status_code == 200


# ---------------------------------------------------------------------------------------------- password reset
async def test_password_reset_does_not_reveal_accounts(client: Client, smtp_server: SmtpCapture) -> None:
    response = await client.post("/api/v1/auth/password-reset", json={"email": "nobody@example.com"})
    assert response.status_code == 202
    assert smtp_server.messages() == []


async def test_password_reset_flow(
    client: Client, signed_in_user: TestUser, smtp_server: SmtpCapture, settings: Settings, db_url: str
) -> None:
    response = await client.post("/api/v1/auth/password-reset", json={"email": signed_in_user.email})
    assert response.status_code == 202
    mail = last_mail_to(smtp_server, signed_in_user.email)
    assert f"{settings.server.base_url}/reset-password?token=" in mail.get_body(("plain",)).get_content()
    token = link_token(mail, "reset-password")
    (row,) = await sql(
        db_url, "SELECT expires_at - created_at AS ttl FROM email_tokens WHERE purpose = 'reset_password'"
    )
    assert row["ttl"].total_seconds() == pytest.approx(3600, abs=5)
    page = await client.get("/reset-password", params={"token": token})  # the link only shows a form
    assert page.status_code == 200
    assert 'name="new_password"' in page.text
    confirm = "/api/v1/auth/password-reset/confirm"
    weak = await client.post(confirm, json={"token": token, "new_password": "password123"})
    assert weak.status_code == 422  # …and the token stays usable
    new = "reset-to-something-long-9"
    assert (await client.post(confirm, json={"token": token, "new_password": new})).status_code == 204
    assert (await client.get("/api/v1/me", headers=signed_in_user.headers)).status_code == 401  # all sessions ended
    assert (await login(client, signed_in_user.email, new)).status_code == 200
    reused = await client.post(confirm, json={"token": token, "new_password": "yet-another-passphrase-3"})
    assert reused.status_code == 400
    assert reused.json()["code"] == "invalid_token"


async def test_reset_tokens_expire_and_cannot_be_forged(
    client: Client, signed_in_user: TestUser, smtp_server: SmtpCapture, db_url: str
) -> None:
    confirm = "/api/v1/auth/password-reset/confirm"
    forged = await client.post(confirm, json={"token": "z" * 43, "new_password": "reset-to-something-long-9"})
    assert forged.status_code == 400
    await client.post("/api/v1/auth/password-reset", json={"email": signed_in_user.email})
    token = link_token(last_mail_to(smtp_server, signed_in_user.email), "reset-password")
    await sql(db_url, "UPDATE email_tokens SET expires_at = now() - interval '1 second'")
    expired = await client.post(confirm, json={"token": token, "new_password": "reset-to-something-long-9"})
    assert expired.status_code == 400
    assert (await login(client, signed_in_user.email)).status_code == 200


async def test_reset_page_form_sets_the_password(
    client: Client, signed_in_user: TestUser, smtp_server: SmtpCapture
) -> None:
    await client.post("/api/v1/auth/password-reset", json={"email": signed_in_user.email})
    token = link_token(last_mail_to(smtp_server, signed_in_user.email), "reset-password")
    weak = await client.post("/reset-password", data={"token": token, "new_password": "short"})
    assert weak.status_code == 422
    assert 'name="new_password"' in weak.text  # the form again, same token
    done = await client.post("/reset-password", data={"token": token, "new_password": "from-the-page-form-11"})
    assert done.status_code == 200
    assert (await login(client, signed_in_user.email, "from-the-page-form-11")).status_code == 200


async def test_password_reset_requests_are_rate_limited(client: Client, signed_in_user: TestUser) -> None:
    statuses = [
        (await client.post("/api/v1/auth/password-reset", json={"email": signed_in_user.email})).status_code
        for _ in range(6)
    ]
    assert statuses == [202] * 5 + [429]


async def test_wrong_tokens_are_throttled(client: Client) -> None:
    statuses = [
        (await client.post("/api/v1/auth/verify-email", json={"token": f"guess-{n}"})).status_code for n in range(11)
    ]
    assert statuses == [400] * 10 + [429]
    confirm = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": "guess", "new_password": "whatever-long-enough-1"}
    )
    assert confirm.status_code == 429
    assert int(confirm.headers["retry-after"]) > 0


# ---------------------------------------------------------------------------------------------- throttling
async def test_the_eleventh_failure_is_throttled_before_any_hash(
    app: Litestar, client: Client, user_factory: UserFactory
) -> None:
    victim = await user_factory(sign_in=False)
    bystander = await user_factory(sign_in=False)
    passwords = app.context.passwords
    for _ in range(10):
        assert (await login(client, victim.email, "wrong-password-000")).status_code == 401
    computed = passwords.computed
    throttled = await login(client, victim.username, "wrong-password-000")  # the same account by its other name
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "rate_limited"
    assert 800 <= int(throttled.headers["retry-after"]) <= 901  # 15 minutes
    correct = await login(client, victim.email)  # even the right password waits: no oracle while throttled
    assert correct.status_code == 429
    assert passwords.computed == computed  # no argon2 work was spent on throttled attempts
    # Other accounts from the same address are not locked out.
    assert (await login(client, bystander.email)).status_code == 200


async def test_throttling_backs_off(client: Client, user_factory: UserFactory, db_url: str) -> None:
    victim = await user_factory(sign_in=False)
    for _ in range(10):
        await login(client, victim.email, "wrong-password-000")
    first = await login(client, victim.email, "wrong-password-000")
    assert first.status_code == 429
    # The block runs out (as if 15 minutes passed); the next round of failures blocks twice as long.
    await sql(db_url, "UPDATE rate_counters SET blocked_until = now() - interval '1 second', window_start = now()")
    for _ in range(10):
        assert (await login(client, victim.email, "wrong-password-000")).status_code == 401
    second = await login(client, victim.email, "wrong-password-000")
    assert second.status_code == 429
    assert int(second.headers["retry-after"]) >= 2 * 900 - 5


async def test_a_success_forgives_earlier_failures(client: Client, user_factory: UserFactory) -> None:
    user = await user_factory(sign_in=False)
    for _ in range(9):
        await login(client, user.email, "wrong-password-000")
    assert (await login(client, user.email)).status_code == 200
    for _ in range(10):
        assert (await login(client, user.email, "wrong-password-000")).status_code == 401


async def test_rehash_on_login_when_parameters_change(
    client: Client, user_factory: UserFactory, db_url: str, settings: Settings
) -> None:
    from argon2 import PasswordHasher as Argon2

    user = await user_factory(sign_in=False)
    old = Argon2(time_cost=2, memory_cost=128, parallelism=1).hash(user.password)
    await sql(db_url, "UPDATE users SET password_hash = $1", old)
    assert (await login(client, user.email)).status_code == 200
    (row,) = await sql(db_url, "SELECT password_hash FROM users")
    p = settings.auth.argon2
    assert row["password_hash"].startswith(f"$argon2id$v=19$m={p.memory_cost_kib},t={p.time_cost},p={p.parallelism}$")


# ---------------------------------------------------------------------------------------------- docs
async def test_protected_routes_declare_bearer_auth(client: Client) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    assert document["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
    assert document["paths"]["/api/v1/me"]["get"]["security"] == [{"BearerToken": []}]


async def test_failures_are_also_counted_per_client(client: Client, signed_in_user: TestUser) -> None:
    # Spraying many accounts from one address: after 100 failures the address itself is throttled.
    statuses = [(await login(client, f"spray{n}@example.com", "wrong-password-000")).status_code for n in range(101)]
    assert statuses == [401] * 100 + [429]
    assert (await login(client, signed_in_user.email)).status_code == 429


async def test_a_mail_server_outage_does_not_lose_the_registration(settings: Settings, closed_port_url: str) -> None:
    from server.app import create_app
    from server.settings import MailSettings

    port = int(closed_port_url.rsplit(":", 1)[1])
    down = settings.replace(mail=MailSettings(smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none"))
    async with AsyncTestClient(app=create_app(down)) as client:
        assert (await client.post(REGISTER, json=registration())).status_code == 201
        # The account exists; the user asks for the mail again once mail works.
        assert (await login(client, "ada")).json()["code"] == "email_not_verified"
        assert (
            await client.post("/api/v1/auth/verify-email/resend", json={"email": "ada@example.com"})
        ).status_code == 202


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/me"),
        ("PATCH", "/api/v1/me"),
        ("POST", "/api/v1/me/password"),
        ("POST", "/api/v1/auth/logout"),
        ("GET", "/api/v1/auth/sessions"),
        ("DELETE", f"/api/v1/auth/sessions/{uuid.UUID(int=0)}"),
    ],
)
@pytest.mark.parametrize("body", [b"", b"{", b"x" * 2_000_000])
async def test_anonymous_requests_get_401_before_the_body_is_read(
    client: Client, method: str, path: str, body: bytes
) -> None:
    response = await client.request(method, path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


async def test_without_google_settings_there_is_no_google_sign_in(client: AsyncTestClient[Litestar]) -> None:
    providers = await client.get("/api/v1/auth/providers")
    assert providers.json() == {"google": None}
    body = {"id_token": "eyJ.a.b", "nonce": "n" * 22, "age_confirmed": True}
    refused = await client.post("/api/v1/auth/google", json=body)
    assert (refused.status_code, refused.json()["code"]) == (404, "google_disabled")
