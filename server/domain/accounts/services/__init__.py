"""Account use cases: register, verify, sign in, sessions, profile, password change and reset.

Transactions: the request's session is committed by the plugin after a 2xx; where a side effect must survive the
error we raise (revoking a session on refresh-token reuse) or must be visible before a mail goes out, we commit
here explicitly. Throttle counters live in their own transactions (:mod:`server.lib.ratelimit`).
"""

from __future__ import annotations

from server.domain.accounts.services._base import Principal, normalize_email, normalize_username
from server.domain.accounts.services._flows import MailFlows
from server.domain.accounts.services._profile import ProfileFlows
from server.domain.accounts.services._sessions import SessionFlows

__all__ = ["AccountService", "Principal", "normalize_email", "normalize_username"]


class AccountService(MailFlows, SessionFlows, ProfileFlows):
    """The accounts use cases for one request (one database session)."""
