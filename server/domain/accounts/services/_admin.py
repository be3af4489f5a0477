"""What admins do with other accounts: find them, grant and revoke the staff roles, end all their sessions.

The support console's user administration calls these; ``techpal-server users`` changes roles the same way from the
command line while the server is stopped or running. Each change is logged with who made it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, case, func, or_, select

from server.db.models import ROLES, User, UserSession
from server.domain.accounts.services._base import logger
from server.domain.accounts.services._sessions import SessionFlows
from server.lib.exceptions import Conflict, FieldError, NotFound, ValidationFailed

if TYPE_CHECKING:
    import datetime
    import uuid

    from server.db.models import Role
    from server.domain.accounts.services._base import Principal

__all__ = ["AccountEntry", "AdminFlows", "RoleChange"]

# Staff first, so the people who hold a role are on the first page of an unfiltered list.
_ROLE_ORDER = {"admin": 0, "agent": 1, "user": 2}
_LIKE_SPECIALS = str.maketrans({"\\": "\\\\", "%": "\\%", "_": "\\_"})


@dataclass(frozen=True, slots=True)
class AccountEntry:
    """One account as an admin's list shows it."""

    id: uuid.UUID
    name: str
    email: str
    username: str
    role: str
    created_at: datetime.datetime
    email_verified: bool
    deleted: bool
    live_sessions: int


@dataclass(frozen=True, slots=True)
class RoleChange:
    """A role change: whose, from what to what (``before == after`` when nothing changed)."""

    user_id: uuid.UUID
    name: str
    before: str
    after: str


class AdminFlows(SessionFlows):
    """An admin's work on other accounts (the callers checked that ``admin`` is one)."""

    async def find_accounts(
        self, text: str, role: Role | None, *, limit: int, offset: int
    ) -> tuple[list[AccountEntry], int]:
        """Accounts whose name, e-mail or username holds ``text`` (any case), of ``role`` if given; staff first.

        Returns the page and how many match.
        """
        where: list[ColumnElement[bool]] = []
        if text.strip():
            pattern = f"%{text.strip().translate(_LIKE_SPECIALS)}%"
            where.append(
                or_(
                    User.name.ilike(pattern, escape="\\"),
                    User.email.ilike(pattern, escape="\\"),
                    User.username.ilike(pattern, escape="\\"),
                )
            )
        if role is not None:
            where.append(User.role == role)
        live = (
            select(func.count())
            .where(UserSession.user_id == User.id, UserSession.revoked_at.is_(None))
            .correlate(User)
            .scalar_subquery()
        )
        rank = case(_ROLE_ORDER, value=User.role, else_=9)
        total = await self.db.scalar(select(func.count()).select_from(User).where(*where)) or 0
        rows = await self.db.execute(
            select(User, live).where(*where).order_by(rank, func.lower(User.name), User.id).limit(limit).offset(offset)
        )
        entries = [
            AccountEntry(
                id=user.id,
                name=user.name,
                email=user.email,
                username=user.username,
                role=user.role,
                created_at=user.created_at,
                email_verified=user.email_verified_at is not None,
                deleted=user.deleted_at is not None,
                live_sessions=int(sessions),
            )
            for user, sessions in rows
        ]
        return entries, int(total)

    async def set_role(self, admin: Principal, user_id: uuid.UUID, role: str) -> RoleChange:
        """Give the account ``role`` (``user`` takes ``agent`` or ``admin`` away).

        An admin cannot take their own admin role away (409 ``cannot_remove_own_admin``): another admin must, so
        the server never loses its last admin by a slip. Taking a staff role away ends its console and staff event
        streams at their next check; its sessions stay (it remains a user).

        Raises:
            ValidationFailed: ``role`` is not one of ``user``, ``agent``, ``admin``.
            NotFound: no such account.
            Conflict: the admin's own admin role.
        """
        if role not in ROLES:
            raise ValidationFailed(f"role must be one of {', '.join(ROLES)}", errors=[FieldError("role", "not a role")])
        user = await self.db.get(User, user_id, with_for_update=True)
        if user is None:
            raise NotFound("No such account.")
        if user.id == admin.user.id and role != "admin":
            raise Conflict(
                "You cannot remove your own admin role: another admin has to do that.", code="cannot_remove_own_admin"
            )
        change = RoleChange(user_id=user.id, name=user.name, before=user.role, after=role)
        if change.before != change.after:
            user.role, user.updated_at = role, self.clock()
            await self.db.flush()
            logger.info(
                "role_changed",
                admin_id=str(admin.user.id),
                user_id=str(user.id),
                before=change.before,
                after=change.after,
            )
        return change

    async def end_sessions_of(self, admin: Principal, user_id: uuid.UUID) -> User:
        """End every session of the account (its devices, its console, its sign-ins in progress); the account.

        The admin's own account may be chosen too: that signs them out everywhere, this console included.
        """
        user = await self.db.get(User, user_id)
        if user is None:
            raise NotFound("No such account.")
        logger.warning("admin_ended_sessions", admin_id=str(admin.user.id), user_id=str(user.id))
        await self.end_all_sessions(user)
        await self.db.flush()
        return user
