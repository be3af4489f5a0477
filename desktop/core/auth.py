"""Where the signed-in session's tokens live, behind one small protocol.

Tokens are keyed by server and account, so signing in to a second server (or as a second user) never overwrites
the first. The real store is the OS keyring (``desktop.services.secrets.KeyringTokenStore``); tokens are never
written to a settings file or anywhere else on disk.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["MemoryTokenStore", "StoredTokens", "TokenStore", "token_key"]


@dataclass(frozen=True, slots=True)
class StoredTokens:
    """An access/refresh pair as persisted. ``repr`` hides the secrets so they never end up in a log."""

    access_token: str
    refresh_token: str

    def __repr__(self) -> str:
        return "StoredTokens(access_token=***, refresh_token=***)"


def token_key(server_url: str, account: str) -> str:
    """The keyring "username" for one account on one server, e.g. ``"alice@https://help.example.com"``."""
    return f"{account}@{server_url.rstrip('/')}"


@runtime_checkable
class TokenStore(Protocol):
    """Load, save and forget the tokens of ``account`` on ``server_url``. Implementations must be thread-safe."""

    @property
    def persistent(self) -> bool:
        """Whether saved tokens outlive this run (else the next start signs in afresh)."""
        ...

    def load(self, server_url: str, account: str) -> StoredTokens | None:
        """The stored pair, or ``None`` when signed out."""
        ...

    def save(self, server_url: str, account: str, tokens: StoredTokens) -> None:
        """Replace the stored pair (after login or a refresh rotation)."""
        ...

    def clear(self, server_url: str, account: str) -> None:
        """Forget the pair (sign-out); clearing an absent pair is fine."""
        ...


class MemoryTokenStore:
    """Tokens for this run only: for tests, and the fallback when the keyring would store them in plaintext."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, StoredTokens] = {}

    @property
    def persistent(self) -> bool:
        """Never: the tokens go with the process."""
        return False

    def load(self, server_url: str, account: str) -> StoredTokens | None:
        """See :meth:`TokenStore.load`."""
        with self._lock:
            return self._tokens.get(token_key(server_url, account))

    def save(self, server_url: str, account: str, tokens: StoredTokens) -> None:
        """See :meth:`TokenStore.save`."""
        with self._lock:
            self._tokens[token_key(server_url, account)] = tokens

    def clear(self, server_url: str, account: str) -> None:
        """See :meth:`TokenStore.clear`."""
        with self._lock:
            self._tokens.pop(token_key(server_url, account), None)
