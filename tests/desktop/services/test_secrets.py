"""Tokens in the keyring, and the in-memory fallback when the keyring would not keep them safe."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

import keyring
import keyring.backends.fail
import keyring.backends.null
import pytest
from keyring.backend import KeyringBackend
from keyring.backends.chainer import ChainerBackend
from keyring.errors import KeyringError, PasswordDeleteError, PasswordSetError

from desktop.core.auth import StoredTokens, TokenStore
from desktop.services.secrets import SERVICE_NAME, KeyringTokenStore, backend_is_insecure

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

SERVER = "https://help.example.com"
ACCOUNT = "user-1"
PAIR = StoredTokens("access-secret-1", "refresh-secret-1")


class MemoryKeyring(KeyringBackend):
    """A secure-looking backend that keeps passwords in a dict (what the OS keyring would do)."""

    priority = 5

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.passwords: dict[tuple[str, str], str] = {}
        self.fail_writes = False

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.fail_writes:
            raise PasswordSetError("the keyring is locked")
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.passwords:
            raise PasswordDeleteError("not found")
        del self.passwords[(service, username)]


class LockedKeyring(MemoryKeyring):
    """Reading raises, as a locked Secret Service whose unlock prompt was dismissed does."""

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringError("unlock dismissed")


class PlaintextFileKeyring(MemoryKeyring):
    """Stands in for ``keyrings.alt.file.PlaintextKeyring`` (low priority, writes a file)."""

    priority = 0.5  # type: ignore[assignment]


@pytest.fixture
def backend() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    test_backend = MemoryKeyring()
    keyring.set_keyring(test_backend)
    yield test_backend
    keyring.set_keyring(previous)


def test_tokens_round_trip_through_the_active_keyring(backend: MemoryKeyring) -> None:
    store = KeyringTokenStore()

    store.save(SERVER, ACCOUNT, PAIR)

    assert isinstance(store, TokenStore)
    assert not store.insecure_backend
    assert store.take_warning() is None
    assert json.loads(backend.passwords[(SERVICE_NAME, f"{ACCOUNT}@{SERVER}")]) == {
        "access_token": "access-secret-1",
        "refresh_token": "refresh-secret-1",
    }
    assert KeyringTokenStore().load(SERVER, ACCOUNT) == PAIR  # a new run reads it back


def test_accounts_and_servers_do_not_share_tokens(backend: MemoryKeyring) -> None:
    store = KeyringTokenStore()
    store.save(SERVER, ACCOUNT, PAIR)

    assert KeyringTokenStore().load(SERVER, "user-2") is None
    assert KeyringTokenStore().load("https://other.example.com", ACCOUNT) is None


def test_clear_removes_the_entry_and_clearing_twice_is_fine(backend: MemoryKeyring) -> None:
    store = KeyringTokenStore()
    store.save(SERVER, ACCOUNT, PAIR)

    store.clear(SERVER, ACCOUNT)
    store.clear(SERVER, ACCOUNT)

    assert backend.passwords == {}
    assert store.load(SERVER, ACCOUNT) is None
    assert KeyringTokenStore().load(SERVER, ACCOUNT) is None


def test_the_repr_of_tokens_never_shows_them() -> None:
    assert "secret" not in repr(PAIR)


@pytest.mark.parametrize(
    "insecure",
    [
        keyring.backends.fail.Keyring(),  # type: ignore[no-untyped-call]
        keyring.backends.null.Keyring(),  # type: ignore[no-untyped-call]
        PlaintextFileKeyring(),
        type("NoMembers", (ChainerBackend,), {"backends": []})(),
    ],
    ids=["fail", "null", "low-priority-plaintext", "empty-chainer"],
)
def test_insecure_backends_keep_tokens_in_memory_and_warn_once(
    insecure: KeyringBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    with caplog.at_level(logging.WARNING):
        store = KeyringTokenStore(insecure)

    store.save(SERVER, ACCOUNT, PAIR)

    assert store.insecure_backend
    assert backend_is_insecure(insecure)
    assert store.load(SERVER, ACCOUNT) == PAIR  # works for this run
    warning = store.take_warning()
    assert warning is not None
    assert "sign in again" in warning
    assert store.take_warning() is None  # once
    assert "not secure" in caplog.text
    if isinstance(insecure, PlaintextFileKeyring):
        assert insecure.passwords == {}  # never handed to the plaintext backend
    assert list(tmp_path.iterdir()) == []


def test_a_class_from_keyrings_alt_is_insecure_whatever_its_priority() -> None:
    fake_alt = type("PlaintextKeyring", (MemoryKeyring,), {"__module__": "keyrings.alt.file", "priority": 10})

    assert backend_is_insecure(fake_alt())


def test_a_chainer_with_a_plaintext_member_is_insecure() -> None:
    mixed = type("Mixed", (ChainerBackend,), {"backends": [MemoryKeyring(), PlaintextFileKeyring()]})
    secure = type("Secure", (ChainerBackend,), {"backends": [MemoryKeyring()]})

    assert backend_is_insecure(mixed())
    assert not backend_is_insecure(secure())


def test_a_keyring_that_fails_to_write_falls_back_to_memory_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    backend = MemoryKeyring()
    backend.fail_writes = True
    store = KeyringTokenStore(backend)

    with caplog.at_level(logging.WARNING):
        store.save(SERVER, ACCOUNT, PAIR)

    assert store.load(SERVER, ACCOUNT) == PAIR
    assert store.insecure_backend
    assert store.take_warning() is not None
    assert "keyring is locked" in caplog.text


def test_a_locked_keyring_on_read_means_signed_out_not_a_crash() -> None:
    store = KeyringTokenStore(LockedKeyring())

    assert store.load(SERVER, ACCOUNT) is None
    assert store.take_warning() is not None


def test_a_garbled_keyring_entry_means_signed_out() -> None:
    backend = MemoryKeyring()
    backend.passwords[(SERVICE_NAME, f"{ACCOUNT}@{SERVER}")] = "not json"

    assert KeyringTokenStore(backend).load(SERVER, ACCOUNT) is None
