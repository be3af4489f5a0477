"""Account use cases: register, verify, sign in (password, Google, two steps), sessions, API keys, profile.

Passwords and their reset are here, and an admin's work on other accounts (finding them, roles, ending their
sessions).

Transactions follow ADR 9: these flush, and the request commits. The side effects that must survive the error they
end in — revoking a session whose refresh token was replayed, a sign-in challenge answered with 401, a wrong code
counted against its challenge — run in transactions of their own, as do the throttle counters
(:mod:`server.lib.ratelimit`).
"""

from __future__ import annotations

from server.domain.accounts.services._admin import AccountEntry, AdminFlows, RoleChange
from server.domain.accounts.services._api_keys import ApiKeyFlows
from server.domain.accounts.services._base import AccountDeleted, Principal, normalize_email, normalize_username
from server.domain.accounts.services._flows import MailFlows
from server.domain.accounts.services._profile import ProfileFlows
from server.domain.accounts.services._sign_in import SignInFlows
from server.domain.accounts.services._two_factor import OtpRequired

__all__ = [
    "AccountDeleted",
    "AccountEntry",
    "AccountService",
    "OtpRequired",
    "Principal",
    "RoleChange",
    "normalize_email",
    "normalize_username",
]


class AccountService(MailFlows, SignInFlows, ProfileFlows, AdminFlows, ApiKeyFlows):
    """The accounts use cases for one request (one database session)."""
