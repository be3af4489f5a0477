"""The text the desktop read on a screenshot, against the real server app: kept as the screenshot's text, checked.

The screenshot's dialog says :data:`~tests.fixtures.images.DIALOG_ERROR`, which the server's own OCR would read: its
absence from the stored text shows the server took the desktop's lines instead of reading the image again.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from desktop.core.api import ApiClient, ApiError
from desktop.core.auth import MemoryTokenStore
from desktop.core.geometry import Rect
from desktop.core.ocr_text import OcrReading, OcrUpload, shareable_text
from desktop.core.question import Attachment, Question
from desktop.core.redaction import OcrLine
from tests.fixtures.auth import TEST_PASSWORD
from tests.fixtures.db import fetch_rows
from tests.fixtures.images import DIALOG_ERROR, desktop_screenshot, png_bytes
from tests.fixtures.mail import link_token

if TYPE_CHECKING:
    from collections.abc import Iterator

    from server.settings import Settings
    from tests.fixtures.mail import Mailbox
    from tests.fixtures.server import LiveServer

pytestmark = pytest.mark.usefixtures("anyio_backend")  # the server fixtures are async
EMAIL = "ocr@example.com"


@pytest.fixture
def api(live_server: LiveServer, mailbox: Mailbox) -> Iterator[ApiClient]:
    """Signed in the way the app signs in: register, open the mailed link, log in."""
    with ApiClient(live_server.url, tokens=MemoryTokenStore()) as client:
        client.register(name="Ocr User", email=EMAIL, username="ocr", password=TEST_PASSWORD, age_confirmed=True)
        client.verify_email(link_token([m for m in mailbox.messages() if m["To"] == EMAIL][-1], "verify-email"))
        client.login(EMAIL, TEST_PASSWORD, device_name="pytest desktop")
        yield client


def stored_texts(settings: Settings, ticket_id: str) -> list[str]:
    """The OCR text the server keeps for each screenshot of the ticket (the API does not show it)."""
    assert settings.db.url is not None
    sql = "SELECT ocr_text FROM ticket_screenshots WHERE ticket_id = $1::uuid ORDER BY position"
    rows = asyncio.run(fetch_rows(settings.db.url.get_secret_value(), sql, ticket_id))
    return [row["ocr_text"] for row in rows]


def test_the_server_keeps_the_desktops_text_instead_of_reading_the_screenshot(
    api: ApiClient, settings: Settings
) -> None:
    # GIVEN what the desktop read on a 1920x1080 screenshot, with a password line under a redaction box
    reading = OcrReading(
        "rapidocr",
        "3.4.0",
        (
            OcrLine("Printer offline", Rect(10, 10, 120, 14)),
            OcrLine("Password: hunter2", Rect(10, 40, 160, 14)),
            OcrLine("Retry later", Rect(10, 70, 90, 14)),
        ),
    )
    text = shareable_text(reading, [Rect(90, 40, 80, 14)], 1920, 1080)
    screenshot = Attachment("screen.png", desktop_screenshot(), "image/png", text)

    # WHEN it asks with that screenshot
    ticket = api.create_ticket(Question("I can't print", (screenshot,)))

    # THEN the server's text for it is the desktop's untouched lines, not what it would have read itself
    [stored] = stored_texts(settings, str(ticket.id))
    assert stored == "Printer offline\nRetry later"
    assert DIALOG_ERROR not in stored


def test_text_outside_the_image_is_refused_as_invalid_ocr(api: ApiClient) -> None:
    outside = OcrUpload("rapidocr", "3.4.0", (OcrLine("past the edge", Rect(50, 10, 40, 10)),))  # 64 px wide
    first, second = (Attachment(name, png_bytes(64, 48), "image/png") for name in ("a.png", "b.png"))
    question = Question("I can't print", (first, Attachment(second.filename, second.data, "image/png", outside)))

    with pytest.raises(ApiError) as refused:
        api.create_ticket(question)

    assert (refused.value.status, refused.value.code) == (422, "invalid_ocr")
    assert [error.field for error in refused.value.field_errors] == ["ocr_1"]
    assert api.list_tickets().items == []
