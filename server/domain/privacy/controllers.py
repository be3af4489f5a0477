"""HTTP endpoints of data rights: ``/api/v1/me/export*``, ``/api/v1/auth/restore``, an admin's deletion.

``DELETE /api/v1/me`` is declared on the accounts slice's ``/me`` controller (one controller per path) and runs
:func:`~server.domain.privacy.deps.provide_account_deletion`'s use case.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, SkipValidation
from litestar.response import File

from server.domain.accounts import BEARER, DeletionScheduled, Principal, bearer_required, client_ip, require_role
from server.domain.privacy.deps import PRIVACY_DEPENDENCIES
from server.domain.privacy.exports import build_export
from server.domain.privacy.lifecycle import DataLifecycle
from server.domain.privacy.schemas import (
    AdminDelete,
    ExportInfo,
    ExportStarted,
    RestoreAccount,
)
from server.domain.privacy.services import DataRights, after_deletion, after_restore

__all__ = ["AdminUsersController", "DataRightsController", "RestoreController"]

BODY_LIMIT = 8 * 1024


class DataRightsController(Controller):
    """The signed-in user's own data: a copy of it, and deleting it."""

    path = "/api/v1/me"
    tags = ["data rights"]
    dependencies = PRIVACY_DEPENDENCIES
    request_max_body_size = BODY_LIMIT
    security = BEARER
    guards = [bearer_required]

    @post("/export", status_code=202, summary="Ask for a copy of my data (a ZIP, built in the background)")
    async def request_export(
        self,
        principal: NamedDependency[SkipValidation[Principal]],
        rights: NamedDependency[SkipValidation[DataRights]],
        lifecycle: NamedDependency[SkipValidation[DataLifecycle]],
    ) -> Response[ExportStarted]:
        """Mailed when ready, kept 7 days; one a day (429 ``export_limited`` with ``Retry-After``)."""
        started = await rights.request_export(principal.user)
        return Response(started, status_code=202, background=BackgroundTask(build_export, lifecycle, started.id))

    @get("/exports", summary="My exports, newest first", request_max_body_size=0)
    async def list_exports(
        self,
        principal: NamedDependency[SkipValidation[Principal]],
        rights: NamedDependency[SkipValidation[DataRights]],
    ) -> Response[list[ExportInfo]]:
        """``status`` is ``pending``, ``ready`` or ``expired``."""
        return Response(await rights.exports(principal.user))

    @get("/exports/{export_id:uuid}", summary="One of my exports", request_max_body_size=0)
    async def export(
        self,
        export_id: FromPath[uuid.UUID],
        principal: NamedDependency[SkipValidation[Principal]],
        rights: NamedDependency[SkipValidation[DataRights]],
    ) -> Response[ExportInfo]:
        """404 for an export that is not the caller's."""
        return Response(await rights.export(principal.user, export_id))

    @get(
        "/exports/{export_id:uuid}/download",
        summary="Download one of my exports (application/zip)",
        media_type="application/zip",
        request_max_body_size=0,
    )
    async def download(
        self,
        export_id: FromPath[uuid.UUID],
        principal: NamedDependency[SkipValidation[Principal]],
        rights: NamedDependency[SkipValidation[DataRights]],
    ) -> File:
        """Streams the file; 409 ``export_not_ready`` or ``export_expired``; 404 for another user's export."""
        path = await rights.download_path(principal.user, export_id)
        return File(
            path,
            filename=f"techpal-data-{principal.user.username}.zip",
            media_type="application/zip",
        )


class RestoreController(Controller):
    """Bringing back an account within 30 days of its deletion."""

    path = "/api/v1/auth"
    tags = ["data rights"]
    dependencies = PRIVACY_DEPENDENCIES
    request_max_body_size = BODY_LIMIT

    @post("/restore", status_code=204, summary="Restore my deleted account")
    async def restore(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[RestoreAccount],
        rights: NamedDependency[SkipValidation[DataRights]],
        lifecycle: NamedDependency[SkipValidation[DataLifecycle]],
    ) -> Response[None]:
        """401 ``invalid_credentials``; 409 ``account_not_deleted``; then sign in as usual."""
        user = await rights.restore(data.login, data.password, client_ip(request))
        return Response(None, status_code=204, background=BackgroundTask(after_restore, lifecycle, user.email))


class AdminUsersController(Controller):
    """Admins deleting an account: a known child's data, an abusive account."""

    path = "/api/v1/admin/users"
    tags = ["data rights"]
    dependencies = {**PRIVACY_DEPENDENCIES, "admin": Provide(require_role("admin"))}
    request_max_body_size = BODY_LIMIT
    security = BEARER
    guards = [bearer_required]

    @delete("/{user_id:uuid}", status_code=202, summary="Delete an account (admin)")
    async def delete_user(
        self,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[AdminDelete],
        admin: NamedDependency[SkipValidation[Principal]],
        rights: NamedDependency[SkipValidation[DataRights]],
        lifecycle: NamedDependency[SkipValidation[DataLifecycle]],
    ) -> Response[DeletionScheduled | None]:
        """202 ``{purge_after}``; with ``immediate: true`` 204 once everything of it is gone. 403 unless admin."""
        user, purge_after, dropped = await rights.admin_delete(admin, user_id, immediate=data.immediate)
        if purge_after is None:
            return Response(None, status_code=204)
        mail = BackgroundTask(after_deletion, lifecycle, user.email, purge_after, dropped)
        return Response(DeletionScheduled(purge_after=purge_after), status_code=202, background=mail)

    @delete("/{user_id:uuid}/sessions", status_code=204, summary="End every session of an account (admin)")
    async def end_sessions(
        self,
        user_id: FromPath[uuid.UUID],
        admin: NamedDependency[SkipValidation[Principal]],
        rights: NamedDependency[SkipValidation[DataRights]],
    ) -> None:
        """Every device of the account must sign in again (e.g. after a suspected takeover). 404 for an unknown id."""
        await rights.admin_end_sessions(admin, user_id)
