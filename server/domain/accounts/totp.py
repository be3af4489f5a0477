"""Time-based one-time codes and recovery codes.

Codes follow RFC 6238 with SHA-1, 6 digits and 30-second steps: what every authenticator app expects.
A code is accepted in the step it belongs to or one step either side (clock drift between phone and server), and
the caller records the step it matched so the same code never works twice.
"""

from __future__ import annotations

import hmac
import secrets
from typing import TYPE_CHECKING

import pyotp

from server.lib.crypto import digest_token

if TYPE_CHECKING:
    import datetime

__all__ = [
    "ISSUER",
    "RECOVERY_CODES",
    "is_totp_code",
    "matching_step",
    "new_recovery_codes",
    "new_secret",
    "otpauth_uri",
    "recovery_code_digest",
]

ISSUER = "Tech Pal"
STEP_S = 30
DRIFT_STEPS = 1
RECOVERY_CODES = 10
# No 0/o, 1/l/i: codes are read off paper. 10 characters of 31 ≈ 50 bits, enough for a code that also needs the
# password and is throttled.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_HALF = 5


def new_secret() -> str:
    """A fresh 160-bit secret in base32 (RFC 4226's recommended length)."""
    return pyotp.random_base32(32)


def otpauth_uri(secret: str, account: str) -> str:
    """The ``otpauth://totp/…`` URI authenticator apps read from a QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def is_totp_code(raw: str) -> bool:
    """Whether ``raw`` looks like a 6-digit code (spaces allowed) rather than a recovery code."""
    digits = raw.replace(" ", "")
    return len(digits) == 6 and digits.isascii() and digits.isdigit()


def matching_step(secret: str, code: str, now: datetime.datetime) -> int | None:
    """The time step ``code`` is valid for, within one step of ``now``; ``None`` when it is valid for none."""
    if not is_totp_code(code):
        return None
    digits = code.replace(" ", "")
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_S
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), digits):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Ten single-use codes like ``k7m2p-x9qtr``."""
    codes = []
    for _ in range(RECOVERY_CODES):
        chars = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(2 * _RECOVERY_HALF))
        codes.append(f"{chars[:_RECOVERY_HALF]}-{chars[_RECOVERY_HALF:]}")
    return codes


def recovery_code_digest(raw: str) -> bytes:
    """What the database keeps of a recovery code: the SHA-256 of its normalised form (case, dashes, spaces)."""
    normalised = "".join(ch for ch in raw.lower() if ch not in "- ")
    return digest_token(normalised)
