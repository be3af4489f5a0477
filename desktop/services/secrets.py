"""Tokens in the OS keyring (Keychain, Windows Credential Manager, Secret Service, KWallet).

On a headless Linux box the only backend is often ``keyring``'s "fail" one; ``keyrings.alt`` would store secrets
in a plaintext file without saying so. In those cases this store keeps the tokens in memory for this run (the
user signs in again next time), never writes them to disk, and exposes a one-time warning for the UI. Keyring
errors at runtime (a locked or dismissed keyring) are handled the same way, with a warning in the log.

No Qt here: the store is used from worker threads through the ``TokenStore`` protocol.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import TYPE_CHECKING, Final

import keyring
import keyring.backends.fail
import keyring.backends.null
from keyring.backends.chainer import ChainerBackend
from keyring.errors import KeyringError, PasswordDeleteError

from desktop.core.auth import MemoryTokenStore, StoredTokens, token_key

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

__all__ = ["SERVICE_NAME", "KeyringTokenStore", "backend_is_insecure", "describe_backend"]

logger = logging.getLogger(__name__)

SERVICE_NAME: Final = "techpal"
# Backends that do not keep secrets safe: they fail, drop them, or write them as (weakly encoded) plaintext.
_INSECURE_CLASSES: Final = frozenset(
    {
        "keyring.backends.fail.Keyring",
        "keyring.backends.null.Keyring",
        "keyrings.alt.file.PlaintextKeyring",
        "keyrings.alt.file.EncryptedKeyring",  # a password prompt on stdin, unusable from a tray app
        "keyrings.alt.Gnome.Keyring",
        "keyrings.alt.Google.DocsKeyring",
        "keyrings.alt.multi.MultipartKeyringWrapper",
        "keyrings.alt.pyfs.PlaintextKeyring",
        "keyrings.alt.pyfs.EncryptedKeyring",
        "keyrings.alt.Windows.EncryptedKeyring",
        "keyrings.alt.Windows.RegistryKeyring",
    }
)
_INSECURE_MODULE_PREFIXES: Final = ("keyrings.alt", "keyrings.cryptfile")


def describe_backend(backend: KeyringBackend) -> str:
    """``module.Class`` of a backend, for logs and the warning text."""
    kind = type(backend)
    return f"{kind.__module__}.{kind.__qualname__}"


def _priority(backend: KeyringBackend) -> float:
    try:
        return float(backend.priority)
    except Exception:
        return -1.0


def backend_is_insecure(backend: KeyringBackend) -> bool:
    """Whether ``backend`` would fail, drop or store tokens in plaintext.

    A chainer (several backends tried in turn) is insecure when it is empty or any member is: when the good one
    fails (locked, dismissed), the chainer silently falls through to the next.
    """
    if isinstance(backend, ChainerBackend):
        members = list(backend.backends)
        return not members or any(backend_is_insecure(member) for member in members)
    if isinstance(backend, keyring.backends.fail.Keyring | keyring.backends.null.Keyring):
        return True
    name = describe_backend(backend)
    if name in _INSECURE_CLASSES or name.startswith(_INSECURE_MODULE_PREFIXES):
        return True
    return _priority(backend) < 1


class KeyringTokenStore:
    """:class:`~desktop.core.auth.TokenStore` on the OS keyring, with an in-memory fallback for this run.

    Args:
        backend: The keyring backend; the one ``keyring`` chose (``keyring.get_keyring()``) when omitted.
    """

    def __init__(self, backend: KeyringBackend | None = None) -> None:
        self._backend = backend if backend is not None else keyring.get_keyring()
        self._memory = MemoryTokenStore()
        self._lock = threading.Lock()
        self._insecure = backend_is_insecure(self._backend)
        self._fallback_reason: str | None = None
        self._warning_taken = False
        if self._insecure:
            self._fallback_reason = (
                "No secure password storage (keyring) is available on this computer, so you will need to sign in "
                "again next time Tech Pal starts. Your sign-in is kept in memory only, never written to disk."
            )
            logger.warning("keyring backend %s is not secure; tokens stay in memory", describe_backend(self._backend))

    @property
    def backend_name(self) -> str:
        """The active backend, e.g. ``keyring.backends.SecretService.Keyring``."""
        return describe_backend(self._backend)

    @property
    def insecure_backend(self) -> bool:
        """True when tokens are kept in memory only (insecure backend, or the keyring failed at runtime)."""
        return self._insecure

    @property
    def persistent(self) -> bool:
        """Whether the tokens are in the keyring, so the next start is still signed in."""
        return not self._insecure

    def take_warning(self) -> str | None:
        """The fallback warning for the UI, returned once per run (then ``None``), so the user is told once."""
        with self._lock:
            if self._fallback_reason is None or self._warning_taken:
                return None
            self._warning_taken = True
            return self._fallback_reason

    def load(self, server_url: str, account: str) -> StoredTokens | None:
        """See :meth:`desktop.core.auth.TokenStore.load`."""
        remembered = self._memory.load(server_url, account)
        if self._insecure or remembered is not None:
            return remembered
        try:
            secret = self._backend.get_password(SERVICE_NAME, token_key(server_url, account))
        except KeyringError as exc:
            self._fall_back(f"reading from the keyring failed: {exc}")
            return None
        if secret is None:
            return None
        tokens = _decode(secret)
        if tokens is not None:
            self._memory.save(server_url, account, tokens)  # one keyring read per run: it may prompt the user
        return tokens

    def save(self, server_url: str, account: str, tokens: StoredTokens) -> None:
        """See :meth:`desktop.core.auth.TokenStore.save`."""
        self._memory.save(server_url, account, tokens)
        if self._insecure:
            return
        secret = json.dumps({"access_token": tokens.access_token, "refresh_token": tokens.refresh_token})
        try:
            self._backend.set_password(SERVICE_NAME, token_key(server_url, account), secret)
        except KeyringError as exc:
            self._fall_back(f"writing to the keyring failed: {exc}")

    def clear(self, server_url: str, account: str) -> None:
        """See :meth:`desktop.core.auth.TokenStore.clear`."""
        self._memory.clear(server_url, account)
        if self._insecure:
            return
        try:
            self._backend.delete_password(SERVICE_NAME, token_key(server_url, account))
        except PasswordDeleteError:
            pass  # nothing stored: already signed out
        except KeyringError as exc:
            logger.warning("could not delete tokens from the keyring: %s", exc)

    def _fall_back(self, reason: str) -> None:
        logger.warning("%s; keeping tokens in memory for this run", reason)
        with self._lock:
            self._insecure = True
            if self._fallback_reason is None:
                self._fallback_reason = (
                    "Tech Pal couldn't use this computer's password storage (keyring), so you will need to sign in "
                    "again next time. Your sign-in is kept in memory only, never written to disk."
                )


def _decode(secret: str) -> StoredTokens | None:
    try:
        document = json.loads(secret)
        return StoredTokens(str(document["access_token"]), str(document["refresh_token"]))
    except (ValueError, KeyError, TypeError):
        logger.warning("ignoring an unreadable token entry in the keyring")
        return None
