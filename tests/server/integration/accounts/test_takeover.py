"""Account takeover defences: the address change needs the password and can be undone from the old address."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.fixtures.mail import SmtpCapture, link_token

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from tests.fixtures.auth import TestUser, UserFactory


def mails_to(smtp: SmtpCapture, address: str) -> list[Any]:
    """Every mail to ``address`` so far."""
    return [m for m in smtp.messages() if m["To"] == address]


async def change_email(client: AsyncTestClient[Litestar], user: TestUser, email: str, **extra: str) -> Any:
    """``PATCH /api/v1/me`` with a new address."""
    return await client.patch("/api/v1/me", json={"email": email, **extra}, headers=user.headers)


async def test_changing_the_address_needs_the_current_password(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, smtp_server: SmtpCapture
) -> None:
    without = await change_email(client, signed_in_user, "thief@example.net")
    wrong = await change_email(client, signed_in_user, "thief@example.net", current_password="not the password")

    assert (without.status_code, without.json()["code"]) == (403, "reauthentication_required")
    assert (wrong.status_code, wrong.json()["code"]) == (403, "invalid_credentials")
    assert mails_to(smtp_server, "thief@example.net") == []
    assert (await client.get("/api/v1/me", headers=signed_in_user.headers)).json()["pending_email"] is None


async def test_the_old_address_can_undo_a_change_that_went_through(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, smtp_server: SmtpCapture
) -> None:
    owner = signed_in_user
    # An attacker who knows the password for a moment (or the owner by mistake) moves the address…
    moved = await change_email(client, owner, "thief@example.net", current_password=owner.password)
    assert moved.status_code == 200
    verify = link_token(mails_to(smtp_server, "thief@example.net")[-1], "verify-email")
    assert (await client.post("/api/v1/auth/verify-email", json={"token": verify})).status_code == 204
    assert (await client.get("/api/v1/me", headers=owner.headers)).json()["email"] == "thief@example.net"
    # …but the old address was told, with a link that undoes it.
    [notice] = mails_to(smtp_server, owner.email)[-1:]
    assert notice["Subject"] == "Your Tech Pal e-mail address is being changed"
    cancel = link_token(notice, "cancel-email-change")
    page = await client.get("/cancel-email-change", params={"token": cancel})
    assert "Cancel the change" in page.text  # GET only shows the button (mail scanners pre-fetch links)

    done = await client.post("/cancel-email-change", data={"token": cancel})

    assert done.status_code == 200
    assert "every device is signed out" in done.text
    assert (await client.get("/api/v1/me", headers=owner.headers)).status_code == 401  # the attacker's too
    again = await client.post("/api/v1/auth/login", json={"login": owner.email, "password": owner.password})
    assert again.status_code == 200
    me = (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {again.json()['access_token']}"})).json()
    assert (me["email"], me["email_verified"]) == (owner.email, True)
    reused = await client.post("/cancel-email-change", data={"token": cancel})
    assert reused.status_code == 400  # the link works once


async def test_a_password_change_or_reset_cancels_a_pending_change(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, smtp_server: SmtpCapture
) -> None:
    for how in ("change", "reset"):
        user = await user_factory()
        await change_email(client, user, f"new-{how}@example.net", current_password=user.password)
        verify = link_token(mails_to(smtp_server, f"new-{how}@example.net")[-1], "verify-email")
        if how == "change":
            body = {"current_password": user.password, "new_password": "another long passphrase 7"}
            assert (await client.post("/api/v1/me/password", json=body, headers=user.headers)).status_code == 204
        else:
            await client.post("/api/v1/auth/password-reset", json={"email": user.email})
            token = link_token(mails_to(smtp_server, user.email)[-1], "reset-password")
            body = {"token": token, "new_password": "another long passphrase 7"}
            assert (await client.post("/api/v1/auth/password-reset/confirm", json=body)).status_code == 204

        late = await client.post("/api/v1/auth/verify-email", json={"token": verify})

        assert (late.status_code, late.json()["code"]) == (400, "invalid_token"), how


async def test_address_change_mails_are_limited_and_carry_no_text_the_user_chose(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, smtp_server: SmtpCapture
) -> None:
    phishing = "URGENT: your payroll is blocked, log in at http://evil.example"
    user = await user_factory(name=phishing)
    answers = [
        (await change_email(client, user, f"relay{n}@example.net", current_password=user.password)).status_code
        for n in range(6)
    ]

    assert answers == [200] * 5 + [429]
    sent = [m for m in smtp_server.messages() if m["To"].startswith("relay") or m["To"] == user.email]
    assert sent
    for mail in sent:
        assert "evil.example" not in mail.get_content()
        assert "payroll" not in mail["Subject"]
