"""Access tokens and random tokens: what a forger can and cannot do."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from server.lib.crypto import AccessTokenSigner, digest_token, new_token
from server.settings import Secret

KEY = Secret("unit-test-secret-key-" + "q" * 32)


def test_access_tokens_round_trip_until_they_expire() -> None:
    signer = AccessTokenSigner(KEY)
    session = uuid.uuid4()
    token = signer.issue(session, expires_at=1_000)
    assert token.startswith("tp1.")
    assert signer.read(token, now=999) == session
    assert signer.read(token, now=1_000) is None


def test_tokens_of_another_key_or_tampered_are_refused() -> None:
    signer = AccessTokenSigner(KEY)
    token = signer.issue(uuid.uuid4(), expires_at=2**40)
    assert AccessTokenSigner(Secret("a-different-secret-key-" + "w" * 32)).read(token, now=0) is None
    prefix, payload, mac = token.split(".")
    other_payload = AccessTokenSigner(KEY).issue(uuid.uuid4(), 2**40).split(".")[1]
    assert signer.read(f"{prefix}.{other_payload}.{mac}", now=0) is None
    assert signer.read(f"{prefix}.{payload}.{mac[:-1]}", now=0) is None


@pytest.mark.parametrize(
    "garbage", ["", ".", "tp1..", "tp1.a.b", "tp2.x.y", "a" * 10_000, "tp1.\x00.\udcff", "tp1.%%%.==="]
)
def test_garbage_never_raises(garbage: str) -> None:
    assert AccessTokenSigner(KEY).read(garbage, now=0) is None


def test_random_tokens_are_long_unique_and_stored_hashed() -> None:
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(len(t) >= 43 and t.replace("-", "").replace("_", "").isalnum() for t in tokens)
    token = next(iter(tokens))
    assert digest_token(token) == hashlib.sha256(token.encode()).digest()
    assert len(digest_token("\udcff")) == 32  # odd input from a hostile body does not crash hashing
