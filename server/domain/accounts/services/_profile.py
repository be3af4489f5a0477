"""Use cases of the profile: read, correct, change password."""

from __future__ import annotations

from sqlalchemy import func, select

from server.db.models import EmailToken, User, UserSession, policy_acceptances, policy_versions
from server.domain.accounts.mail import email_change_notice
from server.domain.accounts.passwords import password_problem
from server.domain.accounts.schemas import PolicyNotice, Profile, ProfileUpdate
from server.domain.accounts.services._base import (
    CANCEL_EMAIL_TTL,
    MAIL_ACCOUNT,
    MAIL_ADDRESS,
    AccountServiceBase,
    Principal,
    clean_name,
    logger,
    normalize_email,
    normalize_username,
    weak_password_error,
)
from server.lib.exceptions import (
    FieldError,
    PermissionDenied,
    ValidationFailed,
)

__all__ = ["ProfileFlows"]


class ProfileFlows(AccountServiceBase):
    """The signed-in user's profile and password."""

    async def profile(self, user: User) -> Profile:
        """The user's profile, with an address change still awaiting verification."""
        pending = await self.db.scalar(
            select(EmailToken.email)
            .where(
                EmailToken.user_id == user.id,
                EmailToken.purpose == "verify_email",
                EmailToken.used_at.is_(None),
                EmailToken.expires_at > self.clock(),
                func.lower(EmailToken.email) != user.email.lower(),
            )
            .order_by(EmailToken.created_at.desc())
            .limit(1)
        )
        return Profile(
            id=user.id,
            name=user.name,
            username=user.username,
            email=user.email,
            email_verified=user.email_verified_at is not None,
            role=user.role,
            created_at=user.created_at,
            pending_email=pending,
            kb_contribution=user.kb_contribution,
            analytics=user.analytics,
            two_factor=await self.two_factor_on(user),
            has_password=user.password_hash is not None,
            google_linked=user.google_subject is not None,
            ai_processing=user.ai_processing,
            policy=await self._policy_notice(user),
        )

    async def _policy_notice(self, user: User) -> PolicyNotice | None:
        """The newest published policy version, and whether ``user`` has acknowledged it."""
        accepted = (
            select(policy_acceptances.c.version)
            .where(policy_acceptances.c.user_id == user.id, policy_acceptances.c.version == policy_versions.c.version)
            .exists()
        )
        row = (
            await self.db.execute(
                select(policy_versions, accepted.label("accepted")).order_by(policy_versions.c.published_at.desc())
            )
        ).first()
        if row is None:
            return None
        return PolicyNotice(
            version=row.version, summary=row.summary, url=row.url, published_at=row.published_at, accepted=row.accepted
        )

    async def accept_policy(self, user: User, version: str) -> None:
        """Record that ``user`` read the current policy ``version`` (again is fine: the first time stands)."""
        current = await self._policy_notice(user)
        if current is None or current.version != version:
            raise ValidationFailed(
                "That is not the current policy version.",
                code="unknown_policy_version",
                errors=[FieldError("version", "not the current version")],
            )
        if not current.accepted:
            await self._record_acceptance(user, version)
        logger.info("policy_accepted", user_id=str(user.id), version=version)

    async def update_profile(self, user: User, data: ProfileUpdate, client_ip: str) -> Profile:
        """Change name and username now; a new e-mail address only with the password, and once its owner confirms it.

        An address change also mails the current address a link that cancels it (see :meth:`cancel_email_change`):
        whoever holds a stolen access token cannot take the account over by moving its address.
        """
        name = clean_name(data.name) if data.name is not None else None
        username = normalize_username(data.username) if data.username is not None else None
        email = normalize_email(data.email) if data.email is not None else None
        if email is not None and email.lower() == user.email.lower():
            email = None
        if email is not None:
            if data.current_password is None:
                raise PermissionDenied(
                    "Enter your current password to change the e-mail address.", code="reauthentication_required"
                )
            await self.confirm_password(user, data.current_password, client_ip)
            await self.limiter.hit(MAIL_ACCOUNT, str(user.id))
            await self.limiter.hit(MAIL_ADDRESS, email.lower())
        await self._ensure_free(email=email, username=username, me=user)
        if name is not None:
            user.name = name
        if username is not None:
            user.username = username
        for switch in ("kb_contribution", "analytics", "ai_processing"):
            if (value := getattr(data, switch)) is not None:
                setattr(user, switch, value)
        await self._flush_unique()
        if email is not None:
            await self._send_verification(user, email, change=True)
            await self._send_change_notice(user)
        return await self.profile(user)

    async def _send_change_notice(self, user: User) -> None:
        token = self._mail_token(user, "cancel_email", user.email, CANCEL_EMAIL_TTL)
        await self.db.flush()
        notice = email_change_notice(self.mailer.sender, user.email, self.settings.server.base_url, token)
        if (message := await self._deliver_later(notice)) is not None:
            self._queued_mail.append(message)

    async def change_password(self, principal: Principal, current: str, new: str, client_ip: str) -> None:
        """Replace the password (proving the current one) and end every other session."""
        user = principal.user
        await self.confirm_password(user, current, client_ip)
        if problem := password_problem(new, email=user.email, username=user.username):
            raise weak_password_error(problem, "new_password")
        user.password_hash = await self.passwords.hash(new)
        await self._revoke(UserSession.user_id == user.id, UserSession.id != principal.session)
        await self._spend_reset_tokens(user)
        await self._cancel_pending_email_change(user)
        await self._end_sign_in_paths(user)
        logger.info("password_changed", user_id=str(user.id))
