"""User administration in the console (admins only): find accounts, grant and revoke roles, end all sessions.

``GET /console/admin/users`` lists accounts, staff first, 25 a page, searched by name, e-mail address or username and
filtered by role. Each row's forms grant or take away ``agent`` and ``admin`` and end every session of the account;
they work without JavaScript (post, then a 303 back to the same list at the account's row, with a notice; to htmx
the same address in ``HX-Location``, see :func:`see_other`) and htmx boosts them. The work is the accounts slice's
(:meth:`AccountService.set_role`, :meth:`AccountService.end_sessions_of`), which logs who did what. An admin's own
admin role cannot be taken away here: the page says so, and the server refuses it (409). An agent opening these
pages gets the "not for you" page (403).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import parse_qsl, urlencode

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter, SkipValidation
from litestar.response import Template

from server.db.models import ROLES, Role
from server.domain.accounts import AccountService, Principal
from server.domain.console.deps import ADMIN_DEPENDENCIES
from server.domain.console.forms import FORM_BODY_LIMIT, read_form, text_field
from server.domain.console.pages import page, see_other
from server.lib.exceptions import Conflict, ValidationFailed

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["UserAdminController"]

PAGE_SIZE = 25
MAX_SEARCH_CHARS = 200
USERS_URL = "/console/admin/users"
# What a redirect's ``?done=`` says (a fixed set: no text travels in the address).
NOTICES = {
    "role": "Role changed.",
    "sessions": "Every session of the account was ended: it has to sign in again on each device.",
}


@dataclass(frozen=True, slots=True)
class ListFilters:
    """The list's search, role filter and page; read from a query string, written back into the list's links."""

    text: str = ""
    role: Role | None = None
    page_number: int = 1

    @classmethod
    def read(cls, query: Mapping[str, str]) -> ListFilters:
        """The filters in ``query``; values out of range fall back to the defaults (no filter, page 1)."""
        raw_page = query.get("page", "")
        page_number = int(raw_page) if raw_page.isdigit() and 1 <= int(raw_page) <= 100_000 else 1
        role = next((choice for choice in ROLES if choice == query.get("role")), None)
        return cls(query.get("q", "").strip()[:MAX_SEARCH_CHARS], role, page_number)

    def query(self, *, page_number: int | None = None) -> str:
        """The query string of these filters (on ``page_number``, if given); the defaults are left out."""
        number = page_number or self.page_number
        chosen = {"q": self.text, "role": self.role or "", "page": str(number) if number > 1 else ""}
        return urlencode({key: value for key, value in chosen.items() if value})

    def url(self, *, page_number: int | None = None) -> str:
        """The list's address with these filters (on ``page_number``, if given)."""
        query = self.query(page_number=page_number)
        return f"{USERS_URL}?{query}" if query else USERS_URL


async def _users_page(
    request: Request[Any, Any, Any],
    admin: Principal,
    accounts: AccountService,
    filters: ListFilters,
    *,
    status: int = 200,
    error: str | None = None,
    done: str | None = None,
) -> Template:
    offset = (filters.page_number - 1) * PAGE_SIZE
    entries, total = await accounts.find_accounts(filters.text, filters.role, limit=PAGE_SIZE, offset=offset)
    return page(request, "admin_users.html", title="Users", staff=admin, status=status, error=error,
                notice=NOTICES.get(done or ""), entries=entries, total=total, filters=filters, roles=ROLES,
                back=filters.query(), pages=max(1, math.ceil(total / PAGE_SIZE)),
                previous_url=filters.url(page_number=filters.page_number - 1),
                next_url=filters.url(page_number=filters.page_number + 1))  # fmt: skip


def _back_to(filters: ListFilters, done: str, user_id: uuid.UUID) -> str:
    """The same list, with the notice, scrolled to the account's row."""
    query = "&".join(part for part in (filters.query(), f"done={done}") if part)
    return f"{USERS_URL}?{query}#user-{user_id}"


class UserAdminController(Controller):
    """The accounts list, role changes and ending an account's sessions."""

    path = "/admin/users"
    dependencies = ADMIN_DEPENDENCIES
    request_max_body_size = FORM_BODY_LIMIT

    @get("/", name="console_users", request_max_body_size=0)
    async def users(
        self,
        *,
        request: Request[Any, Any, Any],
        admin: NamedDependency[SkipValidation[Principal]],
        accounts: NamedDependency[SkipValidation[AccountService]],
        q: Annotated[str | None, QueryParameter(description="Text in the name, e-mail address or username.")] = None,
        role: Annotated[str | None, QueryParameter(description="Only accounts with this role.")] = None,
        page_number: Annotated[int, QueryParameter(name="page", ge=1, le=100_000)] = 1,
        done: Annotated[str | None, QueryParameter(max_length=20)] = None,
    ) -> Template:
        """Accounts, staff first, then by name; 25 a page."""
        filters = ListFilters.read({"q": q or "", "role": role or "", "page": str(page_number)})
        return await _users_page(request, admin, accounts, filters, done=done)

    @post("/{user_id:uuid}/role", status_code=303)
    async def change_role(
        self,
        request: Request[Any, Any, Any],
        user_id: FromPath[uuid.UUID],
        admin: NamedDependency[SkipValidation[Principal]],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> Response[Any]:
        """Give the account ``role`` (``user`` takes the staff role away); the list again with the reason if refused."""
        form = await read_form(request)
        filters = ListFilters.read(dict(parse_qsl(text_field(form, "back", max_chars=1000))))
        try:
            await accounts.set_role(admin, user_id, text_field(form, "role", max_chars=16))
        except (Conflict, ValidationFailed) as refused:
            return await _users_page(request, admin, accounts, filters, status=refused.status_code,
                                     error=refused.detail)  # fmt: skip
        return see_other(request, _back_to(filters, "role", user_id))

    @post("/{user_id:uuid}/sessions/end", status_code=303)
    async def end_sessions(
        self,
        request: Request[Any, Any, Any],
        user_id: FromPath[uuid.UUID],
        admin: NamedDependency[SkipValidation[Principal]],
        accounts: NamedDependency[SkipValidation[AccountService]],
    ) -> Response[Any]:
        """End every session of the account (the admin's own ends this console session too)."""
        form = await read_form(request)
        filters = ListFilters.read(dict(parse_qsl(text_field(form, "back", max_chars=1000))))
        await accounts.end_sessions_of(admin, user_id)
        return see_other(request, _back_to(filters, "sessions", user_id))
