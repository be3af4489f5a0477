"""Accounts: registration, verification, sign-in sessions, profile, password reset, roles.

Other slices use what is exported here: the caller (:class:`Principal`), the route guards and the providers.
"""

from server.domain.accounts.controllers import AccountDeletion
from server.domain.accounts.deps import AUTH_DEPENDENCIES, client_ip
from server.domain.accounts.guards import BEARER, bearer_required, bearer_token, require_role
from server.domain.accounts.schemas import DeletionScheduled
from server.domain.accounts.services import AccountService, Principal

__all__ = [
    "AUTH_DEPENDENCIES",
    "BEARER",
    "AccountDeletion",
    "AccountService",
    "DeletionScheduled",
    "Principal",
    "bearer_required",
    "bearer_token",
    "client_ip",
    "require_role",
]
