"""Dependency providers of the resolution slice: the per-request :class:`Answers` use case."""

from __future__ import annotations

from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidation
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.accounts import AccountService
from server.domain.knowledge import Embedders, KbStatus
from server.domain.resolution.runs import ResolutionRuns
from server.domain.resolution.services import Answers
from server.domain.tickets import TICKET_DEPENDENCIES, TicketService
from server.integrations.openai import ChatModel
from server.settings import Settings

__all__ = ["RESOLUTION_DEPENDENCIES", "provide_answers"]


async def provide_answers(
    *,
    accounts: NamedDependency[SkipValidation[AccountService]],
    tickets: NamedDependency[SkipValidation[TicketService]],
    db_engine: NamedDependency[AsyncEngine],
    settings: NamedDependency[SkipValidation[Settings]],
    chat_model: NamedDependency[SkipValidation[ChatModel | None]],
    runs: NamedDependency[SkipValidation[ResolutionRuns]],
    embedders: NamedDependency[SkipValidation[Embedders]],
    kb_status: NamedDependency[SkipValidation[KbStatus]],
) -> Answers:
    """The answer starter bound to this request's services."""
    return Answers(
        tickets,
        accounts=accounts,
        engine=db_engine,
        settings=settings,
        chat=chat_model,
        runs=runs,
        embedders=embedders,
        kb_status=kb_status,
    )


RESOLUTION_DEPENDENCIES = {**TICKET_DEPENDENCIES, "answers": Provide(provide_answers)}
