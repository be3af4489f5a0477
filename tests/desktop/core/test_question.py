"""A question's invariants: what the server would refuse is caught before it is sent or queued."""

from __future__ import annotations

import pytest

from desktop.core.question import MAX_SCREENSHOTS, Attachment, Question


def test_an_attachment_hides_its_bytes_in_repr() -> None:
    assert "secret-pixels" not in repr(Attachment("a.png", b"secret-pixels", "image/png"))


@pytest.mark.parametrize("media_type", ["image/gif", "image/svg+xml", "text/html", ""])
def test_only_png_jpeg_webp(media_type: str) -> None:
    with pytest.raises(ValueError, match="PNG, JPEG or WebP"):
        Attachment("a.img", b"x", media_type)


@pytest.mark.parametrize("name", ["", "../a.png", "dir/a.png", "c:\\a.png"])
def test_file_names_are_plain(name: str) -> None:
    with pytest.raises(ValueError, match="file name"):
        Attachment(name, b"x", "image/png")


def test_a_question_needs_words_and_at_most_five_screenshots() -> None:
    shot = Attachment("a.png", b"x", "image/png")

    with pytest.raises(ValueError, match="description"):
        Question("  ")
    with pytest.raises(ValueError, match="at most"):
        Question("help", (shot,) * (MAX_SCREENSHOTS + 1))
    assert len(Question("help", (shot,) * MAX_SCREENSHOTS).attachments) == MAX_SCREENSHOTS
