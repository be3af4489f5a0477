"""Password hashing (argon2id, off the event loop) and the password policy (OWASP ASVS 2.1)."""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
import argon2
from argon2.exceptions import InvalidHashError, VerificationError

if TYPE_CHECKING:
    from server.settings import Argon2Params

__all__ = ["MIN_LENGTH", "PasswordHasher", "password_problem"]

MIN_LENGTH = 10
MAX_LENGTH = 1024  # long enough for any passphrase, short enough that hashing it is no attack
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent / "data" / "common-passwords.txt"
# Each argon2id hash holds its memory cost (46 MiB by default) while it runs: bound how many run at once.
MAX_CONCURRENT_HASHES = 4


class PasswordHasher:
    """argon2id with our parameters, run in worker threads so other requests keep flowing.

    ``computed`` counts hashes actually computed (hash or verify): the throttling tests read it to prove a throttled
    login never reaches argon2.
    """

    def __init__(self, params: Argon2Params) -> None:
        self.params = params
        self._hasher = argon2.PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_cost_kib,
            parallelism=params.parallelism,
            type=argon2.Type.ID,
        )
        self._limiter = anyio.CapacityLimiter(MAX_CONCURRENT_HASHES)
        self._lock = threading.Lock()
        self._dummy: str | None = None
        self.computed = 0

    def _count(self) -> None:
        with self._lock:
            self.computed += 1

    def _hash_sync(self, password: str) -> str:
        self._count()
        return self._hasher.hash(password)

    def _verify_sync(self, encoded: str, password: str) -> bool:
        self._count()
        try:
            return self._hasher.verify(encoded, password)
        except (VerificationError, InvalidHashError):
            return False

    async def hash(self, password: str) -> str:
        """The encoded argon2id hash of ``password``."""
        return await anyio.to_thread.run_sync(self._hash_sync, password, limiter=self._limiter)

    async def verify(self, encoded: str | None, password: str) -> bool:
        """Whether ``password`` matches ``encoded`` (never raises on a bad hash; ``None``, no password, never matches).

        An account without a password takes as long to refuse as one with: no timing oracle for how it signs in.
        """
        if encoded is None:
            await self.verify_nobody(password)
            return False
        return await anyio.to_thread.run_sync(self._verify_sync, encoded, password, limiter=self._limiter)

    async def verify_nobody(self, password: str) -> None:
        """Spend the time a real verification takes, for logins naming no account (no timing oracle)."""
        if self._dummy is None:
            self._dummy = await self.hash("not a real account's password")
        await self.verify(self._dummy, password)

    def needs_rehash(self, encoded: str) -> bool:
        """Whether ``encoded`` was made with other parameters than ours (rehash it at the next login)."""
        try:
            return self._hasher.check_needs_rehash(encoded)
        except InvalidHashError:
            return True


@functools.cache
def _common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str, *, email: str, username: str) -> str | None:
    """Why ``password`` is not acceptable for this account, or ``None``.

    OWASP: at least 10 characters (no composition rules), not a known common password, and not the account's own
    identifiers.
    """
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.lower()
    if lowered in _common_passwords() or lowered.strip("0123456789!@#$%.") in _common_passwords():
        return "This password is one of the most common ones; choose another."
    local_part = email.lower().partition("@")[0]
    for identifier in (email.lower(), username.lower(), local_part):
        if len(identifier) >= 3 and identifier in lowered:
            return "The password must not contain your e-mail address or username."
    return None
