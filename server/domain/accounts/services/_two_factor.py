"""Use cases of two-step sign-in: set up and turn off TOTP, and the challenge a sign-in answers with a code.

A sign-in whose first factor (password or Google) passed, for an account with two-step sign-in on, gets a challenge
instead of tokens: an opaque single-use token, valid 5 minutes and for 5 codes. Wrong codes count against a
per-account throttle too (``OTP_ACCOUNT``, with back-off), so asking for new challenges buys an attacker nothing.

Turning it on proves the owner is at the keyboard, not just someone holding a stolen access token (who could
otherwise put their own authenticator on the account, and a password reset leaves it on): the password, or for an
account without one (made by Google sign-in) a sign-in of the last ``RECENT_SIGN_IN``.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, or_, select, update

from server.db.models import LoginChallenge, TwoFactor, User, UserSession, recovery_codes
from server.db.transactions import session_of_its_own, transaction_of_its_own
from server.domain.accounts import totp
from server.domain.accounts.schemas import RecoveryCodes, TotpSetup
from server.domain.accounts.services._base import LOGIN_IP, OTP_ACCOUNT, logger
from server.domain.accounts.services._sessions import SessionFlows
from server.lib.crypto import digest_token, new_token
from server.lib.exceptions import Conflict, FieldError, NotAuthenticated, PermissionDenied, ValidationFailed

if TYPE_CHECKING:
    from server.domain.accounts.schemas import TokenPair
    from server.domain.accounts.services._base import Principal

__all__ = ["CHALLENGE_TTL", "MAX_CODE_ATTEMPTS", "RECENT_SIGN_IN", "OtpRequired", "TwoFactorFlows"]

CHALLENGE_TTL = datetime.timedelta(minutes=5)
MAX_CODE_ATTEMPTS = 5
RECENT_SIGN_IN = datetime.timedelta(minutes=5)  # stands in for the password of an account without one


class OtpRequired(NotAuthenticated):
    """401 ``otp_required`` with ``challenge``: send it with a code to ``POST /api/v1/auth/login/otp``."""

    default_code = "otp_required"
    title = "Code required"
    exposes_extra = True


class InvalidOtp(NotAuthenticated):
    """401 ``invalid_otp`` at sign-in, with ``attempts_left`` on the challenge."""

    default_code = "invalid_otp"
    title = "Wrong code"
    exposes_extra = True


def _challenge_expired(detail: str = "This sign-in has expired; please sign in again.") -> NotAuthenticated:
    return NotAuthenticated(detail, code="challenge_expired")


def _wrong_code() -> ValidationFailed:
    message = "That code is not right. Enter the current 6-digit code from your authenticator app."
    return ValidationFailed(message, code="invalid_otp", errors=[FieldError("code", "wrong or expired code")])


class TwoFactorFlows(SessionFlows):
    """TOTP set-up, the sign-in challenge, and turning it off."""

    # ------------------------------------------------------------------------------------------ set up, turn off
    async def start_totp(self, principal: Principal) -> TotpSetup:
        """A new pending secret (replacing an unconfirmed one); 409 ``two_factor_enabled`` when already on.

        An account without a password needs a recent sign-in here already (as :meth:`confirm_totp` does), so its
        owner is told before scanning a code that could not be confirmed.
        """
        user = principal.user
        row = await self._two_factor(user)
        if row is not None and row.confirmed_at is not None:
            raise Conflict("Two-step sign-in is already on.", code="two_factor_enabled")
        if user.password_hash is None:
            await self._ensure_recent_sign_in(principal)
        secret = totp.new_secret()
        sealed = self.sealer.seal(secret.encode("ascii"), user.id.bytes)
        if row is None:
            self.db.add(TwoFactor(user_id=user.id, sealed_secret=sealed))
        else:
            row.sealed_secret, row.last_step = sealed, None
        await self.db.flush()
        return TotpSetup(secret=secret, otpauth_uri=totp.otpauth_uri(secret, user.email))

    async def confirm_totp(
        self, principal: Principal, code: str, current_password: str | None, client_ip: str
    ) -> RecoveryCodes:
        """Turn two-step sign-in on with a code from the pending secret; the recovery codes, shown this once.

        The password is asked again (403 ``reauthentication_required`` without it): a stolen access token must not
        be able to put its thief's authenticator on the account and lock the owner out. An account without a
        password needs the calling session to be a sign-in of the last ``RECENT_SIGN_IN`` instead.
        """
        user = principal.user
        row = await self._two_factor(user)
        if row is None or row.confirmed_at is not None:
            raise Conflict("Start setting up two-step sign-in first.", code="two_factor_not_pending")
        if user.password_hash is None:
            await self._ensure_recent_sign_in(principal)
        elif current_password is None:
            raise PermissionDenied("Enter your password to turn on two-step sign-in.", code="reauthentication_required")
        else:
            await self.confirm_password(user, current_password, client_ip)
        await self.limiter.hit(OTP_ACCOUNT, str(user.id))
        if not totp.is_totp_code(code) or not await self._accept_totp(row, user, code):
            raise _wrong_code()
        await self.limiter.forgive(OTP_ACCOUNT, str(user.id), reset=True)
        row.confirmed_at = self.clock()
        codes = totp.new_recovery_codes()
        await self.db.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user.id))
        await self.db.execute(
            insert(recovery_codes), [{"user_id": user.id, "code_hash": totp.recovery_code_digest(c)} for c in codes]
        )
        await self._revoke(UserSession.user_id == user.id, UserSession.id != principal.session)
        await self.db.flush()
        logger.info("two_factor_enabled", user_id=str(user.id))
        return RecoveryCodes(recovery_codes=codes)

    async def _ensure_recent_sign_in(self, principal: Principal) -> None:
        """403 ``reauthentication_required`` unless the calling session began (a sign-in) within ``RECENT_SIGN_IN``.

        A session's ``created_at`` is its sign-in: refreshing its tokens does not move it.
        """
        signed_in_at = await self.db.scalar(select(UserSession.created_at).where(UserSession.id == principal.session))
        if signed_in_at is None or self.clock() - signed_in_at > RECENT_SIGN_IN:
            raise PermissionDenied(
                "For your safety, turning on two-step sign-in needs a fresh sign-in: sign out, sign in with Google "
                "again, and turn it on within 5 minutes.",
                code="reauthentication_required",
            )

    async def disable_totp(self, principal: Principal, password: str, code: str, client_ip: str) -> None:
        """Turn two-step sign-in off: the password and a current code (or a recovery code) prove it is the owner."""
        user = principal.user
        row = await self._two_factor(user)
        if row is None or row.confirmed_at is None:
            raise Conflict("Two-step sign-in is not on.", code="two_factor_disabled")
        await self.confirm_password(user, password, client_ip)
        await self.limiter.hit(OTP_ACCOUNT, str(user.id))
        if not await self._accept_code(row, user, code):
            raise _wrong_code()
        await self.limiter.forgive(OTP_ACCOUNT, str(user.id), reset=True)
        await self.db.delete(row)
        await self.db.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user.id))
        logger.warning("two_factor_disabled", user_id=str(user.id))

    # ------------------------------------------------------------------------------------------ sign-in
    async def _second_factor(
        self, user: User, device_name: str, code: str | None, client_ip: str, *, link_google: str | None = None
    ) -> None:
        """Return when the sign-in may open a session; else raise ``otp_required`` (a challenge) or ``invalid_otp``.

        ``link_google``: a Google subject to link when the challenge is answered (a first Google sign-in to an
        account with two-step sign-in on links only once the code proves it is the owner).
        """
        row = await self._two_factor(user)
        if row is None or row.confirmed_at is None:
            return
        if code:
            await self._check_sign_in_code(row, user, code, client_ip)
            return
        token = new_token()
        async with session_of_its_own(self.limiter.engine) as own:  # it must outlive this request's 401
            own.add(
                LoginChallenge(
                    user_id=user.id,
                    token_hash=digest_token(token),
                    device_name=device_name[:200],
                    expires_at=self.clock() + CHALLENGE_TTL,
                    link_google_subject=link_google,
                )
            )
        raise OtpRequired("Enter the code from your authenticator app.", challenge=token)

    async def login_with_code(self, challenge: str, code: str, client_ip: str) -> TokenPair:
        """Answer a sign-in challenge with a TOTP or recovery code: a session, as ``login`` opens one."""
        attempt = await self._reserve_attempt(challenge)
        if attempt is None:
            await self.limiter.hit(LOGIN_IP, client_ip)  # guessing challenges costs like guessing passwords
            raise _challenge_expired()
        user = await self.db.get_one(User, attempt.user_id)
        self._ensure_may_sign_in(user)
        row = await self._two_factor(user)
        if row is None or row.confirmed_at is None:  # turned off meanwhile: sign in again
            raise _challenge_expired()
        try:
            await self._check_sign_in_code(row, user, code, client_ip)
        except InvalidOtp:
            left = MAX_CODE_ATTEMPTS - attempt.attempts
            if left <= 0:
                raise _challenge_expired("Too many wrong codes; please sign in again.") from None
            raise InvalidOtp(
                "That code is not right. Check your authenticator app and try again.", attempts_left=left
            ) from None
        claimed = await self.db.execute(
            update(LoginChallenge)
            .where(LoginChallenge.id == attempt.id, LoginChallenge.used_at.is_(None))
            .values(used_at=self.clock(), link_google_subject=None)
            .returning(LoginChallenge.id)
        )
        if claimed.one_or_none() is None:  # answered by a concurrent request, or ended by a recovery step
            raise _challenge_expired()
        if attempt.link_google_subject is not None and user.google_subject is None:
            user.google_subject = attempt.link_google_subject
            logger.info("google_linked", user_id=str(user.id))
        return await self._open_session(user, attempt.device_name)

    async def _reserve_attempt(self, challenge: str) -> Any:
        """Count one attempt on a live challenge before its code is checked (committed whatever the answer).

        One atomic statement: concurrent requests cannot get more than ``MAX_CODE_ATTEMPTS`` tries between them.
        ``None`` for an unknown, used, expired or exhausted challenge.
        """
        async with transaction_of_its_own(self.limiter.engine) as own:
            reserved = await own.execute(
                update(LoginChallenge)
                .where(
                    LoginChallenge.token_hash == digest_token(challenge),
                    LoginChallenge.used_at.is_(None),
                    LoginChallenge.expires_at > self.clock(),
                    LoginChallenge.attempts < MAX_CODE_ATTEMPTS,
                )
                .values(attempts=LoginChallenge.attempts + 1)
                .returning(
                    LoginChallenge.id,
                    LoginChallenge.user_id,
                    LoginChallenge.attempts,
                    LoginChallenge.device_name,
                    LoginChallenge.link_google_subject,
                )
            )
            return reserved.one_or_none()

    async def _check_sign_in_code(self, row: TwoFactor, user: User, code: str, client_ip: str) -> None:
        account = str(user.id)
        await self.limiter.hit(LOGIN_IP, client_ip)
        await self.limiter.hit(OTP_ACCOUNT, account)
        if not await self._accept_code(row, user, code):
            logger.info("otp_failed", user_id=account)
            raise InvalidOtp("That code is not right. Check your authenticator app and try again.")
        await self.limiter.forgive(OTP_ACCOUNT, account, reset=True)
        await self.limiter.forgive(LOGIN_IP, client_ip)

    # ------------------------------------------------------------------------------------------ codes
    async def _accept_code(self, row: TwoFactor, user: User, code: str) -> bool:
        """Spend ``code``: a TOTP code of a step after the last one used, or an unused recovery code."""
        if totp.is_totp_code(code):
            return await self._accept_totp(row, user, code)
        spent = await self.db.execute(
            update(recovery_codes)
            .where(
                recovery_codes.c.user_id == user.id,
                recovery_codes.c.code_hash == totp.recovery_code_digest(code[:64]),
                recovery_codes.c.used_at.is_(None),
            )
            .values(used_at=self.clock())
            .returning(recovery_codes.c.code_hash)
        )
        if spent.one_or_none() is None:
            return False
        logger.info("recovery_code_used", user_id=str(user.id))
        return True

    async def _accept_totp(self, row: TwoFactor, user: User, code: str) -> bool:
        secret = self.sealer.open(row.sealed_secret, user.id.bytes)
        if secret is None:
            logger.error("totp_secret_unreadable", user_id=str(user.id))  # another secret key: set it up again
            return False
        step = totp.matching_step(secret.decode("ascii"), code, self.clock())
        if step is None:
            return False
        # Atomic: of two requests with the same code, the second finds the step spent (it waits for the row lock).
        spent = await self.db.execute(
            update(TwoFactor)
            .where(TwoFactor.id == row.id, or_(TwoFactor.last_step.is_(None), TwoFactor.last_step < step))
            .values(last_step=step)
            .returning(TwoFactor.id)
            .execution_options(synchronize_session=False)
        )
        if spent.one_or_none() is None:
            return False
        row.last_step = step
        return True
