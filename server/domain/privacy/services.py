"""The data-rights use cases of one request: export, delete, restore, and an admin's deletion.

Transactions follow ADR 9: the request's session commits on success. Work that must not hold the request — building
an export, mails, removing files — is handed back to run after the answer (see the ``after_*`` functions).
"""

from __future__ import annotations

import asyncio
import datetime
import smtplib
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import update

from server.db.models import DataExport, User
from server.domain.billing import cancel_subscriptions
from server.domain.privacy import exports
from server.domain.privacy.mail import deletion_mail, restored_mail
from server.domain.privacy.purge import purge_account
from server.domain.privacy.schemas import ExportInfo, ExportStarted
from server.lib.exceptions import Conflict, NotFound, ServiceUnavailable

if TYPE_CHECKING:
    import uuid
    from email.message import EmailMessage

    from sqlalchemy.ext.asyncio import AsyncSession

    from server.domain.accounts import AccountService, Principal
    from server.domain.privacy.lifecycle import DataLifecycle

__all__ = ["PURGE_DELAY", "DataRights", "after_deletion", "after_restore"]

logger = structlog.get_logger(__name__)

PURGE_DELAY = datetime.timedelta(days=30)


class DataRights:
    """Export, deletion and restore for the request's caller (or, for an admin, another account)."""

    def __init__(self, db: AsyncSession, *, accounts: AccountService, life: DataLifecycle) -> None:
        self.db = db
        self.accounts = accounts
        self.life = life

    # ------------------------------------------------------------------------------------------ export
    async def request_export(self, user: User) -> ExportStarted:
        """Queue an export (built after the answer); 429 ``export_limited`` within a day of the last one."""
        export = await exports.start_export(self.db, user, self.life.clock())
        return ExportStarted(id=export.id, status="pending")

    async def exports(self, user: User) -> list[ExportInfo]:
        """The caller's exports, newest first."""
        now = self.life.clock()
        return [exports.export_info(e, now) for e in await exports.list_exports(self.db, user)]

    async def export(self, user: User, export_id: uuid.UUID) -> ExportInfo:
        """One of the caller's exports; another user's is 404."""
        return exports.export_info(await exports.find_export(self.db, user, export_id), self.life.clock())

    async def download_path(self, user: User, export_id: uuid.UUID) -> str:
        """The ZIP of one of the caller's ready exports."""
        export = await exports.find_export(self.db, user, export_id)
        return exports.downloadable(self.life, export, self.life.clock())

    # ------------------------------------------------------------------------------------------ deletion
    async def delete_account(
        self, principal: Principal, password: str, client_ip: str
    ) -> tuple[datetime.datetime, list[uuid.UUID]]:
        """Close the caller's account after checking the password: purge date and the exports dropped."""
        await self.accounts.confirm_password(principal.user, password, client_ip)
        return await self._close(principal.user)

    async def _close(self, user: User) -> tuple[datetime.datetime, list[uuid.UUID]]:
        # Stripe first: when it cannot be reached nothing has changed yet (503), and the user may try again.
        await cancel_subscriptions(self.life.engine, self.life.billing, user.id)
        purge_after = self.life.clock() + PURGE_DELAY
        await self.accounts.close(user, purge_after)
        # Exports end now: files go after the answer; rows stay (expired) so a restore does not reset the daily limit.
        dropped = await self.db.scalars(
            update(DataExport)
            .where(DataExport.user_id == user.id, DataExport.expires_at > self.life.clock())
            .values(expires_at=self.life.clock())
            .returning(DataExport.id)
        )
        return purge_after, list(dropped)

    async def restore(self, login: str, password: str, client_ip: str) -> User:
        """Reopen a deleted account (password checked, throttled like sign-in)."""
        return await self.accounts.restore(login, password, client_ip)

    async def admin_end_sessions(self, admin: Principal, user_id: uuid.UUID) -> None:
        """End every session of another account (an admin's own too, if it is theirs)."""
        user = await self.db.get(User, user_id)
        if user is None:
            raise NotFound("No such account.")
        logger.warning("admin_ends_sessions", admin_id=str(admin.user.id), user_id=str(user_id))
        await self.accounts.end_all_sessions(user)

    async def admin_delete(
        self, admin: Principal, user_id: uuid.UUID, *, immediate: bool
    ) -> tuple[User, datetime.datetime | None, list[uuid.UUID]]:
        """Delete another account: closed for 30 days like a self-deletion, or with ``immediate`` purged now."""
        if user_id == admin.user.id:
            raise Conflict("Delete your own account from your profile, not as an admin.", code="cannot_delete_self")
        user = await self.db.get(User, user_id)
        if user is None:
            raise NotFound("No such account.")
        logger.info("admin_deletes_account", admin_id=str(admin.user.id), user_id=str(user_id), immediate=immediate)
        if immediate:
            if not await purge_account(self.life, user_id, due_by=None):
                raise ServiceUnavailable(
                    "The account could not be purged now (Stripe unreachable, or a purge is running); try again.",
                    code="purge_postponed",
                )
            return user, None, []
        if user.purge_after is not None:
            return user, user.purge_after, []
        purge_after, dropped = await self._close(user)
        return user, purge_after, dropped


async def _send(life: DataLifecycle, message: EmailMessage) -> None:
    try:
        await life.mailer.send(message)
    except (OSError, smtplib.SMTPException) as exc:  # the deletion or restore stands; the mail is a courtesy
        logger.error("mail_failed", error=type(exc).__name__, subject=message["Subject"])


async def after_deletion(
    life: DataLifecycle, email: str, purge_after: datetime.datetime, dropped: list[uuid.UUID]
) -> None:
    """After the answer: remove the dropped exports' files and mail the owner."""
    await asyncio.to_thread(exports.remove_export_files, life, dropped)
    await _send(life, deletion_mail(life.mailer.sender, email, purge_after))


async def after_restore(life: DataLifecycle, email: str) -> None:
    """After the answer: mail the owner that the account is back."""
    await _send(life, restored_mail(life.mailer.sender, email))
