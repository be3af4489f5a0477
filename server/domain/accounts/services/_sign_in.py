"""Use cases of signing in: with a password, with Google, and restoring a deleted account.

Both ways of signing in end the same way: the account may sign in (not deleted), the second factor if it is on,
then a session (:meth:`SessionFlows._open_session`).
"""

from __future__ import annotations

import datetime
import re
import secrets
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from server.db.models import User, oidc_nonces
from server.db.transactions import transaction_of_its_own
from server.domain.accounts.google import InvalidIdToken
from server.domain.accounts.services._base import (
    LOGIN_ACCOUNT_IP,
    LOGIN_IP,
    clean_name,
    logger,
    normalize_email,
    register_ip,
)
from server.domain.accounts.services._two_factor import OtpRequired, TwoFactorFlows
from server.lib.crypto import digest_token
from server.lib.exceptions import Conflict, FieldError, NotAuthenticated, NotFound, PermissionDenied, ValidationFailed

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

    from server.domain.accounts.google import GoogleIdentity
    from server.domain.accounts.schemas import GoogleLogin, TokenPair

__all__ = ["SignInFlows"]

NONCE_LEEWAY = datetime.timedelta(minutes=5)
_USERNAME_CHARS = re.compile(r"[^a-z0-9._-]")


class SignInFlows(TwoFactorFlows):
    """Sign-in with a password or a Google ID token, and restoring a deleted account."""

    async def login(
        self, login: str, password: str, device_name: str, client_ip: str, code: str | None = None
    ) -> TokenPair:
        """Check the password (after the throttles, so a throttled guess costs no hash) and open a session.

        With two-step sign-in on, ``code`` is checked too; without one the answer is 401 ``otp_required``.
        """
        user = await self._credentials(login, password, client_ip)
        self._ensure_may_sign_in(user)
        if user.email_verified_at is None:
            raise PermissionDenied(
                "Confirm your e-mail address first (see the mail we sent).", code="email_not_verified"
            )
        if user.password_hash is not None and self.passwords.needs_rehash(user.password_hash):
            user.password_hash = await self.passwords.hash(password)
        await self._second_factor(user, device_name, code, client_ip)
        return await self._open_session(user, device_name)

    async def restore(self, login: str, password: str, client_ip: str) -> User:
        """Reopen an account deleted less than 30 days ago (throttled like sign-in); 409 when it is not deleted."""
        user = await self._credentials(login, password, client_ip)
        if user.purge_after is None:
            raise Conflict("This account is not deleted; sign in as usual.", code="account_not_deleted")
        user.deleted_at = user.purge_after = None
        await self.db.flush()
        logger.info("account_restored", user_id=str(user.id))
        return user

    async def _credentials(self, login: str, password: str, client_ip: str) -> User:
        """The account ``login`` (e-mail or username) names, if ``password`` is its password; throttled."""
        login = login.strip()
        user = await (self._by_email(login) if "@" in login else self._by_username(login))
        account = str(user.id) if user is not None else f"unknown:{login.lower()}"
        await self.limiter.hit(LOGIN_IP, client_ip)
        await self.limiter.hit(LOGIN_ACCOUNT_IP, f"{account}|{client_ip}")
        if user is None:
            await self.passwords.verify_nobody(password)
            raise NotAuthenticated("Wrong login or password.", code="invalid_credentials")
        if not await self.passwords.verify(user.password_hash, password):
            logger.info("login_failed", user_id=str(user.id))
            raise NotAuthenticated("Wrong login or password.", code="invalid_credentials")
        await self.limiter.forgive(LOGIN_ACCOUNT_IP, f"{account}|{client_ip}", reset=True)
        await self.limiter.forgive(LOGIN_IP, client_ip)
        return user

    async def google_login(self, data: GoogleLogin, device_name: str, client_ip: str) -> TokenPair:
        """Sign in with a Google ID token (verified, and its nonce spent).

        The account is the one linked to the Google subject, else the one with that verified address (linked now),
        else a new one made from the name and address alone (``age_confirmed`` required).
        """
        if self.google is None:
            raise NotFound("Google sign-in is not set up on this server.", code="google_disabled")
        await self.limiter.hit(LOGIN_IP, client_ip)
        identity = await self.google.verify(data.id_token, data.nonce)
        user = await self.db.scalar(select(User).where(User.google_subject == identity.subject))
        link = None
        if user is None:
            user, link = await self._account_for(identity, data.age_confirmed, client_ip)
        self._ensure_may_sign_in(user)
        await self.limiter.forgive(LOGIN_IP, client_ip)
        try:
            await self._second_factor(user, device_name, data.code, client_ip, link_google=link)
        except OtpRequired:
            # The 401 that carries the challenge rolls this request back: the token is spent on its own, so it
            # cannot ask for more challenges. (Other refusals leave it unspent: after 422 ``age_required`` the app
            # sends it again with the age confirmed.)
            async with transaction_of_its_own(self.limiter.engine) as own:
                await self._spend_nonce(data.nonce, identity.expires_at, own)
            raise
        await self._spend_nonce(data.nonce, identity.expires_at, self.db)
        if link is not None:
            user.google_subject = link
            logger.info("google_linked", user_id=str(user.id))
        return await self._open_session(user, device_name)

    @staticmethod
    async def _spend_nonce(nonce: str, expires_at: int, db: AsyncSession | AsyncConnection) -> None:
        """Remember the nonce until its token expires; a token presented twice is refused (401)."""
        until = datetime.datetime.fromtimestamp(expires_at, datetime.UTC) + NONCE_LEEWAY
        fresh = await db.scalar(
            insert(oidc_nonces)
            .values(nonce_hash=digest_token(nonce), expires_at=until)
            .on_conflict_do_nothing()
            .returning(oidc_nonces.c.nonce_hash)
        )
        if fresh is None:
            logger.warning("id_token_replayed")
            raise InvalidIdToken("This Google sign-in was already used; please try again.")

    async def _account_for(
        self, identity: GoogleIdentity, age_confirmed: bool, client_ip: str
    ) -> tuple[User, str | None]:
        """The account with the identity's address (to link, returned with the subject), else a new one."""
        email = normalize_email(identity.email)
        user = await self._by_email(email)
        if user is not None:
            if user.email_verified_at is None:
                raise Conflict(
                    "An account with this e-mail address exists but its address is not confirmed yet. Open the link "
                    'in the confirmation mail (or use "Forgot password?"), then sign in with Google.',
                    code="link_requires_password",
                )
            if user.role != "user" or user.google_subject is not None:
                # Staff accounts never gain a password-free way in by e-mail alone; nor does an account another
                # Google account is linked to.
                raise Conflict(
                    "This account cannot be reached with Google sign-in. Sign in with its password.",
                    code="link_requires_password",
                )
            return user, identity.subject
        if not age_confirmed:
            raise ValidationFailed(
                "Tech Pal is for people aged 18 and older: confirm your age to create the account.",
                code="age_required",
                errors=[FieldError("age_confirmed", "must be true")],
            )
        await self.limiter.hit(register_ip(self.settings), client_ip)
        now = self.clock()
        user = User(
            name=clean_name(identity.name)[:200],
            email=email,
            username=await self._free_username(email),
            password_hash=None,
            role="user",
            email_verified_at=now,
            age_confirmed_at=now,
            google_subject=identity.subject,
        )
        self.db.add(user)
        await self._flush_unique()
        await self._accept_current_policy(user)
        logger.info("user_registered", user_id=str(user.id), via="google")
        return user, None

    async def _free_username(self, email: str) -> str:
        """A username from the address's local part (changeable later), with digits added when it is taken."""
        base = _USERNAME_CHARS.sub("", email.partition("@")[0].lower())[:24].strip("._-") or "user"
        base = base.ljust(3, "0")
        candidate = base
        for _ in range(20):
            if await self._by_username(candidate) is None:
                return candidate
            candidate = f"{base}{secrets.randbelow(10**6):06d}"
        return f"user{secrets.token_hex(8)}"
