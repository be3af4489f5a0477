"""The resolution run: retrieve, triage beside the answer, stream a cited answer, and always end with an Outcome.

Order of events: ``Triage`` (first resolve only; with a model its call starts once the answer's first token is in,
so it never delays or competes with it, and the event comes when that call is done, after some deltas), the
``Citation`` s in rank order, the ``Delta`` s, and last exactly one ``Outcome``. When the model fails (after its own
retries) a ``Failure`` is yielded, then the retrieval-only answer, so the user still gets help.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog

from server.domain.knowledge import Embedder, QueryVector, find_articles, start_query_embedding
from server.domain.resolution.prompt import Passage, build_messages
from server.domain.resolution.query import build_query
from server.domain.resolution.retrieval_only import ANSWER_ARTICLES, retrieval_only_answer
from server.domain.resolution.schemas import Delta, Event, Failure, Note, Outcome, Triage, Usage
from server.domain.resolution.triage import ai_triage, decide, rule_category, rule_priority
from server.integrations.openai import ChatModel, ChatModelError, TokenUsage

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["MODEL_PASSAGES", "ResolutionInput", "Resolver", "ScreenshotInput"]

logger = structlog.get_logger(__name__)

BAD_RESPONSE = "The AI model sent an answer we could not read."
MODEL_PASSAGES = 5  # passages given to a chat model; the retrieval-only answer uses the best ANSWER_ARTICLES


@dataclass(frozen=True, slots=True)
class ScreenshotInput:
    """One screenshot as the model sees it: the downscaled copy made at upload, and its OCR text (lines)."""

    image: bytes
    media_type: str
    ocr_text: str


@dataclass(frozen=True, slots=True)
class ResolutionInput:
    """What a run needs from the ticket. ``category``/``priority`` ``None``: the user did not choose."""

    description: str
    category: str | None
    priority: str | None
    screenshots: Sequence[ScreenshotInput] = ()
    history: Sequence[tuple[str, str]] = ()  # earlier (role, content) messages, oldest first
    question: str | None = None  # a follow-up question; None for the first resolve
    notes: Sequence[Note] = ()  # told to the user before anything else


class Resolver:
    """Answers tickets from the knowledge base, through ``chat`` when a model is configured (else retrieval-only)."""

    def __init__(
        self, *, engine: AsyncEngine, embedder: Embedder | None, chat: ChatModel | None, ai_off: bool = False
    ) -> None:
        self._engine = engine
        self._embedder = embedder
        self._chat = chat
        self._ai_off = ai_off  # the user objected to AI processing: ``chat`` is None for that reason

    def find_passages(self, request: ResolutionInput) -> asyncio.Task[list[Passage]]:
        """Start the knowledge-base search for ``request`` now and hand the task to :meth:`run`.

        Whatever the caller does meanwhile (storing the question, opening the stream) overlaps the search.
        """
        query = _query(request)
        embedding = start_query_embedding(query, self._embedder)  # in a worker thread from now on
        return asyncio.create_task(self.passages(query, self._passage_limit, embedding=embedding))

    @property
    def _passage_limit(self) -> int:
        return MODEL_PASSAGES if self._chat is not None else ANSWER_ARTICLES

    async def passages(
        self, query: str, limit: int, *, embedding: asyncio.Future[QueryVector] | None = None
    ) -> list[Passage]:
        """The best ``limit`` articles for ``query`` as numbered passages with their resolution text."""
        hits = await find_articles(self._engine, query, self._embedder, limit=limit, embedding=embedding)
        return [
            Passage(
                number=number,
                article_id=hit.result.article_id,
                source_id=hit.result.source_id,
                title=hit.result.title,
                source_url=hit.result.source_url,
                symptoms=hit.symptoms,
                resolution=hit.resolution,
                product_group=hit.product_group,
            )
            for number, hit in enumerate(hits, start=1)
        ]

    def _rules(self, request: ResolutionInput, query: str, passages: Sequence[Passage]) -> Triage:
        text_ = f"{request.description}\n{query}"
        return decide(
            request.category,
            request.priority,
            rule_category(text_, [p.product_group for p in passages]),
            rule_priority(text_),
            by_ai=False,
        )

    async def _ai_triage(
        self, chat: ChatModel, request: ResolutionInput, query: str, passages: Sequence[Passage], usage: TokenUsage
    ) -> Triage:
        """The model's triage; the rules' when the call fails or answers outside the schema."""
        ocr = "\n".join(s.ocr_text for s in request.screenshots)
        try:
            answer = await ai_triage(chat, request.description, ocr, [p.title for p in passages], usage)
        except ChatModelError as error:
            logger.info("ai_triage_failed", code=error.code)
            answer = None
        if answer is None:
            return self._rules(request, query, passages)
        return decide(request.category, request.priority, *answer)

    async def run(
        self, request: ResolutionInput, found: Awaitable[list[Passage]] | None = None
    ) -> AsyncIterator[Event]:
        """Yield the run's events (see the module docstring); the last one is always the :class:`Outcome`.

        ``found``: the search :meth:`find_passages` started for this request, else the run searches first.
        """
        started = time.perf_counter()
        chat = self._chat
        query = _query(request)
        passages = await (found if found is not None else self.passages(query, self._passage_limit))
        state = _RunState()
        for note in request.notes:
            yield note
        if request.question is None:
            if (request.category and request.priority) or chat is None:
                state.triage = self._rules(request, query, passages)
                yield state.triage
            else:  # started once the answer's first token is in, so its request never competes with the answer's
                state.start_triage = lambda: asyncio.create_task(
                    self._ai_triage(chat, request, query, passages, state.usage)
                )
        try:
            for passage in passages:
                yield passage.citation
            if chat is not None:
                async for event in self._model_answer(chat, request, passages, state):
                    yield event
            state.begin_triage()  # the model failed before its first token: triage still runs (or falls back)
            if not state.model_answered:
                for piece in retrieval_only_answer(passages, after_failure=chat is not None, ai_off=self._ai_off):
                    state.pieces.append(piece)
                    yield Delta(piece)
            latency_ms = round((time.perf_counter() - started) * 1000)
            if state.pending is not None:
                state.triage, state.pending = await state.pending, None
                yield state.triage
            yield Outcome(
                content="".join(state.pieces),
                citations=[p.citation for p in passages],
                triage=state.triage,
                usage=Usage(
                    model=(state.usage.model or chat.model_name) if chat is not None else None,
                    tokens_in=state.usage.tokens_in,
                    tokens_out=state.usage.tokens_out,
                    latency_ms=latency_ms,
                ),
                model_answered=state.model_answered,
            )
        finally:
            if state.pending is not None:  # the consumer went away mid-run
                state.pending.cancel()

    async def _model_answer(
        self, chat: ChatModel, request: ResolutionInput, passages: Sequence[Passage], state: _RunState
    ) -> AsyncIterator[Delta | Triage | Failure]:
        """The model's deltas (and the triage once it is ready), or a Failure when the model fails."""
        try:
            async for piece in chat.stream(build_messages(request, passages), usage=state.usage):
                state.pieces.append(piece)
                yield Delta(piece)
                state.begin_triage()
                if state.pending is not None and state.pending.done():
                    state.triage, state.pending = state.pending.result(), None
                    yield state.triage
            state.model_answered = True
        except Exception as exc:  # any provider trouble (also a malformed chunk) ends in the retrieval-only answer
            error = exc if isinstance(exc, ChatModelError) else ChatModelError("ai_bad_response", BAD_RESPONSE)
            logger.warning("ai_answer_failed", code=error.code, exc_info=not isinstance(exc, ChatModelError))
            yield Failure(code=error.code, message=error.message)
            if state.pieces:
                state.pieces.append("\n\n")
                yield Delta("\n\n")


def _query(request: ResolutionInput) -> str:
    return build_query(request.description, [s.ocr_text for s in request.screenshots], request.question)


@dataclass
class _RunState:
    """What one run accumulates while it streams."""

    pieces: list[str] = field(default_factory=list)
    usage: TokenUsage = field(default_factory=TokenUsage)
    triage: Triage | None = None
    start_triage: Callable[[], asyncio.Task[Triage]] | None = None
    pending: asyncio.Task[Triage] | None = None
    model_answered: bool = False

    def begin_triage(self) -> None:
        """Start the model's triage call, once."""
        if self.start_triage is not None:
            self.pending, self.start_triage = self.start_triage(), None
