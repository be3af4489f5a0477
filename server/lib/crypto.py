"""Key material and token primitives.

The server's secret key is generated once for the embedded default and kept private on disk. Access tokens are a
compact signed format of our own (``tp1.<payload>.<mac>``, HMAC-SHA256 under a key derived from the secret key);
every other token (refresh, verification, reset) is 32 random bytes that the database only ever sees hashed. The
few secrets the server must read back (TOTP secrets) are sealed with AES-256-GCM under another derived key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import struct
import uuid
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from server.settings import Secret

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "SECRET_KEY_FILE",
    "AccessTokenSigner",
    "SecretSealer",
    "digest_token",
    "load_or_create_secret_key",
    "new_token",
]

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret


def load_or_create_secret_key(data_dir: Path) -> Secret:
    """Return the key stored in ``data_dir``, creating it (mode 0600) on first use.

    Reusing it across restarts keeps signed tokens valid, so a restart logs no one out.
    """
    path = data_dir / SECRET_KEY_FILE
    try:
        # O_EXCL: two processes starting at once must not both write (and disagree on) the key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip()
        if len(key) < 32:
            raise RuntimeError(f"{path} is empty or damaged; delete it to generate a new key") from None
        return Secret(key)
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(secrets.token_urlsafe(48))
    return Secret(path.read_text(encoding="ascii").strip())


def new_token() -> str:
    """A fresh unguessable token: 32 random bytes, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def digest_token(token: str) -> bytes:
    """What the database stores instead of a random token: SHA-256 (enough for 256 random bits; no salt needed)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class AccessTokenSigner:
    """Issue and check access tokens that name a session and an expiry (Unix seconds).

    The token proves only "the server issued this for session X until T"; callers must still check that the session
    is live, which is what makes revocation immediate.
    """

    PREFIX = "tp1"
    _PAYLOAD = struct.Struct(">16sQ")

    def __init__(self, secret_key: Secret, *, purpose: str = "access-token") -> None:
        # A key of its own per purpose (domain separation): a MAC made for another purpose never passes here, so
        # the console's session cookie (purpose "console-session") is no API bearer token, nor the reverse.
        label = f"techpal/{purpose}/v1".encode()
        self._key = hmac.digest(secret_key.get_secret_value().encode(), label, "sha256")

    def issue(self, session_id: uuid.UUID, expires_at: int) -> str:
        """Sign ``session_id`` valid until ``expires_at``."""
        payload = _b64(self._PAYLOAD.pack(session_id.bytes, expires_at))
        return f"{self.PREFIX}.{payload}.{self._mac(payload)}"

    def read(self, token: str, now: int) -> uuid.UUID | None:
        """The session id of a genuine, unexpired token, else ``None`` (never raises on garbage)."""
        parts = token.split(".")
        if len(token) > 200 or not token.isascii() or len(parts) != 3 or parts[0] != self.PREFIX:
            return None
        payload, mac = parts[1], parts[2]
        if not hmac.compare_digest(self._mac(payload), mac):
            return None
        try:
            session_bytes, expires_at = self._PAYLOAD.unpack(_unb64(payload))
        except (ValueError, struct.error):
            return None
        return uuid.UUID(bytes=session_bytes) if expires_at > now else None

    def _mac(self, payload: str) -> str:
        return _b64(hmac.digest(self._key, f"{self.PREFIX}.{payload}".encode("ascii", "replace"), "sha256"))


class SecretSealer:
    """Seal small secrets the server must read back, bound to what they belong to (``context``, e.g. a user id).

    AES-256-GCM with a random 96-bit nonce under a key of its own derived from the secret key: a copy of the
    database alone reveals no TOTP secret, and a sealed value copied to another row does not open there.
    """

    _NONCE_BYTES = 12

    def __init__(self, secret_key: Secret) -> None:
        key = hmac.digest(secret_key.get_secret_value().encode(), b"techpal/sealed-secret/v1", "sha256")
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        """``nonce || ciphertext || tag``."""
        nonce = os.urandom(self._NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, context)

    def open(self, sealed: bytes, context: bytes) -> bytes | None:
        """The plaintext, or ``None`` when ``sealed`` was not sealed by this key for ``context``."""
        nonce, ciphertext = sealed[: self._NONCE_BYTES], sealed[self._NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, ciphertext, context)
        except (InvalidTag, ValueError):
            return None
