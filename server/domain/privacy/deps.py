"""Dependency providers of the data-rights slice: the per-request :class:`DataRights` use cases."""

from __future__ import annotations

from litestar import Response
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidation
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.accounts import AUTH_DEPENDENCIES, AccountDeletion, AccountService, DeletionScheduled, Principal
from server.domain.privacy.lifecycle import DataLifecycle
from server.domain.privacy.services import DataRights, after_deletion

__all__ = ["ACCOUNT_DELETION_DEPENDENCIES", "PRIVACY_DEPENDENCIES", "provide_account_deletion", "provide_rights"]


async def provide_rights(
    *,
    db_session: NamedDependency[AsyncSession],
    accounts: NamedDependency[SkipValidation[AccountService]],
    lifecycle: NamedDependency[SkipValidation[DataLifecycle]],
) -> DataRights:
    """The data-rights use cases bound to this request's session."""
    return DataRights(db_session, accounts=accounts, life=lifecycle)


PRIVACY_DEPENDENCIES = {**AUTH_DEPENDENCIES, "rights": Provide(provide_rights)}


async def provide_account_deletion(
    *,
    db_session: NamedDependency[AsyncSession],
    lifecycle: NamedDependency[SkipValidation[DataLifecycle]],
) -> AccountDeletion:
    """``DELETE /api/v1/me``'s use case: close the account now, mail and remove files after the answer."""

    async def delete_own(
        accounts: AccountService, principal: Principal, password: str, client_ip: str
    ) -> Response[DeletionScheduled]:
        rights = DataRights(db_session, accounts=accounts, life=lifecycle)
        purge_after, dropped = await rights.delete_account(principal, password, client_ip)
        after = BackgroundTask(after_deletion, lifecycle, principal.user.email, purge_after, dropped)
        return Response(DeletionScheduled(purge_after=purge_after), status_code=202, background=after)

    return delete_own


# App-level: the accounts slice's /me controller asks for `account_deletion` by name.
ACCOUNT_DELETION_DEPENDENCIES = {"account_deletion": Provide(provide_account_deletion)}
