"""Wire types of the data-rights endpoints: export, restore, an admin's deletion.

A user's own deletion (``DELETE /api/v1/me``) is on the accounts slice's ``/me`` route: its types are there.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Literal

import msgspec

from server.lib.schema import RequestBody, ResponseBody

__all__ = [
    "AdminDelete",
    "ExportInfo",
    "ExportStarted",
    "ExportStatus",
    "RestoreAccount",
]

ExportStatus = Literal["pending", "ready", "expired"]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
LoginName = Annotated[str, msgspec.Meta(min_length=1, max_length=320)]


class ExportStarted(ResponseBody, frozen=True):
    """An export was queued; poll ``GET /api/v1/me/exports/{id}`` until ``status`` is ``ready``."""

    id: uuid.UUID
    status: ExportStatus


class ExportInfo(ResponseBody, frozen=True):
    """One export of the caller's data; ``size_bytes`` is known once it is ready."""

    id: uuid.UUID
    status: ExportStatus
    created_at: datetime.datetime
    expires_at: datetime.datetime
    size_bytes: int | None


class RestoreAccount(RequestBody, frozen=True):
    """Bring back an account deleted less than 30 days ago; ``login`` is the e-mail address or the username."""

    login: LoginName
    password: Password


class AdminDelete(RequestBody, frozen=True):
    """``immediate`` purges now; otherwise the account is closed and purged after 30 days like a self-deletion."""

    immediate: bool = False
