"""Two-step sign-in (TOTP, RFC 6238) with recovery codes, through the HTTP API as the desktop uses it."""

from __future__ import annotations

import dataclasses
import datetime
import time
import urllib.parse
import uuid
from typing import TYPE_CHECKING, Any

import pyotp
import pytest
from litestar.testing import AsyncTestClient

from server.app import create_app
from server.lib.clock import utcnow
from tests.fixtures.auth import TestUser, auth_header, create_user
from tests.fixtures.db import fetch_rows, fetch_value
from tests.fixtures.mail import link_token

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from litestar import Litestar

    from server.context import AppContext
    from server.settings import Settings
    from tests.fixtures.auth import UserFactory
    from tests.fixtures.mail import Mailbox

    Client = AsyncTestClient[Litestar]

TOTP = "/api/v1/me/2fa/totp"
STEP_S = 30  # RFC 6238's time step, as authenticator apps use it


def code_at(secret: str, offset_s: int = 0) -> str:
    """The code for now + ``offset_s``, waiting out the last second of a step so the server sees the same step."""
    if time.time() % 30 > 28.5:
        time.sleep(30 - time.time() % 30 + 0.05)
    return pyotp.TOTP(secret).at(time.time() + offset_s)


def next_code(secret: str) -> str:
    """A code of a later step than any used so far in the test (the one ahead; accepted with the ±1 step drift)."""
    return code_at(secret, 30)


@dataclasses.dataclass
class Clocked:
    """A client of an app whose clock the test sets: codes and expiries are counted from ``now``, not the wall."""

    now: datetime.datetime
    client: Client = dataclasses.field(init=False)

    def advance(self, **delta: float) -> None:
        self.now += datetime.timedelta(**delta)

    def code(self, secret: str, steps_ahead: int = 0) -> str:
        """The code of the step ``now`` falls in, plus ``steps_ahead``."""
        step = int(self.now.timestamp()) // STEP_S + steps_ahead
        return pyotp.TOTP(secret).at(step * STEP_S)


@pytest.fixture
async def clocked(context: AppContext) -> AsyncIterator[Clocked]:
    clock = Clocked(utcnow())
    app = create_app(context=dataclasses.replace(context, clock=lambda: clock.now))
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        clock.client = client
        yield clock


async def turn_on(client: Client, user: TestUser, code: Callable[[str], str] = code_at) -> tuple[str, list[str]]:
    """Set up two-step sign-in for ``user`` (``code`` gives the current code of a secret): the secret, the codes."""
    started = await client.post(TOTP, headers=user.headers)
    assert started.status_code == 201, started.text
    secret = started.json()["secret"]
    body = {"code": code(secret), "current_password": user.password}
    confirmed = await client.post(f"{TOTP}/confirm", json=body, headers=user.headers)
    assert confirmed.status_code == 200, confirmed.text
    return secret, confirmed.json()["recovery_codes"]


async def password_login(client: Client, user: TestUser, **extra: Any) -> Any:
    body = {"login": user.email, "password": user.password, "device_name": "laptop", **extra}
    return await client.post("/api/v1/auth/login", json=body)


async def challenge_of(client: Client, user: TestUser) -> str:
    answer = await password_login(client, user)
    assert answer.status_code == 401, answer.text
    assert answer.json()["code"] == "otp_required"
    return str(answer.json()["challenge"])


async def answer(client: Client, challenge: str, code: str) -> Any:
    return await client.post("/api/v1/auth/login/otp", json={"challenge": challenge, "code": code})


async def test_setting_up_gives_a_secret_and_uri_then_recovery_codes_shown_once(
    client: Client, signed_in_user: TestUser, settings: Settings
) -> None:
    started = await client.post(TOTP, headers=signed_in_user.headers)
    assert started.status_code == 201
    secret, uri = started.json()["secret"], started.json()["otpauth_uri"]
    parsed = urllib.parse.urlsplit(uri)
    assert (parsed.scheme, parsed.netloc) == ("otpauth", "totp")
    query = urllib.parse.parse_qs(parsed.query)
    assert query["secret"] == [secret]
    assert query["issuer"] == ["Tech Pal"]
    assert signed_in_user.email in urllib.parse.unquote(parsed.path)
    assert len(secret) >= 32  # 160 bits
    me = await client.get("/api/v1/me", headers=signed_in_user.headers)
    assert me.json()["two_factor"] is False  # pending until confirmed

    password = signed_in_user.password
    for code in ("000000", "１２３４５６", "12345x"):  # wrong, full-width digits, not digits
        wrong = await client.post(
            f"{TOTP}/confirm", json={"code": code, "current_password": password}, headers=signed_in_user.headers
        )
        assert (wrong.status_code, wrong.json()["code"]) == (422, "invalid_otp")
    no_password = await client.post(f"{TOTP}/confirm", json={"code": code_at(secret)}, headers=signed_in_user.headers)
    assert (no_password.status_code, no_password.json()["code"]) == (403, "reauthentication_required")

    confirmed = await client.post(
        f"{TOTP}/confirm",
        json={"code": code_at(secret), "current_password": password},
        headers=signed_in_user.headers,
    )
    assert confirmed.status_code == 200
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == len(set(codes)) == 10
    assert all(len(c) == 11 and c[5] == "-" for c in codes)
    me = await client.get("/api/v1/me", headers=signed_in_user.headers)
    assert me.json()["two_factor"] is True

    # Stored: the secret sealed (not in clear), the codes only as hashes.
    sealed = await fetch_value(settings.db.url.get_secret_value(), "SELECT sealed_secret FROM two_factor")
    assert secret.encode() not in bytes(sealed)
    hashes = await fetch_rows(settings.db.url.get_secret_value(), "SELECT code_hash FROM recovery_codes")
    assert len(hashes) == 10
    assert not {bytes(row["code_hash"]) for row in hashes} & {c.encode() for c in codes}

    again = await client.post(TOTP, headers=signed_in_user.headers)
    assert again.status_code == 409
    assert again.json()["code"] == "two_factor_enabled"


async def test_sign_in_asks_for_a_code_and_a_right_one_opens_a_session(
    client: Client, signed_in_user: TestUser
) -> None:
    secret, _ = await turn_on(client, signed_in_user)

    challenge = await challenge_of(client, signed_in_user)
    signed_in = await answer(client, challenge, next_code(secret))
    assert signed_in.status_code == 200, signed_in.text
    me = await client.get("/api/v1/me", headers=auth_header(signed_in.json()["access_token"]))
    assert me.json()["id"] == signed_in_user.id
    sessions = await client.get("/api/v1/auth/sessions", headers=auth_header(signed_in.json()["access_token"]))
    assert "laptop" in {s["device_name"] for s in sessions.json()}

    spent = await answer(client, challenge, next_code(secret))
    assert spent.json()["code"] == "challenge_expired"  # single use


async def test_a_code_works_once_and_one_step_either_side_of_the_servers(clocked: Clocked, mailbox: Mailbox) -> None:
    """±1 time step: the previous and next step's codes (30 s old, 30 s ahead) pass, two steps off (60 s) do not."""
    user = await create_user(clocked.client, mailbox)
    secret, _ = await turn_on(clocked.client, user, clocked.code)
    clocked.advance(minutes=10)  # well past the step spent turning it on

    async def outcome(steps_ahead: int) -> str:
        signed_in = await password_login(clocked.client, user, code=clocked.code(secret, steps_ahead))
        return "ok" if signed_in.status_code == 200 else str(signed_in.json()["code"])

    # In this order: a step at or before the last one accepted is refused whatever the drift allows.
    steps = (-2, -1, 0, 2, 1, 1)
    outcomes = [await outcome(k) for k in steps]
    assert outcomes == ["invalid_otp", "ok", "ok", "invalid_otp", "ok", "invalid_otp"]  # the last: a replay


async def test_a_code_in_the_login_body_signs_in_at_once(client: Client, signed_in_user: TestUser) -> None:
    secret, _ = await turn_on(client, signed_in_user)
    wrong = await password_login(client, signed_in_user, code="123456")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_otp")
    right = await password_login(client, signed_in_user, code=next_code(secret))
    assert right.status_code == 200


async def test_a_recovery_code_works_once(client: Client, signed_in_user: TestUser) -> None:
    _, codes = await turn_on(client, signed_in_user)
    typed = f" {codes[3].upper().replace('-', '')} "  # read off paper: case, dash and spaces do not matter
    assert (await answer(client, await challenge_of(client, signed_in_user), typed)).status_code == 200
    again = await answer(client, await challenge_of(client, signed_in_user), codes[3])
    assert again.json()["code"] == "invalid_otp"
    assert (await answer(client, await challenge_of(client, signed_in_user), codes[4])).status_code == 200


async def test_five_wrong_codes_end_the_challenge(client: Client, signed_in_user: TestUser) -> None:
    secret, _ = await turn_on(client, signed_in_user)
    challenge = await challenge_of(client, signed_in_user)
    left = []
    for _ in range(4):
        wrong = await answer(client, challenge, "000000")
        assert wrong.json()["code"] == "invalid_otp"
        left.append(wrong.json()["attempts_left"])
    assert left == [4, 3, 2, 1]
    fifth = await answer(client, challenge, "000000")
    assert fifth.json()["code"] == "challenge_expired"
    right_too_late = await answer(client, challenge, next_code(secret))
    assert right_too_late.json()["code"] == "challenge_expired"


async def test_a_challenge_lasts_five_minutes(clocked: Clocked, mailbox: Mailbox, settings: Settings) -> None:
    user = await create_user(clocked.client, mailbox)
    secret, _ = await turn_on(clocked.client, user, clocked.code)
    clocked.advance(minutes=1)
    asked_at = clocked.now
    first, second = await challenge_of(clocked.client, user), await challenge_of(clocked.client, user)
    stored = await fetch_rows(settings.db.url.get_secret_value(), "SELECT expires_at FROM login_challenges")
    assert [row["expires_at"] for row in stored] == [asked_at + datetime.timedelta(minutes=5)] * 2

    clocked.advance(minutes=5, seconds=-1)
    assert (await answer(clocked.client, first, clocked.code(secret))).status_code == 200
    clocked.advance(seconds=1)
    late = await answer(clocked.client, second, clocked.code(secret, 1))
    assert (late.status_code, late.json()["code"]) == (401, "challenge_expired")


async def test_each_wrong_code_counts_against_the_clients_sign_in_throttle(
    client: Client, signed_in_user: TestUser, settings: Settings
) -> None:
    """A wrong code raises the per-client count a wrong password raises (``login_ip``): guessing costs the same."""
    await turn_on(client, signed_in_user)
    challenge = await challenge_of(client, signed_in_user)
    url, count = settings.db.url.get_secret_value(), "SELECT count FROM rate_counters WHERE kind = 'login_ip'"
    before = await fetch_value(url, count)
    after_each = []
    for _ in range(3):
        assert (await answer(client, challenge, "000000")).json()["code"] == "invalid_otp"
        after_each.append(await fetch_value(url, count))
    assert after_each == [before + 1, before + 2, before + 3]


async def test_wrong_codes_are_throttled_across_challenges(client: Client, signed_in_user: TestUser) -> None:
    """Asking for fresh challenges buys nothing: wrong codes count per account, with back-off."""
    secret, _ = await turn_on(client, signed_in_user)
    statuses = []
    for _ in range(4):
        challenge = await challenge_of(client, signed_in_user)
        for _ in range(3):
            statuses.append((await answer(client, challenge, "999999")).status_code)
    assert statuses[:10] == [401] * 10
    assert 429 in statuses[10:]
    throttled = await answer(client, await challenge_of(client, signed_in_user), next_code(secret))
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0


async def test_password_reset_leaves_two_step_sign_in_on(
    client: Client, signed_in_user: TestUser, mailbox: Mailbox
) -> None:
    await turn_on(client, signed_in_user)
    await client.post("/api/v1/auth/password-reset", json={"email": signed_in_user.email})
    token = link_token(await mailbox.latest_to(signed_in_user.email), "reset-password")
    new_password = "copper-meadow-signal-77"
    reset = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": new_password}
    )
    assert reset.status_code == 204
    signed_in_user.password = new_password
    assert (await password_login(client, signed_in_user)).json()["code"] == "otp_required"


async def test_turning_off_needs_the_password_and_a_code(client: Client, signed_in_user: TestUser) -> None:
    secret, codes = await turn_on(client, signed_in_user)
    headers = signed_in_user.headers
    wrong_password = await client.request(
        "DELETE", TOTP, json={"password": "not-my-password-at-all", "code": next_code(secret)}, headers=headers
    )
    assert (wrong_password.status_code, wrong_password.json()["code"]) == (403, "invalid_credentials")
    wrong_code = await client.request(
        "DELETE", TOTP, json={"password": signed_in_user.password, "code": "000000"}, headers=headers
    )
    assert (wrong_code.status_code, wrong_code.json()["code"]) == (422, "invalid_otp")
    assert (await client.get("/api/v1/me", headers=headers)).json()["two_factor"] is True

    off = await client.request(
        "DELETE", TOTP, json={"password": signed_in_user.password, "code": codes[0]}, headers=headers
    )
    assert off.status_code == 204
    assert (await client.get("/api/v1/me", headers=headers)).json()["two_factor"] is False
    assert (await password_login(client, signed_in_user)).status_code == 200
    again = await client.request(
        "DELETE", TOTP, json={"password": signed_in_user.password, "code": codes[1]}, headers=headers
    )
    assert again.json()["code"] == "two_factor_disabled"


@pytest.mark.parametrize("route", [TOTP, f"{TOTP}/confirm"])
async def test_the_set_up_routes_need_a_session(client: Client, route: str) -> None:
    answer = await client.post(route, json={"code": "123456"})
    assert answer.status_code == 401


async def test_a_secret_sealed_for_one_user_does_not_open_for_another(
    client: Client, user_factory: UserFactory, settings: Settings
) -> None:
    """Copying a sealed secret to another row in the database does not give that row working codes."""
    alice, mallory = await user_factory(), await user_factory()
    alice_secret, _ = await turn_on(client, alice)
    await client.post(TOTP, headers=mallory.headers)
    url = settings.db.url.get_secret_value()
    await fetch_value(
        url,
        "UPDATE two_factor SET sealed_secret = (SELECT sealed_secret FROM two_factor WHERE user_id = $1) "
        "WHERE user_id = $2 RETURNING id",
        uuid.UUID(alice.id),
        uuid.UUID(mallory.id),
    )
    body = {"code": next_code(alice_secret), "current_password": mallory.password}
    confirm = await client.post(f"{TOTP}/confirm", json=body, headers=mallory.headers)
    assert confirm.json()["code"] == "invalid_otp"


async def test_turning_it_on_signs_out_every_other_device(client: Client, user_factory: UserFactory) -> None:
    user = await user_factory()
    other = (await password_login(client, user)).json()
    await turn_on(client, user)
    assert (await client.get("/api/v1/me", headers=auth_header(other["access_token"]))).status_code == 401
    assert (await client.get("/api/v1/me", headers=user.headers)).status_code == 200


async def test_a_password_change_ends_open_challenges(client: Client, signed_in_user: TestUser) -> None:
    """A code phished together with the password stops working once the owner changes the password."""
    secret, _ = await turn_on(client, signed_in_user)
    challenge = await challenge_of(client, signed_in_user)
    changed = await client.post(
        "/api/v1/me/password",
        json={"current_password": signed_in_user.password, "new_password": "copper-meadow-signal-77"},
        headers=signed_in_user.headers,
    )
    assert changed.status_code == 204
    assert (await answer(client, challenge, next_code(secret))).json()["code"] == "challenge_expired"


async def test_a_challenge_of_an_account_deleted_meanwhile_opens_nothing(
    client: Client, signed_in_user: TestUser
) -> None:
    secret, _ = await turn_on(client, signed_in_user)
    challenge = await challenge_of(client, signed_in_user)
    deleted = await client.request(
        "DELETE", "/api/v1/me", json={"password": signed_in_user.password}, headers=signed_in_user.headers
    )
    assert deleted.status_code == 202
    late = await answer(client, challenge, next_code(secret))
    assert (late.status_code, late.json()["code"]) in {(401, "challenge_expired"), (403, "account_deleted")}


async def test_a_non_ascii_code_is_a_wrong_code(client: Client, signed_in_user: TestUser) -> None:
    await turn_on(client, signed_in_user)
    wrong = await answer(client, await challenge_of(client, signed_in_user), "１２３４５６")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_otp")


async def test_without_a_password_turning_it_on_needs_a_recent_sign_in(
    client: Client, signed_in_user: TestUser, settings: Settings
) -> None:
    """An account made by Google sign-in has no password to ask for: a sign-in of the last 5 minutes stands in.

    Else a stolen access token alone could put its thief's authenticator on the account and lock the owner out.
    """
    url, user_id, headers = settings.db.url.get_secret_value(), uuid.UUID(signed_in_user.id), signed_in_user.headers
    await fetch_value(url, "UPDATE users SET password_hash = NULL WHERE id = $1 RETURNING id", user_id)
    signed_in_ago = "UPDATE user_sessions SET created_at = now() - $2::interval WHERE user_id = $1 RETURNING id"
    started = await client.post(TOTP, headers=headers)
    assert started.status_code == 201, started.text
    secret = started.json()["secret"]

    await fetch_value(url, signed_in_ago, user_id, datetime.timedelta(minutes=6))
    confirm = await client.post(f"{TOTP}/confirm", json={"code": code_at(secret)}, headers=headers)
    start = await client.post(TOTP, headers=headers)
    for refused in (confirm, start):
        assert (refused.status_code, refused.json()["code"]) == (403, "reauthentication_required")
        assert "sign in with Google again" in refused.json()["detail"]
    assert (await client.get("/api/v1/me", headers=headers)).json()["two_factor"] is False

    await fetch_value(url, signed_in_ago, user_id, datetime.timedelta(minutes=4))
    confirmed = await client.post(f"{TOTP}/confirm", json={"code": code_at(secret)}, headers=headers)
    assert confirmed.status_code == 200, confirmed.text
