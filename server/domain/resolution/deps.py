"""Dependency providers of the resolution slice: the per-request :class:`Answers` use case."""

from __future__ import annotations

from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidation
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.accounts import provide_principal_before_transaction
from server.domain.knowledge import Embedders
from server.domain.resolution.runs import ResolutionRuns
from server.domain.resolution.services import Answers
from server.domain.tickets import TICKET_DEPENDENCIES, TicketService
from server.integrations.openai import ChatModel
from server.settings import Settings

__all__ = ["RESOLUTION_DEPENDENCIES", "provide_answers"]


async def provide_answers(
    *,
    tickets: NamedDependency[SkipValidation[TicketService]],
    db_engine: NamedDependency[AsyncEngine],
    settings: NamedDependency[SkipValidation[Settings]],
    chat_model: NamedDependency[SkipValidation[ChatModel | None]],
    runs: NamedDependency[SkipValidation[ResolutionRuns]],
    embedders: NamedDependency[SkipValidation[Embedders]],
) -> Answers:
    """The answer starter bound to this request's ticket service."""
    return Answers(tickets, engine=db_engine, settings=settings, chat=chat_model, runs=runs, embedders=embedders)


RESOLUTION_DEPENDENCIES = {
    **TICKET_DEPENDENCIES,
    "principal": Provide(provide_principal_before_transaction),
    "answers": Provide(provide_answers),
}
