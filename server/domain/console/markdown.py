"""Markdown to safe HTML for the console: answers, agents' replies and their previews.

CommonMark with raw HTML off (any HTML in the text is shown as text), link targets checked by markdown-it (no
``javascript:`` or ``data:``), and no images: an image would load from wherever its author pointed it (the page's CSP
would block it anyway), so it becomes a link to its address, labelled with its alt text. Knowledge-base articles are
rendered with ``line_breaks``: the seed articles are plain text, one step a line, and must keep their lines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markupsafe import Markup

if TYPE_CHECKING:
    from collections.abc import Sequence

    from markdown_it.renderer import RendererHTML
    from markdown_it.token import Token
    from markdown_it.utils import EnvType, OptionsDict

__all__ = ["MarkdownRenderer"]

# Links open a page outside the console: it learns neither where the agent came from nor gets a handle on this tab.
LINK_REL = "noopener noreferrer nofollow"


def _link_open(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    tokens[idx].attrSet("rel", LINK_REL)
    return self.renderToken(tokens, idx, options, env)


def _image(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    source = escapeHtml(str(token.attrGet("src") or ""))
    label = escapeHtml(self.renderInlineAsText(token.children or [], options, env) or "image")
    return f'<a href="{source}" rel="{LINK_REL}">{label}</a>'


class MarkdownRenderer:
    """Render Markdown to HTML that is safe to put in a page as is."""

    def __init__(self, *, line_breaks: bool = False) -> None:
        options = {"html": False, "linkify": False, "typographer": False, "breaks": line_breaks}
        self._md = MarkdownIt("commonmark", options)
        self._md.add_render_rule("link_open", _link_open)
        self._md.add_render_rule("image", _image)

    def __call__(self, text: Any) -> Markup:
        """``text`` as HTML, marked safe for Jinja (it escaped everything that was not Markdown)."""
        return Markup(self._md.render(str(text or "")))  # noqa: S704 - markdown-it escaped all raw HTML (html=False)
