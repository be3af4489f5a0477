"""Accounts: registration, verification, sign-in sessions, profile, password reset, roles.

Other slices use what is exported here: the caller (:class:`Principal`), the route guards and the providers; for the
support console's user administration, the accounts an admin finds (:class:`AccountEntry`) and a role change.
"""

from server.domain.accounts.api_keys import SCOPES, Scope, accepts_api_key
from server.domain.accounts.controllers import AccountDeletion
from server.domain.accounts.deps import AUTH_DEPENDENCIES, client_ip
from server.domain.accounts.guards import BEARER, Bearer, bearer, bearer_required, require_role
from server.domain.accounts.schemas import DeletionScheduled
from server.domain.accounts.services import AccountEntry, AccountService, Principal, RoleChange

__all__ = [
    "AUTH_DEPENDENCIES",
    "BEARER",
    "SCOPES",
    "AccountDeletion",
    "AccountEntry",
    "AccountService",
    "Bearer",
    "DeletionScheduled",
    "Principal",
    "RoleChange",
    "Scope",
    "accepts_api_key",
    "bearer",
    "bearer_required",
    "client_ip",
    "require_role",
]
