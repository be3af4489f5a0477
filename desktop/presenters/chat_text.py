"""What the chat shows in words: its sentences, and a conversation as safe HTML.

Untrusted text (the user's, the model's, an agent's) is escaped; answers' Markdown goes through
:func:`~desktop.core.links.answer_to_html`; citations become numbered links only where
:func:`~desktop.core.links.check_link` allows, with the CC BY 4.0 attribution that seed articles need.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Final

from desktop.core.links import answer_to_html, check_link

if TYPE_CHECKING:
    from collections.abc import Sequence

    from desktop.core.api import Citation, QuotaExceeded
    from desktop.core.chat import ChatMessage

__all__ = [
    "EMPTY_QUESTION_TEXT",
    "NOTICE_TEXT",
    "OFFLINE_KEPT_TEXT",
    "OFFLINE_QUEUED_TEXT",
    "SEED_ATTRIBUTION",
    "SIGN_IN_TEXT",
    "STOPPED_TEXT",
    "citation_attribution",
    "message_html",
    "quota_text",
]

OFFLINE_QUEUED_TEXT: Final = "You're offline — your question is saved and will be sent when the server is back."
OFFLINE_KEPT_TEXT: Final = "You're offline — your text is kept. Send it again when the server is back."
NOTICE_TEXT: Final = "The AI model could not answer; here is what the knowledge base suggests."
STOPPED_TEXT: Final = "Stopped. Your question is kept; press Send to ask again."
SIGN_IN_TEXT: Final = "Your session has ended. Please sign in again — your question is kept."
EMPTY_QUESTION_TEXT: Final = "Describe the problem first."
SEED_ATTRIBUTION: Final = "Microsoft support articles, CC BY 4.0, modified"
CC_BY_URL: Final = "https://creativecommons.org/licenses/by/4.0/"
# Seed articles link to their source file in these repositories (server/domain/knowledge/importer.py).
_SEED_SOURCE_PREFIX: Final = "https://github.com/MicrosoftDocs/"
_ROLE_NAMES: Final = {"user": "You", "assistant": "Tech Pal", "agent": "Support agent"}


def citation_attribution(citation: Citation) -> str | None:
    """The licence line a cited seed article needs (CC BY 4.0), or ``None`` for our own articles."""
    if (citation.source_url or "").startswith(_SEED_SOURCE_PREFIX):
        return SEED_ATTRIBUTION
    return None


def quota_text(error: QuotaExceeded) -> str:
    """The quota panel's sentence, e.g. "You've used all 10 answers of the free plan. It resets on June 1, 2026."."""
    if error.quota is not None and error.plan:
        first = f"You've used all {error.quota} answers of the {error.plan} plan for this period."
    else:
        first = error.message
    if error.resets_at is None:
        return first
    local = error.resets_at.astimezone()
    return f"{first} It resets on {local:%B} {local.day}, {local.year}."


def message_html(message: ChatMessage) -> str:
    """One message as safe HTML: who wrote it, its text (a user's screenshots counted) and its citations."""
    who = html.escape(_ROLE_NAMES.get(message.role, message.role.title()))
    header = f'<p style="margin-top:12px"><b>{who}</b></p>'
    if message.role == "user":
        body = "<p>" + html.escape(message.text).replace("\n", "<br/>") + "</p>"
        if message.attachments:
            count = len(message.attachments)
            body += f"<p><i>{count} screenshot{'s' if count != 1 else ''} attached</i></p>"
    else:
        body = answer_to_html(message.text)
    return header + body + citations_html(message.citations)


def citations_html(citations: Sequence[Citation]) -> str:
    """Numbered sources; a link only where :func:`check_link` allows it, with CC BY attribution for seed articles."""
    if not citations:
        return ""
    rows = []
    for position, citation in enumerate(citations, start=1):
        number = citation.number or position
        title = html.escape(citation.title or "Untitled article")
        link = check_link(citation.source_url) if citation.source_url else None
        if link is not None and link.allowed:
            href = html.escape(link.url, quote=True)
            row = f'[{number}] <a href="{href}">{title}</a><br/><small>{html.escape(link.url)}</small>'
        else:
            row = f"[{number}] {title}"
        attribution = citation_attribution(citation)
        if attribution is not None:
            row += f'<br/><small>{html.escape(attribution)} — <a href="{CC_BY_URL}">licence</a></small>'
        rows.append(f'<p style="margin-left:12px">{row}</p>')
    return "<p><b>Sources</b></p>" + "".join(rows)
