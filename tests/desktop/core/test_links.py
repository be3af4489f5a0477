"""Answers are untrusted: only web links open (after showing the URL), nothing loads by itself."""

from __future__ import annotations

import pytest

from desktop.core.links import answer_to_html, check_link


@pytest.mark.parametrize(
    ("href", "url"),
    [
        ("https://support.example.com/kb/123?x=1#fix", "https://support.example.com/kb/123?x=1#fix"),
        ("HTTP://Example.COM/Path", "http://example.com/Path"),
        ("  https://example.com  ", "https://example.com"),
        ("https://exämple.com/", "https://xn--exmple-cua.com/"),  # the look-alike shows as punycode
        ("http://[::1]:8080/", "http://[::1]:8080/"),
        ("https://example.com:8443", "https://example.com:8443"),
    ],
)
def test_web_links_are_allowed_with_their_full_url(href: str, url: str) -> None:
    check = check_link(href)

    assert check.allowed
    assert check.url == url
    assert check.reason == ""


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "file:///etc/passwd",
        "data:text/html,<script>alert(1)</script>",
        "ms-settings:network",
        "smb://server/share",
        "vbscript:msgbox",
        "mailto:a@example.com",
        "/relative/path",
        "//example.com/no-scheme",
        "https://",
        "https:///path-only",
        "https://user:pass@example.com/",
        "https://example.com@evil.test/",
        "https://example.com:99999/",
        "https://exa mple.com/",
        "",
    ],
)
def test_everything_else_is_refused_with_a_reason(href: str) -> None:
    check = check_link(href)

    assert not check.allowed
    assert check.url == ""
    assert check.reason


def test_markdown_renders_and_keeps_web_links() -> None:
    rendered = answer_to_html("**Restart** the spooler, see [the article](https://kb.example.com/1) [1].")

    assert "<strong>Restart</strong>" in rendered
    assert '<a href="https://kb.example.com/1">the article</a>' in rendered


@pytest.mark.parametrize(
    "markdown",
    [
        "[click](javascript:alert(1))",
        "[click](file:///etc/passwd)",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "<javascript:alert(1)>",
    ],
)
def test_dangerous_links_are_not_rendered_as_links(markdown: str) -> None:
    assert "<a " not in answer_to_html(markdown)


@pytest.mark.parametrize(
    "markdown",
    [
        "![tracking pixel](https://tracker.example.com/p.png)",
        '<img src="https://tracker.example.com/p.png">',
        "<script>alert(1)</script>",
        '<a href="javascript:alert(1)">x</a>',
        "<iframe src=https://evil.test></iframe>",
    ],
)
def test_no_image_script_or_raw_html_survives(markdown: str) -> None:
    rendered = answer_to_html(markdown)

    for tag in ("<img", "<script", "<a ", "<iframe"):
        assert tag not in rendered


def test_an_image_becomes_its_alt_text() -> None:
    assert "[image: printer panel]" in answer_to_html("![printer panel](https://x.test/p.png)")


def test_code_blocks_are_escaped() -> None:
    rendered = answer_to_html("```\n<b>not bold</b>\n```")

    assert "&lt;b&gt;not bold&lt;/b&gt;" in rendered
