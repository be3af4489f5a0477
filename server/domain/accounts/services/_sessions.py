"""Use cases of sessions: opening one, refresh rotation, authentication, logout, devices."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select, update

from server.db.models import RefreshToken, User, UserSession
from server.db.transactions import session_of_its_own
from server.domain.accounts.schemas import SessionInfo, TokenPair
from server.domain.accounts.services._base import (
    LAST_USED_PRECISION,
    MAX_LIVE_SESSIONS,
    AccountServiceBase,
    Principal,
    logger,
)
from server.lib.crypto import digest_token, new_token
from server.lib.exceptions import (
    NotAuthenticated,
    NotFound,
)

if TYPE_CHECKING:
    import uuid

    from server.lib.crypto import AccessTokenSigner


__all__ = ["SessionFlows"]

# Every authenticated request runs this: built once (building and hashing a statement costs more than running it).
_LIVE_SESSION = (
    select(User, UserSession.last_used_at)
    .join(UserSession, User.id == UserSession.user_id)
    .where(UserSession.id == bindparam("session_id"), UserSession.revoked_at.is_(None))
)
_TOUCH_SESSION = (
    update(UserSession)
    .where(UserSession.id == bindparam("session_id"))
    .values(last_used_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)


class SessionFlows(AccountServiceBase):
    """Sessions: opening one, token rotation, authentication and the device list."""

    async def _open_session(self, user: User, device_name: str) -> TokenPair:
        """A new session for ``user`` on ``device_name``, and its first token pair."""
        now = self.clock()
        session = UserSession(user_id=user.id, device_name=device_name[:200], last_used_at=now)
        self.db.add(session)
        await self.db.flush()
        await self._end_oldest_sessions(user)
        pair = self._pair(session, now)
        await self.db.flush()
        logger.info("login", user_id=str(user.id), session_id=str(session.id))
        return pair

    async def _end_oldest_sessions(self, user: User) -> None:
        """Keep at most MAX_LIVE_SESSIONS live sessions: a new sign-in ends the oldest beyond that."""
        beyond = (
            select(UserSession.id)
            .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
            .order_by(UserSession.created_at.desc(), UserSession.id.desc())
            .offset(MAX_LIVE_SESSIONS)
        )
        await self._revoke(UserSession.id.in_(beyond))

    def _pair(self, session: UserSession, now: datetime.datetime) -> TokenPair:
        """A new access token and a new refresh token (added to the unit of work) for ``session``."""
        refresh = new_token()
        ttl = self.settings.auth.refresh_token_ttl
        self.db.add(
            RefreshToken(
                session_id=session.id,
                token_hash=digest_token(refresh),
                expires_at=now + datetime.timedelta(seconds=ttl),
            )
        )
        access_ttl = self.settings.auth.access_token_ttl
        access = self.signer.issue(session.id, int(now.timestamp()) + access_ttl)
        return TokenPair(access_token=access, refresh_token=refresh, expires_in=access_ttl)

    async def refresh(self, token: str) -> TokenPair:
        """Rotate: spend ``token`` and return a new pair. A spent token presented again revokes its session."""
        now = self.clock()
        digest = digest_token(token)
        row = (
            await self.db.execute(
                update(RefreshToken)
                .where(RefreshToken.token_hash == digest, RefreshToken.rotated_at.is_(None))
                .values(rotated_at=now)
                .returning(RefreshToken.session_id, RefreshToken.expires_at)
            )
        ).one_or_none()
        if row is None:
            spent = await self.db.scalar(select(RefreshToken).where(RefreshToken.token_hash == digest))
            if spent is not None:
                # Someone holds a copy of a token that was already used: treat the whole session as stolen. The
                # revocation must stand although this request fails.
                async with session_of_its_own(self.limiter.engine) as own:
                    await self._revoke(UserSession.id == spent.session_id, db=own)
                logger.warning("refresh_token_reused", session_id=str(spent.session_id))
            raise NotAuthenticated("The refresh token is invalid; sign in again.", code="invalid_refresh_token")
        session = await self.db.get(UserSession, row.session_id)
        if session is None or session.revoked_at is not None or row.expires_at <= now:
            raise NotAuthenticated("The refresh token is invalid; sign in again.", code="invalid_refresh_token")
        if now - session.created_at >= datetime.timedelta(seconds=self.settings.auth.session_max_age):
            raise NotAuthenticated("This sign-in is too old; sign in again.", code="invalid_refresh_token")
        session.last_used_at = now
        pair = self._pair(session, now)
        await self.db.flush()
        return pair

    async def authenticate(self, access_token: str, *, signer: AccessTokenSigner | None = None) -> Principal:
        """The principal of a valid access token whose session is live; raises ``NotAuthenticated``.

        ``signer``: the signer of another kind of token naming a session (the console's cookie), else the API's.
        """
        now = self.clock()
        session_id = (signer or self.signer).read(access_token, int(now.timestamp()))
        if session_id is None:
            raise NotAuthenticated("The access token is invalid or expired.", code="invalid_token")
        found = (await self.db.execute(_LIVE_SESSION, {"session_id": session_id})).one_or_none()
        if found is None:
            raise NotAuthenticated("This session has ended; sign in again.", code="session_revoked")
        user, last_used_at = found
        if now - last_used_at > LAST_USED_PRECISION:
            await self.db.execute(_TOUCH_SESSION, {"session_id": session_id, "now": now})
        return Principal(user=user, session_id=session_id)

    async def logout(self, principal: Principal) -> None:
        """End the calling session."""
        await self._revoke(UserSession.id == principal.session)

    async def end_all_sessions(self, user: User) -> None:
        """End every session of ``user`` (an admin's action, e.g. after a takeover)."""
        await self._revoke(UserSession.user_id == user.id)
        await self._end_sign_in_paths(user)
        logger.warning("all_sessions_ended", user_id=str(user.id))

    async def close(self, user: User, purge_after: datetime.datetime) -> None:
        """Mark the account deleted (purged after ``purge_after``) and end every session of it."""
        user.deleted_at, user.purge_after = self.clock(), purge_after
        await self._revoke(UserSession.user_id == user.id)
        await self._end_sign_in_paths(user, unlink_google=False)
        await self.db.flush()
        logger.info("account_deleted", user_id=str(user.id), purge_after=purge_after.isoformat())

    async def sessions(self, principal: Principal) -> list[SessionInfo]:
        """The caller's live sessions, newest first."""
        rows = await self.db.scalars(
            select(UserSession)
            .where(UserSession.user_id == principal.user.id, UserSession.revoked_at.is_(None))
            .order_by(UserSession.created_at.desc())
        )
        return [
            SessionInfo(
                id=s.id,
                device_name=s.device_name,
                created_at=s.created_at,
                last_used_at=s.last_used_at,
                current=s.id == principal.session_id,
            )
            for s in rows
        ]

    async def revoke_other_sessions(self, principal: Principal) -> None:
        """End every session of the caller's account but the calling one ("sign out all other devices")."""
        await self._revoke(UserSession.user_id == principal.user.id, UserSession.id != principal.session)
        await self._end_sign_in_paths(principal.user)

    async def revoke_session(self, principal: Principal, session_id: uuid.UUID) -> None:
        """End one of the caller's own sessions (another user's is "not found")."""
        result = await self.db.execute(
            update(UserSession)
            .where(
                UserSession.id == session_id,
                UserSession.user_id == principal.user.id,
                UserSession.revoked_at.is_(None),
            )
            .values(revoked_at=self.clock())
            .returning(UserSession.id)
        )
        if result.one_or_none() is None:
            raise NotFound("No such session.")
