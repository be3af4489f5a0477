"""Retrieval-only answers on whole-desktop screenshots: the error dialog's text must drive the search."""

from __future__ import annotations

import asyncio

import pytest

from server.domain.resolution.engine import ResolutionInput, Resolver, ScreenshotInput
from server.domain.resolution.retrieval_only import NO_MODEL_NOTE
from server.domain.resolution.schemas import Citation, Delta, Outcome
from tests.fixtures.screens import ErrorScreen, read_screen, render_desktop

# The first four error queries were looked at while writing the OCR line filter; the measured screens skip them.
TUNED = 4
SCREENS = 24
FLOOR = 0.85


async def _run(resolver: Resolver, description: str, png: bytes, ocr_text: str) -> list[object]:
    shot = ScreenshotInput(image=png, media_type="image/png", ocr_text=ocr_text)
    request = ResolutionInput(description=description, category=None, priority=None, screenshots=[shot])
    return [event async for event in resolver.run(request)]


async def test_dialog_text_is_read_and_its_article_cited(
    retrieval_resolver: Resolver, error_screens: list[ErrorScreen]
) -> None:
    screen = next(s for s in error_screens if "80070005" in s.query)
    png = render_desktop(screen.query, seed=7)
    ocr_text = await asyncio.to_thread(read_screen, png)
    assert "80070005" in ocr_text
    assert "Recycle Bin" in ocr_text or "Start" in ocr_text  # the noise is there too

    events = await _run(retrieval_resolver, "This popped up when I opened the app", png, ocr_text)

    citations = [e for e in events if isinstance(e, Citation)]
    assert screen.answers & {c.source_id for c in citations[:3]}
    outcome = events[-1]
    assert isinstance(outcome, Outcome)
    assert not outcome.model_answered
    assert outcome.content.startswith(NO_MODEL_NOTE)
    assert outcome.content == "".join(e.text for e in events if isinstance(e, Delta))
    assert "[1]" in outcome.content


@pytest.mark.slow
async def test_dialog_article_in_top_three_on_most_desktops(
    retrieval_resolver: Resolver, error_screens: list[ErrorScreen]
) -> None:
    chosen = error_screens[TUNED::3][:SCREENS]
    assert len(chosen) >= 20
    hits, misses = 0, []
    for seed, screen in enumerate(chosen):
        png = render_desktop(screen.query, seed=seed)
        ocr_text = await asyncio.to_thread(read_screen, png)
        events = await _run(retrieval_resolver, "I got this error, please help", png, ocr_text)
        top = [e.source_id for e in events if isinstance(e, Citation)][:3]
        if screen.answers & set(top):
            hits += 1
        else:
            misses.append(screen.query)
    rate = hits / len(chosen)
    print(f"\ndialog article in the first three citations: {hits}/{len(chosen)} = {rate:.2f}; misses: {misses}")
    assert rate >= FLOOR, misses
