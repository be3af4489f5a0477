"""``techpal-server users grant|revoke`` against the test database, as an operator runs it."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

from tests.fixtures.db import connect
from tests.fixtures.server import TEST_SECRET_KEY, server_environment

if TYPE_CHECKING:
    from tests.fixtures.auth import TestUser


async def run_cli(db_url: str, tmp_path: object, *args: str) -> tuple[int, str]:
    env = server_environment(
        tmp_path,  # type: ignore[arg-type]
        TECHPAL_DATABASE_URL=db_url.replace("+asyncpg", ""),
        TECHPAL_SECRET_KEY=TEST_SECRET_KEY,
        TECHPAL_LOG_LEVEL="warning",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "users",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


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
