"""The answer without a chat model: the best articles' own resolution steps, cited, behind a visible note.

Used when no model is configured (the embedded default) and after a model failure, so the user always gets help.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.domain.resolution.prompt import Passage, excerpt

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = ["AI_OFF_NOTE", "ANSWER_ARTICLES", "NO_MATCH", "NO_MODEL_NOTE", "retrieval_only_answer"]

ANSWER_ARTICLES = 3
STEPS_CHARS = 700
NO_MODEL_NOTE = (
    "_No AI model is configured on this server, so this answer lists the knowledge-base articles that best match "
    "your ticket._\n\n"
)
AFTER_FAILURE_NOTE = "_The AI model could not answer, so here are the knowledge-base articles that best match._\n\n"
AI_OFF_NOTE = (
    "_You turned AI processing off, so this answer lists the knowledge-base articles that best match your ticket._\n\n"
)
NO_MATCH = (
    "I could not find a knowledge-base article that matches this problem. If it is still not solved, mark the "
    "ticket as not resolved and a support agent will take it over."
)
CLOSING = "\nIf none of this helps, mark the ticket as not resolved and a support agent will take it over."


def retrieval_only_answer(
    passages: Sequence[Passage], *, after_failure: bool = False, ai_off: bool = False
) -> Iterator[str]:
    """The answer as several pieces: the note, then one piece per article (title, steps, ``[n]``), then a closing.

    The note says why there is no model answer: it failed (``after_failure``), the user turned AI processing off
    (``ai_off``), or no model is configured.
    """
    yield AFTER_FAILURE_NOTE if after_failure else AI_OFF_NOTE if ai_off else NO_MODEL_NOTE
    best = list(passages[:ANSWER_ARTICLES])
    if not best:
        yield NO_MATCH
        return
    for passage in best:
        steps = excerpt(passage.resolution or passage.symptoms or "See the article.", STEPS_CHARS)
        yield f"**[{passage.number}] {passage.title}**\n{steps} [{passage.number}]\n\n"
    yield CLOSING
