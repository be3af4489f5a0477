"""``techpal-server users grant|revoke`` against the test database, as an operator runs it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.fixtures.db import connect
from tests.fixtures.server import run_server_command

if TYPE_CHECKING:
    from pathlib import Path

    from tests.fixtures.auth import TestUser


async def run_cli(db_url: str, tmp_path: Path, *args: str) -> tuple[int, str]:
    return await run_server_command(tmp_path, db_url, "users", *args)


async def role_of(db_url: str, email: str) -> str:
    connection = await connect(db_url)
    try:
        return str(await connection.fetchval("SELECT role FROM users WHERE email = $1", email))
    finally:
        await connection.close()


async def test_grant_and_revoke_roles(db_url: str, tmp_path: object, signed_in_user: TestUser) -> None:
    code, output = await run_cli(db_url, tmp_path, "grant", "admin", signed_in_user.email.upper())
    assert code == 0, output
    assert await role_of(db_url, signed_in_user.email) == "admin"
    code, output = await run_cli(db_url, tmp_path, "revoke", "agent", signed_in_user.email)
    assert code == 2
    assert "does not have the role 'agent'" in output
    code, output = await run_cli(db_url, tmp_path, "revoke", "admin", signed_in_user.email)
    assert code == 0, output
    assert await role_of(db_url, signed_in_user.email) == "user"


async def test_unknown_email_and_role_are_clear_errors(db_url: str, tmp_path: object) -> None:
    code, output = await run_cli(db_url, tmp_path, "grant", "agent", "nobody@example.com")
    assert code == 2
    assert "no account has the e-mail address 'nobody@example.com'" in output
    code, output = await run_cli(db_url, tmp_path, "grant", "superuser", "nobody@example.com")
    assert code == 2
    assert "'superuser' is not one of" in output
