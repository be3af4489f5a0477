"""Shared pieces of the accounts use cases: rules, normalisation, the principal, the service base."""

from __future__ import annotations

import datetime
import re
import smtplib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from server.db.models import (
    ApiKey,
    EmailToken,
    LoginChallenge,
    TwoFactor,
    User,
    UserSession,
    policy_acceptances,
    policy_versions,
)
from server.domain.accounts.mail import verification_mail
from server.lib.clock import Clock, utcnow
from server.lib.crypto import AccessTokenSigner, SecretSealer, digest_token, new_token
from server.lib.exceptions import (
    ClientError,
    Conflict,
    FieldError,
    PermissionDenied,
    ValidationFailed,
)
from server.lib.mail import Mailer, OutboxMailer
from server.lib.ratelimit import RateLimiter, Rule

if TYPE_CHECKING:
    import uuid
    from email.message import EmailMessage

    from sqlalchemy.ext.asyncio import AsyncSession

    from server.domain.accounts.api_keys import ApiKeyHasher
    from server.domain.accounts.google import GoogleVerifier
    from server.domain.accounts.passwords import PasswordHasher
    from server.settings import Settings

__all__ = [
    "AccountDeleted",
    "AccountServiceBase",
    "Principal",
    "normalize_email",
    "normalize_username",
]

logger = structlog.get_logger(__name__)

VERIFY_TTL = datetime.timedelta(hours=24)
RESET_TTL = datetime.timedelta(hours=1)
CANCEL_EMAIL_TTL = datetime.timedelta(days=7)
MAX_LIVE_SESSIONS = 20  # per account; a new sign-in beyond it ends the oldest
LAST_USED_PRECISION = datetime.timedelta(minutes=1)  # don't write the session row on every request
FIFTEEN_MINUTES = datetime.timedelta(minutes=15)
HOUR = datetime.timedelta(hours=1)

LOGIN_ACCOUNT_IP = Rule("login_account_ip", 10, FIFTEEN_MINUTES, backoff=True)
LOGIN_IP = Rule("login_ip", 100, FIFTEEN_MINUTES, backoff=True)
OTP_ACCOUNT = Rule("otp_account", 10, FIFTEEN_MINUTES, backoff=True)  # wrong second-factor codes, any client
TOKEN_IP = Rule("token_ip", 10, FIFTEEN_MINUTES, backoff=True)  # wrong verification/reset tokens
MAIL_ADDRESS = Rule("mail_address", 5, HOUR)  # verification and reset mails to one address
MAIL_IP = Rule("mail_ip", 20, HOUR)
MAIL_ACCOUNT = Rule("mail_account", 5, HOUR)  # address-change mails one account may cause


def register_ip(settings: Settings) -> Rule:
    """New accounts one client may make an hour (``TECHPAL_REGISTER_LIMIT``), by sign-up or first Google sign-in."""
    return Rule("register_ip", settings.auth.register_limit, HOUR)


_USERNAME = re.compile(r"[a-z0-9._-]{3,32}")
# Pragmatic syntax check (deliverability is proven by the verification mail, not by DNS).
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


def normalize_email(raw: str) -> str:
    """Trimmed address with the domain lower-cased; raises ``ValidationFailed`` when not an address."""
    value = raw.strip()
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise ValidationFailed("That is not a valid e-mail address.", errors=[FieldError("email", "invalid address")])
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def normalize_username(raw: str) -> str:
    """Lower-cased username; 3–32 characters of ``a-z 0-9 . _ -``."""
    value = raw.strip().lower()
    if not _USERNAME.fullmatch(value):
        message = "3–32 characters of a-z, 0-9, '.', '_' and '-'"
        raise ValidationFailed(f"Invalid username: use {message}.", errors=[FieldError("username", message)])
    return value


def clean_name(raw: str) -> str:
    value = " ".join(raw.split())
    if not value:
        raise ValidationFailed("The name must not be blank.", errors=[FieldError("name", "must not be blank")])
    return value


def weak_password_error(problem: str, field: str) -> ValidationFailed:
    return ValidationFailed(problem, code="weak_password", errors=[FieldError(field, problem)])


def invalid_token() -> ClientError:
    return ClientError("This link is invalid, used or expired; ask for a new one.", code="invalid_token")


def session_required() -> PermissionDenied:
    return PermissionDenied(
        "This route needs a signed-in session; API keys cannot manage an account.", code="session_required"
    )


class AccountDeleted(PermissionDenied):
    """403 ``account_deleted``: closed until ``purge_after``; ``POST /api/v1/auth/restore`` reopens it."""

    default_code = "account_deleted"
    title = "Account deleted"
    exposes_extra = True


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the user, and the session their access token belongs to or the API key they sent.

    Exactly one of ``session_id`` and ``api_key_id`` is set. Routes that manage the account accept sessions only
    (see :func:`server.domain.accounts.api_keys.accepts_api_key`), so there ``session_id`` is always set.
    """

    user: User
    session_id: uuid.UUID | None
    api_key_id: uuid.UUID | None = None

    @property
    def session(self) -> uuid.UUID:
        """The calling session's id; 403 ``session_required`` when the caller came with an API key."""
        if self.session_id is None:
            raise session_required()
        return self.session_id


class AccountServiceBase:
    """State and helpers shared by the use-case mixins."""

    def __init__(
        self,
        db: AsyncSession,
        *,
        settings: Settings,
        passwords: PasswordHasher,
        mailer: Mailer,
        limiter: RateLimiter,
        signer: AccessTokenSigner,
        sealer: SecretSealer,
        key_hasher: ApiKeyHasher,
        google: GoogleVerifier | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.db = db
        self.clock = clock
        self._queued_mail: list[EmailMessage] = []
        self.settings = settings
        self.passwords = passwords
        self.mailer = mailer
        self.limiter = limiter
        self.signer = signer
        self.sealer = sealer
        self.key_hasher = key_hasher
        self.google = google

    # ------------------------------------------------------------------------------------------ lookups
    async def _by_email(self, email: str) -> User | None:
        return await self.db.scalar(select(User).where(func.lower(User.email) == email.lower()))

    async def _by_username(self, username: str) -> User | None:
        return await self.db.scalar(select(User).where(func.lower(User.username) == username.lower()))

    async def _ensure_free(
        self, *, email: str | None = None, username: str | None = None, me: User | None = None
    ) -> None:
        if email is not None and (other := await self._by_email(email)) is not None and other is not me:
            raise Conflict("An account with this e-mail address exists.", code="email_taken")
        if username is not None and (other := await self._by_username(username)) is not None and other is not me:
            raise Conflict("This username is taken.", code="username_taken")

    async def _flush_unique(self) -> None:
        """Flush; a unique index that lost a race becomes the same 409 a pre-check gives (the request rolls back)."""
        try:
            await self.db.flush()
        except IntegrityError as exc:
            text = str(exc.orig)
            if "uq_users_email_lower" in text:
                raise Conflict("An account with this e-mail address exists.", code="email_taken") from None
            if "uq_users_username_lower" in text:
                raise Conflict("This username is taken.", code="username_taken") from None
            if "uq_users_google_subject" in text:
                raise Conflict(
                    "This Google account is linked to another account.", code="link_requires_password"
                ) from None
            raise

    @staticmethod
    def _ensure_may_sign_in(user: User) -> None:
        if user.purge_after is not None:
            raise AccountDeleted(
                "This account is deleted and will be purged; restore it to sign in again.",
                purge_after=user.purge_after,
            )

    async def _two_factor(self, user: User) -> TwoFactor | None:
        return await self.db.scalar(select(TwoFactor).where(TwoFactor.user_id == user.id))

    async def two_factor_on(self, user: User) -> bool:
        """Whether sign-in asks this user for a code."""
        row = await self._two_factor(user)
        return row is not None and row.confirmed_at is not None

    async def confirm_password(self, user: User, password: str, client_ip: str) -> None:
        """403 ``invalid_credentials`` unless ``password`` is the user's (throttled like sign-in).

        An account made by Google sign-in that never set a password gets 403 ``password_not_set``: a reset link sets
        one.
        """
        if user.password_hash is None:
            raise PermissionDenied(
                'This account has no password yet. Use "Forgot password?" to get a link that sets one.',
                code="password_not_set",
            )
        key = f"{user.id}|{client_ip}"
        await self.limiter.hit(LOGIN_ACCOUNT_IP, key)
        if not await self.passwords.verify(user.password_hash, password):
            raise PermissionDenied("The current password is wrong.", code="invalid_credentials")
        await self.limiter.forgive(LOGIN_ACCOUNT_IP, key, reset=True)

    # ------------------------------------------------------------------------------------------ mail tokens
    def _mail_token(
        self, user: User, purpose: str, email: str, ttl: datetime.timedelta, *, db: AsyncSession | None = None
    ) -> str:
        token = new_token()
        (db or self.db).add(
            EmailToken(
                user_id=user.id,
                purpose=purpose,
                email=email,
                token_hash=digest_token(token),
                expires_at=self.clock() + ttl,
            )
        )
        return token

    async def deliver(self, message: EmailMessage) -> None:
        """Send ``message``; a failure is logged (without the body) rather than raised."""
        await self._deliver(message)

    async def _deliver(self, message: EmailMessage) -> None:
        try:
            await self.mailer.send(message)
        except (OSError, smtplib.SMTPException) as exc:
            # The account change stands; the user can ask for the mail again. Never log the body (token).
            logger.error("mail_failed", error=type(exc).__name__, subject=message["Subject"])

    async def _send_verification(self, user: User, email: str, *, change: bool) -> None:
        """Queue the verification mail: written to the outbox now, or sent by SMTP by :meth:`send_queued_mail`."""
        message = await self._deliver_later(await self._verification_message(user, email, change=change))
        if message is not None:
            self._queued_mail.append(message)

    async def send_queued_mail(self) -> None:
        """Send the SMTP mails this request queued; run after the response, so after its transaction committed.

        A slow mail server then holds no pooled connection and no row lock of the request, and a mail never carries
        a token whose transaction rolled back.
        """
        queued, self._queued_mail = self._queued_mail, []
        for message in queued:
            await self._deliver(message)

    async def _verification_message(self, user: User, email: str, *, change: bool) -> EmailMessage:
        token = self._mail_token(user, "verify_email", email, VERIFY_TTL)
        await self.db.flush()
        return verification_mail(self.mailer.sender, email, self.settings.server.base_url, token, change=change)

    async def _deliver_later(self, message: EmailMessage) -> EmailMessage | None:
        """Write an outbox mail now (quick, local); hand an SMTP mail back to be sent after the answer."""
        if isinstance(self.mailer, OutboxMailer):
            await self._deliver(message)
            return None
        return message

    async def _revoke(self, *where: object, db: AsyncSession | None = None) -> None:
        await (db or self.db).execute(
            update(UserSession)
            .where(UserSession.revoked_at.is_(None), *where)  # type: ignore[arg-type]
            .values(revoked_at=self.clock())
        )

    async def _end_sign_in_paths(self, user: User, *, unlink_google: bool = True) -> None:
        """After a recovery or sign-out step: spend open sign-in challenges, revoke API keys, drop the Google link.

        Someone who took the account over may have linked their own Google account (via an address they changed it
        to), made an API key, or hold a challenge their phished code still answers; all end here. The owner's own
        Google account links again at its next Google sign-in, as long as its address is the account's; keys the
        owner needs are made anew.
        """
        now = self.clock()
        await self.db.execute(
            update(ApiKey).where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None)).values(revoked_at=now)
        )
        await self.db.execute(
            update(LoginChallenge)
            .where(LoginChallenge.user_id == user.id, LoginChallenge.used_at.is_(None))
            .values(used_at=now, link_google_subject=None)
        )
        if unlink_google and user.google_subject is not None:
            user.google_subject = None
            logger.warning("google_unlinked", user_id=str(user.id))

    async def _record_acceptance(self, user: User, version: str) -> None:
        await self.db.execute(
            insert(policy_acceptances)
            .values(user_id=user.id, version=version, accepted_at=self.clock())
            .on_conflict_do_nothing()
        )

    async def _accept_current_policy(self, user: User) -> None:
        current = await self.db.scalar(
            select(policy_versions.c.version).order_by(policy_versions.c.published_at.desc()).limit(1)
        )
        if current is not None:
            await self._record_acceptance(user, current)

    async def _cancel_pending_email_change(self, user: User) -> None:
        """Spend the verification tokens of any new address: a password change or reset ends a pending change."""
        await self.db.execute(
            update(EmailToken)
            .where(
                EmailToken.user_id == user.id,
                EmailToken.purpose == "verify_email",
                EmailToken.used_at.is_(None),
                func.lower(EmailToken.email) != user.email.lower(),
            )
            .values(used_at=self.clock())
        )

    async def _spend_reset_tokens(self, user: User) -> None:
        await self.db.execute(
            update(EmailToken)
            .where(EmailToken.user_id == user.id, EmailToken.purpose == "reset_password", EmailToken.used_at.is_(None))
            .values(used_at=self.clock())
        )
