"""Which links in an answer may be opened, and answer Markdown as HTML that cannot reach out by itself.

Answers are untrusted text (a knowledge-base article or a model can contain anything), so:

* only ``http``/``https`` links with a host open, always after the user saw the full URL
  (:func:`check_link` returns it, with the host in its ASCII/punycode form so look-alike letters show);
  ``javascript:``, ``file:``, ``data:``, custom schemes and URLs with embedded credentials are refused;
* :func:`answer_to_html` escapes raw HTML and turns images into their alt text, so nothing loads from a
  remote server when an answer is displayed (no tracking pixels, no leaks of the user's IP address).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

__all__ = ["LinkCheck", "answer_to_html", "check_link"]

ALLOWED_SCHEMES: Final = frozenset({"http", "https"})
_CONTROL: Final = re.compile(r"[\x00-\x20\x7f-\x9f]")


@dataclass(frozen=True, slots=True)
class LinkCheck:
    """Verdict on one link.

    Attributes:
        allowed: Whether it may be opened (after the user confirms).
        url: The full URL to show in the confirmation prompt and to open; empty when refused.
        reason: Why it was refused, in words; empty when allowed.
    """

    allowed: bool
    url: str = ""
    reason: str = ""


def check_link(href: str) -> LinkCheck:
    """Decide whether ``href`` may be opened in the browser."""
    candidate = href.strip()
    malformed = LinkCheck(False, reason="This link is malformed.")
    if not candidate or _CONTROL.search(candidate):
        return malformed
    try:
        parts = urlsplit(candidate)
        port = parts.port
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        return malformed
    reason = _refusal(parts.scheme, host, parts.username, parts.password)
    if reason:
        return LinkCheck(False, reason=reason)
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    return LinkCheck(True, url=urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment)))


def _refusal(scheme: str, host: str, username: str | None, password: str | None) -> str:
    if scheme.lower() not in ALLOWED_SCHEMES:
        return "Only web links (http and https) can be opened from an answer."
    if not host:
        return "This link has no web address."
    if username is not None or password is not None:
        return "This link hides its real address behind a user name; it was blocked."
    return ""


def answer_to_html(markdown: str) -> str:
    """Render an answer's Markdown (CommonMark + tables + strikethrough) as HTML safe to display.

    Raw HTML in the answer is shown as text, images become their alt text, and links keep their ``href``
    only when :func:`check_link` allows it (the view still asks before opening). ``markdown-it-py`` is
    imported here, not at module import, so the idle tray does not load it.
    """
    from markdown_it import MarkdownIt  # noqa: PLC0415 - heavy, and only needed when an answer is shown

    renderer = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
        ["table", "strikethrough"]
    )
    renderer.validateLink = lambda url: check_link(url).allowed  # type: ignore[method-assign]
    renderer.add_render_rule("image", _render_image_as_text)
    return str(renderer.render(markdown))


def _render_image_as_text(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    """``![alt](url)`` → ``[image: alt]``: remote images never load."""
    token = tokens[idx]
    alt = "".join(child.content for child in token.children or [])
    return f"<span>[image: {html.escape(alt)}]</span>" if alt else "<span>[image]</span>"
