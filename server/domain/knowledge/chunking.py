"""Split an article into the chunks that carry its embeddings and full text.

Chunk 0 is the article's summary (``title. symptoms``): one vector per article is the strongest single dense signal
on our corpus. The body follows in windows of about :data:`WINDOW_WORDS` words, each prefixed with the title so a
window never loses what it is about. Every chunk carries a content hash, so a precomputed vector is reused only for
exactly the text it was computed from (an edited article is re-embedded).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

__all__ = ["WINDOW_WORDS", "Chunk", "chunk_article", "content_hash"]

WINDOW_WORDS = 180
MAX_BODY_CHUNKS = 12


@dataclass(frozen=True, slots=True)
class Chunk:
    """One piece of an article: its position, its text and the hash of that text."""

    ordinal: int
    text: str
    content_hash: str


def content_hash(text: str) -> str:
    """A stable 32-hex-digit hash of a chunk's text (the key of precomputed vectors)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def chunk_article(title: str, symptoms: str, body: str) -> list[Chunk]:
    """The chunks of one article, summary first."""
    title = " ".join(title.split())
    summary = f"{title}. {' '.join(symptoms.split())}".strip()
    texts = [summary]
    words = body.split()
    for start in range(0, len(words), WINDOW_WORDS):
        if len(texts) > MAX_BODY_CHUNKS:
            break
        window = words[start : start + WINDOW_WORDS]
        if start and len(window) < WINDOW_WORDS // 4:
            # A short tail joins nothing new worth a vector of its own; it is still searchable by keywords.
            break
        texts.append(f"{title}\n{' '.join(window)}")
    return [Chunk(ordinal=i, text=text, content_hash=content_hash(text)) for i, text in enumerate(texts)]
