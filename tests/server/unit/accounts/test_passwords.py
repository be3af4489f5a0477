"""The password policy (OWASP): length, common passwords, the account's own identifiers."""

from __future__ import annotations

import pytest

from server.domain.accounts.passwords import _common_passwords, password_problem


def test_the_common_password_list_is_substantial() -> None:
    common = _common_passwords()
    assert len(common) > 3000
    assert {"password", "123456", "qwerty", "iloveyou", "password123"} <= common


@pytest.mark.parametrize(
    ("password", "accepted"),
    [
        ("correct horse battery staple", True),
        ("Tr0ub4dor&3-extended", True),
        ("ünïcødé-pässwörd-ok", True),
        ("nine-char", False),
        ("PASSWORD123", False),
        ("1234567890", False),
        ("aaaaaaaaaa", False),
        ("Football2024!", False),
        ("grace.hopper-rocks", False),  # contains the username
        ("xx-grace@example.com", False),  # contains the e-mail
        ("x" * 1025, False),
    ],
)
def test_policy(password: str, accepted: bool) -> None:
    problem = password_problem(password, email="grace@example.com", username="grace.hopper")
    assert (problem is None) is accepted, problem
