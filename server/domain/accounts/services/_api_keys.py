"""Use cases of API keys: making, listing and revoking them, their usage, and signing a request in with one."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select, update

from server.db.models import ApiKey, User, api_key_usage
from server.db.transactions import held_in_autocommit
from server.domain.accounts.api_key_schemas import ApiKeyInfo, ApiKeyUsage, CreatedApiKey, DailyUsage, UsageCall
from server.domain.accounts.api_keys import (
    SCOPES,
    Scope,
    display_prefix,
    looks_like_api_key,
    new_api_key,
    well_formed,
)
from server.domain.accounts.services._base import Principal, clean_name, logger, session_required
from server.domain.accounts.services._sessions import SessionFlows
from server.lib.exceptions import (
    Conflict,
    FieldError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    TooManyRequests,
    ValidationFailed,
)
from server.lib.metering import meter_api_key
from server.lib.ratelimit import COUNTED, Rule

if TYPE_CHECKING:
    import uuid
    from collections.abc import Sequence

    from sqlalchemy import ColumnElement

    from server.domain.accounts.guards import Bearer

__all__ = ["MAX_LIVE_KEYS", "ApiKeyFlows"]

MAX_LIVE_KEYS = 20  # per account: keys neither revoked nor expired
MINUTE = datetime.timedelta(minutes=1)
DAY = datetime.timedelta(days=1)
RECENT_CALLS = 100

# Every request with a key runs one of these: built once. The scopes come as one string: an array column makes the
# driver look its type up on every new pooled connection, a query planned anew each time (~7 ms of database CPU).
_SCOPES = func.array_to_string(ApiKey.scopes, " ")
_KEY_AND_OWNER = (
    select(ApiKey.id, _SCOPES, ApiKey.expires_at, User)
    .join(User, User.id == ApiKey.user_id)
    .where(ApiKey.key_hash == bindparam("key_hash"), ApiKey.revoked_at.is_(None))
)
# The request counted against the key's limit and the key read in one statement (one round trip, no extra
# statement on the connection the request holds): the count's row always, the key's columns when it is live.
_COUNTED_KEY_AND_OWNER = (
    select(COUNTED.c.window_start, COUNTED.c.count, ApiKey.id, _SCOPES, ApiKey.expires_at, User)
    .select_from(COUNTED)
    .outerjoin(ApiKey, (ApiKey.key_hash == bindparam("key_hash")) & ApiKey.revoked_at.is_(None))
    .outerjoin(User, User.id == ApiKey.user_id)
)


def _invalid_key() -> NotAuthenticated:
    return NotAuthenticated("This API key is invalid or revoked.", code="invalid_api_key")


class ApiKeyFlows(SessionFlows):
    """API keys: one account's keys and their use, and authentication by key."""

    async def authenticate_bearer(self, credentials: Bearer) -> Principal:
        """The caller of a request: by access token, or by API key where the route accepts one with its scope."""
        if looks_like_api_key(credentials.token):
            return await self._principal_of_key(credentials.token, credentials.api_key_scope)
        return await self.authenticate(credentials.token)

    async def create_api_key(
        self, principal: Principal, name: str, scopes: list[Scope], expires_at: datetime.datetime | None
    ) -> CreatedApiKey:
        """A new key for the caller; 409 ``too_many_api_keys`` beyond :data:`MAX_LIVE_KEYS` live ones."""
        now = self.clock()
        if expires_at is not None and (expires_at.tzinfo is None or expires_at <= now):
            problem = "must be a time in the future, with its UTC offset"
            raise ValidationFailed(f"expires_at {problem}.", errors=[FieldError("expires_at", problem)])
        user = principal.user
        # The account row's lock makes "count, then add" one step: two concurrent creates cannot both be the 20th.
        await self.db.execute(select(User.id).where(User.id == user.id).with_for_update())
        live = await self.db.scalar(
            select(func.count())
            .select_from(ApiKey)
            .where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None), _unexpired(now))
        )
        if (live or 0) >= MAX_LIVE_KEYS:
            raise Conflict(
                f"An account has at most {MAX_LIVE_KEYS} API keys; revoke one first.", code="too_many_api_keys"
            )
        key = new_api_key()
        row = ApiKey(
            user_id=user.id,
            name=clean_name(name),
            prefix=display_prefix(key),
            key_hash=self.key_hasher.digest(key),
            scopes=[scope for scope in SCOPES if scope in scopes],
            expires_at=expires_at,
        )
        self.db.add(row)
        await self.db.flush()
        logger.info("api_key_created", user_id=str(user.id), key_id=str(row.id), scopes=row.scopes)
        return CreatedApiKey(
            id=row.id,
            name=row.name,
            prefix=row.prefix,
            key=key,
            scopes=row.scopes,
            created_at=row.created_at,
            expires_at=row.expires_at,
        )

    async def api_keys(self, principal: Principal) -> list[ApiKeyInfo]:
        """The caller's keys that are not revoked (expired ones too, marked by ``expires_at``), newest first."""
        since = self.clock() - DAY
        recent = (
            select(func.count())
            .where(api_key_usage.c.key_id == ApiKey.id, api_key_usage.c.at > since)
            .scalar_subquery()
        )
        rows = await self.db.execute(
            select(ApiKey, recent)
            .where(ApiKey.user_id == principal.user.id, ApiKey.revoked_at.is_(None))
            .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
        )
        return [
            ApiKeyInfo(
                id=key.id,
                name=key.name,
                prefix=key.prefix,
                scopes=key.scopes,
                created_at=key.created_at,
                expires_at=key.expires_at,
                last_used_at=key.last_used_at,
                requests_24h=count,
            )
            for key, count in rows
        ]

    async def revoke_api_key(self, principal: Principal, key_id: uuid.UUID) -> None:
        """Revoke one of the caller's keys at once; another user's (or an unknown) key is "not found"."""
        revoked = await self.db.scalar(
            update(ApiKey)
            .where(ApiKey.id == key_id, ApiKey.user_id == principal.user.id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=self.clock())
            .returning(ApiKey.id)
        )
        if revoked is None:
            raise NotFound("No such API key.")
        logger.info("api_key_revoked", user_id=str(principal.user.id), key_id=str(key_id))

    async def api_key_usage(self, principal: Principal, key_id: uuid.UUID, days: int) -> ApiKeyUsage:
        """Requests with one of the caller's keys (revoked ones too) over ``days`` days, and the last 100 calls."""
        owned = await self.db.scalar(select(ApiKey.id).where(ApiKey.id == key_id, ApiKey.user_id == principal.user.id))
        if owned is None:
            raise NotFound("No such API key.")
        usage = api_key_usage.c
        since = self.clock() - days * DAY
        day = func.date(func.timezone("UTC", usage.at)).label("day")
        daily = await self.db.execute(
            select(day, usage.method, usage.route, usage.status, func.count())
            .where(usage.key_id == key_id, usage.at > since)
            .group_by(day, usage.method, usage.route, usage.status)
            .order_by(day.desc(), usage.route, usage.method, usage.status)
        )
        recent = await self.db.execute(
            select(usage.at, usage.method, usage.route, usage.status, usage.duration_ms)
            .where(usage.key_id == key_id)
            .order_by(usage.at.desc(), usage.id.desc())
            .limit(RECENT_CALLS)
        )
        return ApiKeyUsage(
            days=days,
            daily=[DailyUsage(day=d, method=m, route=r, status=s, count=c) for d, m, r, s, c in daily],
            recent=[UsageCall(at=a, method=m, route=r, status=s, duration_ms=ms) for a, m, r, s, ms in recent],
        )

    async def _principal_of_key(self, key: str, scope: Scope | None) -> Principal:
        """The owner of a live ``key`` that has ``scope``, counted against the key's per-minute limit.

        A malformed key costs no lookup (401 ``invalid_api_key``); a route that takes no key answers 403
        ``session_required`` before any; an expired key is 401 ``api_key_expired``; a key without the route's scope
        is 403 ``insufficient_scope`` (and counts: it was a request).
        """
        if not well_formed(key):
            raise _invalid_key()
        if scope is None:
            raise session_required()
        key_hash = self.key_hasher.digest(key)
        rule = Rule("api_key", self.settings.auth.api_key_requests_per_minute, MINUTE, policy="api_key")
        found: Sequence[Any]
        if await held_in_autocommit(self.db) is not None:
            # Counted on the connection the request holds in autocommit: the count stands whatever follows.
            counting = self.limiter.counting(rule, key_hash.hex())
            row = (await self.db.execute(_COUNTED_KEY_AND_OWNER, {**counting, "key_hash": key_hash})).one()
            found = row[2:]
            if found[0] is not None:
                meter_api_key(found[0])  # logged whatever the answer, a 429 included
            self.limiter.settle(rule, counting, row[0], row[1])
        else:
            # Counted on a connection of its own, back in the pool before the request's session takes one.
            try:
                await self.limiter.hit(rule, key_hash.hex())
            except TooManyRequests:
                refused = await self.db.scalar(select(ApiKey.id).where(ApiKey.key_hash == key_hash))
                if refused is not None:
                    meter_api_key(refused)
                raise
            found = tuple((await self.db.execute(_KEY_AND_OWNER, {"key_hash": key_hash})).one_or_none() or (None,) * 4)
            if found[0] is not None:
                meter_api_key(found[0])
        key_id, scopes, expires_at, user = found
        if key_id is None:
            raise _invalid_key()
        if expires_at is not None and expires_at <= self.clock():
            raise NotAuthenticated("This API key has expired; make a new one.", code="api_key_expired")
        if scope not in scopes.split():
            raise PermissionDenied(f"This API key lacks the scope {scope}.", code="insufficient_scope")
        return Principal(user=user, session_id=None, api_key_id=key_id)


def _unexpired(now: datetime.datetime) -> ColumnElement[bool]:
    return ApiKey.expires_at.is_(None) | (ApiKey.expires_at > now)
