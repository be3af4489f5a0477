"""Wire types of ``/api/v1/me/api-keys`` (field names are the public contract)."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated

import msgspec

from server.domain.accounts.api_keys import Scope
from server.lib.schema import RequestBody, ResponseBody

__all__ = ["ApiKeyCreate", "ApiKeyInfo", "ApiKeyUsage", "CreatedApiKey", "DailyUsage", "UsageCall"]

KeyName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class ApiKeyCreate(RequestBody, frozen=True):
    """A new key: what it is for, what it may do (at least one scope), and optionally when it stops working."""

    name: KeyName
    scopes: Annotated[list[Scope], msgspec.Meta(min_length=1, max_length=3)]
    expires_at: datetime.datetime | None = None


class CreatedApiKey(ResponseBody, frozen=True):
    """The key as made: ``key`` is in this answer only; afterwards the key is shown by ``prefix``."""

    id: uuid.UUID
    name: str
    prefix: str
    key: str
    scopes: list[str]
    created_at: datetime.datetime
    expires_at: datetime.datetime | None


class ApiKeyInfo(ResponseBody, frozen=True):
    """One live key of the caller's: never the key itself."""

    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime.datetime
    expires_at: datetime.datetime | None
    last_used_at: datetime.datetime | None
    requests_24h: int


class DailyUsage(ResponseBody, frozen=True):
    """Requests with the key on one day (UTC) to one route that got one status."""

    day: datetime.date
    method: str
    route: str
    status: int
    count: int


class UsageCall(ResponseBody, frozen=True):
    """One request made with the key: the route's template, never its path, query or body."""

    at: datetime.datetime
    method: str
    route: str
    status: int
    duration_ms: int


class ApiKeyUsage(ResponseBody, frozen=True):
    """A key's use over the last ``days`` days: counts per day, route and status, and the last 100 calls."""

    days: int
    daily: list[DailyUsage]
    recent: list[UsageCall]
