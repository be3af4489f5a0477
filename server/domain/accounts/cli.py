"""``techpal-server users``: grant and revoke roles from the command line."""

from __future__ import annotations

import asyncio
import datetime
import sys
from typing import NoReturn

import click

__all__ = ["users"]

ROLE_CHOICES = ("user", "agent", "admin")


def _fail(message: str) -> NoReturn:
    click.echo(f"techpal-server: {message}", err=True)
    sys.exit(2)


async def change_role(url: str, email: str, role: str, *, grant: bool) -> str:
    """Give ``role`` to the account with ``email`` (or take it back to ``user``); return the new role.

    Raises:
        LookupError: no account has that address.
        ValueError: revoking a role the account does not have.
    """
    from sqlalchemy import func, select, update  # noqa: PLC0415 - keep `--help` instant
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415
    from sqlalchemy.pool import NullPool  # noqa: PLC0415

    from server.db.models import User  # noqa: PLC0415
    from server.db.transactions import transaction_of_its_own  # noqa: PLC0415

    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with transaction_of_its_own(engine) as conn:
            found = (
                await conn.execute(select(User.id, User.role).where(func.lower(User.email) == email.strip().lower()))
            ).one_or_none()
            if found is None:
                raise LookupError(f"no account has the e-mail address {email!r}")
            user_id, current = found[0], found[1]
            if grant:
                new = role
            elif current != role:
                raise ValueError(f"{email} does not have the role {role!r} (its role is {current!r})")
            else:
                new = "user"
            await conn.execute(
                update(User).where(User.id == user_id).values(role=new, updated_at=datetime.datetime.now(datetime.UTC))
            )
            return new
    finally:
        await engine.dispose()


def _run(role: str, email: str, *, grant: bool) -> None:
    from server.lib.log import configure_logging  # noqa: PLC0415 - keep `--help` instant
    from server.runtime import database, prepare  # noqa: PLC0415
    from server.settings import SettingsError, get_settings  # noqa: PLC0415

    if not grant and role == "user":
        _fail("every account has the role 'user'; revoke 'agent' or 'admin'")
    try:
        settings = get_settings()
    except SettingsError as exc:
        _fail(str(exc))
    configure_logging(settings.log)
    with database(prepare(settings)) as ready:
        assert ready.db.url is not None
        try:
            new = asyncio.run(change_role(ready.db.url.get_secret_value(), email, role, grant=grant))
        except (LookupError, ValueError) as exc:
            _fail(str(exc.args[0]))
    click.echo(f"{email} now has the role {new!r}.")


@click.group()
def users() -> None:
    """Manage user accounts (the database comes from TECHPAL_DATABASE_URL, or the embedded one)."""


@users.command()
@click.argument("role", type=click.Choice(ROLE_CHOICES))
@click.argument("email")
def grant(role: str, email: str) -> None:
    """Give the account with EMAIL the role ROLE (user, agent or admin)."""
    _run(role, email, grant=True)


@users.command()
@click.argument("role", type=click.Choice(ROLE_CHOICES))
@click.argument("email")
def revoke(role: str, email: str) -> None:
    """Take ROLE away from the account with EMAIL (it becomes a plain user)."""
    _run(role, email, grant=False)
