"""API keys: their format, their stored form and the scopes a route may accept them for.

A key is ``tp_`` + 43 random base62 characters (256 bits) + a 6-character base62 CRC32 of those characters. The
fixed shape and checksum let secret scanners recognise a leaked key and turn away a mistyped one before any
database lookup. The database keeps only ``HMAC-SHA-256(derived key, key)`` — a copy of the database alone cannot
test guesses — and the first 8 characters after ``tp_`` to show the key by. The random part is drawn as base62
characters directly, so base62 is needed only for a 32-bit checksum: six lines, not a dependency.
"""

from __future__ import annotations

import hmac
import re
import secrets
import string
import zlib
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from server.settings import Secret

__all__ = [
    "KEY_PREFIX",
    "SCOPES",
    "ApiKeyHasher",
    "Scope",
    "accepts_api_key",
    "api_key_scope",
    "display_prefix",
    "looks_like_api_key",
    "new_api_key",
    "well_formed",
]

Scope = Literal["tickets:read", "tickets:write", "kb:read"]
SCOPES: tuple[Scope, ...] = get_args(Scope)

KEY_PREFIX = "tp_"
_ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
_RANDOM_CHARS = 43  # 62**43 > 2**256
_CHECKSUM_CHARS = 6  # 62**6 > 2**32
_SHAPE = re.compile(rf"tp_[0-9A-Za-z]{{{_RANDOM_CHARS + _CHECKSUM_CHARS}}}")
_OPT_KEY = "api_key_scope"


def _checksum(random_part: str) -> str:
    value = zlib.crc32(random_part.encode("ascii"))
    digits = []
    for _ in range(_CHECKSUM_CHARS):
        value, digit = divmod(value, 62)
        digits.append(_ALPHABET[digit])
    return "".join(reversed(digits))


def new_api_key() -> str:
    """A fresh key: ``tp_`` + 43 random base62 characters + their checksum."""
    random_part = "".join(secrets.choice(_ALPHABET) for _ in range(_RANDOM_CHARS))
    return f"{KEY_PREFIX}{random_part}{_checksum(random_part)}"


def looks_like_api_key(token: str) -> bool:
    """Whether a bearer token is meant as an API key (rather than an access token) — not whether it is valid."""
    return token.startswith(KEY_PREFIX)


def well_formed(key: str) -> bool:
    """The shape and checksum hold (a typo fails here, before the database is asked)."""
    if not _SHAPE.fullmatch(key):
        return False
    random_part, checksum = key[3 : 3 + _RANDOM_CHARS], key[3 + _RANDOM_CHARS :]
    return hmac.compare_digest(_checksum(random_part), checksum)


def display_prefix(key: str) -> str:
    """What a key is shown by once made: the first 8 characters after ``tp_``."""
    return key[3:11]


class ApiKeyHasher:
    """The keyed hash the database stores for a key (HMAC-SHA-256 under a key derived from the server's secret)."""

    def __init__(self, secret_key: Secret) -> None:
        self._key = hmac.digest(secret_key.get_secret_value().encode(), b"techpal/api-key/v1", "sha256")

    def digest(self, key: str) -> bytes:
        """32 bytes identifying ``key`` (a well-formed key is ASCII)."""
        return hmac.digest(self._key, key.encode("ascii", "replace"), "sha256")


def accepts_api_key(scope: Scope) -> dict[str, Any]:
    """A route's ``opt``: it accepts an API key that has ``scope``. Routes without it want a signed-in session."""
    return {_OPT_KEY: scope}


def api_key_scope(opt: dict[str, Any]) -> Scope | None:
    """The scope a route's ``opt`` accepts API keys for, or ``None`` (sessions only)."""
    scope = opt.get(_OPT_KEY)
    return scope if scope in SCOPES else None
