"""The names the console shows for user ids (owners, authors, actors, assignees, viewers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from server.db.models import User

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["Person", "people"]


@dataclass(frozen=True, slots=True)
class Person:
    """Who a user id is, as the console shows them."""

    name: str
    email: str
    role: str


async def people(db: AsyncSession, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, Person]:
    """The accounts among ``ids`` that still exist (``None`` and deleted ones are left out)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await db.execute(select(User.id, User.name, User.email, User.role).where(User.id.in_(wanted)))
    return {row.id: Person(row.name, row.email, row.role) for row in rows}
