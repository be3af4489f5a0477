"""The server's password rules, as the app shows them before a password is sent.

The server decides (``server/domain/accounts/passwords.py``: at least 10 characters, not a common password, not
the account's e-mail address or username); the app lists the same rules and ticks those it can check while the
user types. The common-passwords list stays on the server, so that rule is checked there only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = ["MIN_LENGTH", "PASSWORD_RULES", "PasswordRule", "RuleState", "rule_states"]

MIN_LENGTH: Final = 10


class RuleState(StrEnum):
    """Whether a typed password keeps a rule."""

    MET = "met"
    UNMET = "unmet"
    SERVER = "server"  # only the server can tell


@dataclass(frozen=True, slots=True)
class PasswordRule:
    """One rule: its key and the sentence the app shows."""

    key: str
    text: str


PASSWORD_RULES: Final = (
    PasswordRule("length", f"At least {MIN_LENGTH} characters (a few words are easy to remember)"),
    PasswordRule("common", "Not one of the most common passwords"),
    PasswordRule("identity", "Without your e-mail address or username in it"),
)


def rule_states(password: str, *, email: str, username: str) -> dict[str, RuleState]:
    """Each rule's state for ``password`` of the account with ``email`` and ``username``."""
    lowered = password.lower()
    email = email.lower()
    identifiers = [i for i in (email, username.lower(), email.partition("@")[0]) if len(i) >= 3]
    return {
        "length": RuleState.MET if len(password) >= MIN_LENGTH else RuleState.UNMET,
        "common": RuleState.SERVER,
        "identity": RuleState.UNMET if any(i in lowered for i in identifiers) else RuleState.MET,
    }
