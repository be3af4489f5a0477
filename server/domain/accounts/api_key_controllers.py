"""HTTP endpoints of ``/api/v1/me/api-keys``: the caller's API keys and their usage (signed-in sessions only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter, SkipValidation

from server.domain.accounts.api_key_schemas import ApiKeyCreate, ApiKeyInfo, ApiKeyUsage, CreatedApiKey
from server.domain.accounts.controllers import BODY_LIMIT
from server.domain.accounts.deps import AUTH_DEPENDENCIES
from server.domain.accounts.guards import BEARER, bearer_required
from server.domain.accounts.services import AccountService, Principal
from server.domain.accounts.usage_log import UsageLog

__all__ = ["ApiKeyController"]

USAGE_DAYS_MAX = 90  # the usage log is kept 90 days


class ApiKeyController(Controller):
    """Keys for third-party integrations: made, listed, revoked and audited by their owner."""

    path = "/api/v1/me/api-keys"
    tags = ["api keys"]
    dependencies = AUTH_DEPENDENCIES
    request_max_body_size = BODY_LIMIT
    security = BEARER
    guards = [bearer_required]

    @post("/", status_code=201, summary="Make an API key (shown once)")
    async def create_key(
        self,
        data: JSONBody[ApiKeyCreate],
        principal: NamedDependency[SkipValidation[Principal]],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> CreatedApiKey:
        """201 with the key in ``key`` — the only time it is shown; 409 ``too_many_api_keys`` beyond 20 live keys."""
        return await accounts.create_api_key(principal, data.name, data.scopes, data.expires_at)

    @get("/", summary="My API keys", request_max_body_size=0)
    async def list_keys(
        self,
        principal: NamedDependency[SkipValidation[Principal]],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> list[ApiKeyInfo]:
        """Keys not revoked, newest first, with ``last_used_at`` and the requests of the last 24 hours."""
        return await accounts.api_keys(principal)

    @delete("/{key_id:uuid}", status_code=204, summary="Revoke an API key")
    async def revoke_key(
        self,
        key_id: FromPath[uuid.UUID],
        principal: NamedDependency[SkipValidation[Principal]],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> None:
        """The next request with the key is 401; 404 for a key that is not the caller's or is revoked."""
        await accounts.revoke_api_key(principal, key_id)

    @get("/{key_id:uuid}/usage", summary="What an API key was used for", request_max_body_size=0)
    async def key_usage(
        self,
        key_id: FromPath[uuid.UUID],
        principal: NamedDependency[SkipValidation[Principal]],
        accounts: NamedDependency[SkipValidation[AccountService]],
        usage_log: NamedDependency[SkipValidation[UsageLog]],
        days: Annotated[int, QueryParameter(ge=1, le=USAGE_DAYS_MAX, description="How many days back, up to 90.")] = 30,
    ) -> ApiKeyUsage:
        """Requests per day (UTC), route and status, and the last 100 calls; 404 for another user's key.

        This process's calls not yet written are written first; another process's arrive within a second.
        """
        await usage_log.flush()
        return await accounts.api_key_usage(principal, key_id, days)
