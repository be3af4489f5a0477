"""Account use cases: register, verify, sign in, sessions, profile, password change and reset.

Transactions follow ADR 9: these flush, and the request commits. The one side effect that must survive the error
it ends in — revoking a session whose refresh token was replayed — runs in a transaction of its own, as do the
throttle counters (:mod:`server.lib.ratelimit`).
"""

from __future__ import annotations

from server.domain.accounts.services._base import AccountDeleted, Principal, normalize_email, normalize_username
from server.domain.accounts.services._flows import MailFlows
from server.domain.accounts.services._profile import ProfileFlows
from server.domain.accounts.services._sessions import SessionFlows

__all__ = ["AccountDeleted", "AccountService", "Principal", "normalize_email", "normalize_username"]


class AccountService(MailFlows, SessionFlows, ProfileFlows):
    """The accounts use cases for one request (one database session)."""
