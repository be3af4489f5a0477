"""Dependency providers: the per-request :class:`AccountService` and the one place requests are authenticated."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request
from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidation
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.domain.accounts.api_keys import ApiKeyHasher
from server.domain.accounts.google import GoogleVerifier
from server.domain.accounts.guards import bearer
from server.domain.accounts.passwords import PasswordHasher
from server.domain.accounts.services import AccountService, Principal
from server.lib.clock import Clock
from server.lib.crypto import AccessTokenSigner, SecretSealer
from server.lib.mail import Mailer
from server.lib.ratelimit import RateLimiter
from server.settings import Settings

__all__ = [
    "AUTH_DEPENDENCIES",
    "client_ip",
    "device_name",
    "provide_accounts",
    "provide_principal",
]

logger = structlog.get_logger(__name__)


def client_ip(request: Request[Any, Any, Any]) -> str:
    """The client address our middleware resolved (honouring ``TECHPAL_TRUSTED_PROXIES``)."""
    return str(request.scope.get("state", {}).get("client_ip") or "unknown")


def device_name(request: Request[Any, Any, Any], given: str | None) -> str:
    """The device name the client gave, else its User-Agent, cleaned of control characters."""
    raw = given or request.headers.get("user-agent") or "Unknown device"
    cleaned = "".join(ch for ch in raw if ch.isprintable()).strip()
    return cleaned[:200] or "Unknown device"


async def provide_accounts(
    *,
    db_session: NamedDependency[AsyncSession],
    db_engine: NamedDependency[AsyncEngine],
    settings: NamedDependency[SkipValidation[Settings]],
    mailer: NamedDependency[SkipValidation[Mailer]],
    passwords: NamedDependency[SkipValidation[PasswordHasher]],
    signer: NamedDependency[SkipValidation[AccessTokenSigner]],
    sealer: NamedDependency[SkipValidation[SecretSealer]],
    key_hasher: NamedDependency[SkipValidation[ApiKeyHasher]],
    google: NamedDependency[SkipValidation[GoogleVerifier | None]],
    clock: NamedDependency[SkipValidation[Clock]],
) -> AccountService:
    """The accounts service bound to this request's database session."""
    return AccountService(
        db_session,
        settings=settings,
        passwords=passwords,
        mailer=mailer,
        limiter=RateLimiter(db_engine, clock),
        signer=signer,
        sealer=sealer,
        key_hasher=key_hasher,
        google=google,
        clock=clock,
    )


async def provide_principal(
    request: Request[Any, Any, Any], accounts: NamedDependency[SkipValidation[AccountService]]
) -> Principal:
    """The caller, from ``Authorization: Bearer <access token or API key>``; 401 without a live session or key."""
    return await accounts.authenticate_bearer(bearer(request))


AUTH_DEPENDENCIES = {
    "accounts": Provide(provide_accounts),
    "principal": Provide(provide_principal),
}
