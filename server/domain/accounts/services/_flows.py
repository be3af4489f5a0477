"""Use cases that mail a single-use token: registration, verification, password reset."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update

from server.db.models import EmailToken, User, UserSession
from server.db.transactions import session_of_its_own
from server.domain.accounts.mail import reset_mail
from server.domain.accounts.passwords import password_problem
from server.domain.accounts.services._base import (
    MAIL_ADDRESS,
    MAIL_IP,
    RESET_TTL,
    TOKEN_IP,
    AccountServiceBase,
    clean_name,
    invalid_token,
    logger,
    normalize_email,
    normalize_username,
    register_ip,
    weak_password_error,
)
from server.lib.crypto import digest_token
from server.lib.exceptions import (
    FieldError,
    ValidationFailed,
)

if TYPE_CHECKING:
    from email.message import EmailMessage

    from server.domain.accounts.schemas import Register

__all__ = ["MailFlows"]


class MailFlows(AccountServiceBase):
    """Registration, e-mail verification and password reset: the flows that mail a one-time token."""

    async def register(self, data: Register, client_ip: str) -> User:
        """Create an unverified account and mail the verification link."""
        await self.limiter.hit(register_ip(self.settings), client_ip)
        name, email, username = clean_name(data.name), normalize_email(data.email), normalize_username(data.username)
        if not data.age_confirmed:
            raise ValidationFailed(
                "Tech Pal is for people aged 18 and older.",
                code="age_required",
                errors=[FieldError("age_confirmed", "must be true")],
            )
        if problem := password_problem(data.password, email=email, username=username):
            raise weak_password_error(problem, "password")
        await self._ensure_free(email=email, username=username)
        now = self.clock()
        user = User(
            name=name,
            email=email,
            username=username,
            password_hash=await self.passwords.hash(data.password),
            role="user",
            age_confirmed_at=now,
        )
        self.db.add(user)
        await self._flush_unique()
        await self._accept_current_policy(user)  # the policy in force is the one agreed to by registering
        logger.info("user_registered", user_id=str(user.id))
        await self._send_verification(user, email, change=False)
        return user

    async def _spend_mail_token(self, token: str, purpose: str, client_ip: str) -> Any:
        """Mark a live mailed token of ``purpose`` used (throttled per client); its user id and address."""
        await self.limiter.hit(TOKEN_IP, client_ip)
        now = self.clock()
        row = (
            await self.db.execute(
                update(EmailToken)
                .where(
                    EmailToken.token_hash == digest_token(token),
                    EmailToken.purpose == purpose,
                    EmailToken.used_at.is_(None),
                    EmailToken.expires_at > now,
                )
                .values(used_at=now)
                .returning(EmailToken.user_id, EmailToken.email)
            )
        ).one_or_none()
        if row is None:
            raise invalid_token()
        return row

    async def verify_email(self, token: str, client_ip: str) -> None:
        """Consume a verification token: the account (or its new address) is verified."""
        row = await self._spend_mail_token(token, "verify_email", client_ip)
        now = self.clock()
        user = await self.db.get_one(User, row.user_id)
        if row.email.lower() != user.email.lower():
            await self._ensure_free(email=row.email, me=user)
            user.email = row.email
            await self._end_sign_in_paths(user)  # the Google account of the old address no longer fits
        user.email_verified_at = now
        await self._flush_unique()
        await self.limiter.forgive(TOKEN_IP, client_ip)
        logger.info("email_verified", user_id=str(user.id))

    async def resend_verification(self, email: str, client_ip: str) -> EmailMessage | None:
        """Mail a fresh verification link to an unverified account (silently nothing otherwise).

        Like :meth:`request_password_reset`, returns an SMTP mail for the caller to send after answering.
        """
        await self.limiter.hit(MAIL_IP, client_ip)
        await self.limiter.hit(MAIL_ADDRESS, email.strip().lower())
        user = await self._by_email(email.strip())
        if user is None or user.email_verified_at is not None:
            return None
        return await self._deliver_later(await self._verification_message(user, user.email, change=False))

    async def request_password_reset(self, email: str, client_ip: str) -> None:
        """Count the request against the mail limits; the caller answers 202 and then runs :meth:`mail_reset_link`.

        Nothing here depends on whether the address has an account, so the answer takes the same time either way.
        """
        await self.limiter.hit(MAIL_IP, client_ip)
        await self.limiter.hit(MAIL_ADDRESS, email.strip().lower())

    async def mail_reset_link(self, email: str) -> None:
        """After the answer: mail a reset link if the address has an account (its own transaction, then the mail)."""
        async with session_of_its_own(self.limiter.engine) as db:
            user = await db.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
            if user is None:
                logger.info("password_reset_unknown_address")
                return
            token = self._mail_token(user, "reset_password", user.email, RESET_TTL, db=db)
            address = user.email
        await self._deliver(reset_mail(self.mailer.sender, address, self.settings.server.base_url, token))

    async def cancel_email_change(self, token: str, client_ip: str) -> None:
        """Use the link mailed to the old address: keep (or bring back) that address and end every session."""
        row = await self._spend_mail_token(token, "cancel_email", client_ip)
        await self.limiter.forgive(TOKEN_IP, client_ip)
        now = self.clock()
        user = await self.db.get_one(User, row.user_id)
        if user.email.lower() != row.email.lower():  # the change went through already: put the address back
            await self._ensure_free(email=row.email, me=user)
            user.email, user.email_verified_at = row.email, now
        await self._cancel_pending_email_change(user)
        await self._revoke(UserSession.user_id == user.id)
        await self._end_sign_in_paths(user)
        await self._flush_unique()
        logger.warning("email_change_cancelled", user_id=str(user.id))

    async def confirm_password_reset(self, token: str, new_password: str, client_ip: str) -> None:
        """Set a new password with a reset token (single use) and end every session."""
        await self.limiter.hit(TOKEN_IP, client_ip)
        now = self.clock()
        row = await self.db.scalar(
            select(EmailToken)
            .where(
                EmailToken.token_hash == digest_token(token),
                EmailToken.purpose == "reset_password",
                EmailToken.used_at.is_(None),
                EmailToken.expires_at > now,
            )
            .with_for_update()
        )
        if row is None:
            raise invalid_token()
        await self.limiter.forgive(TOKEN_IP, client_ip)
        user = await self.db.get_one(User, row.user_id)
        # A weak password leaves the token unspent (rolled back), so the user can try another one.
        if problem := password_problem(new_password, email=user.email, username=user.username):
            raise weak_password_error(problem, "new_password")
        user.password_hash = await self.passwords.hash(new_password)
        if user.email_verified_at is None and row.email.lower() == user.email.lower():
            user.email_verified_at = now  # the mail reached its owner: that is what verification proves
        await self._spend_reset_tokens(user)
        await self._cancel_pending_email_change(user)
        await self._revoke(UserSession.user_id == user.id)
        await self._end_sign_in_paths(user)
        logger.info("password_reset", user_id=str(user.id))
