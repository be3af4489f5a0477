"""The text read on a screenshot travels from the redaction window to the ticket (``ocr_<n>``), also via the outbox.

Real redaction presenters (real encoder, a scripted OCR engine) hand their result to a real ``ChatPresenter`` the way
the shell does; the fake server checks every ``ocr_<n>`` part as the real one does and keeps what it accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from desktop.core.chat import ChatState
from desktop.core.geometry import Rect
from desktop.core.ocr_text import OcrUpload
from desktop.core.offline_queue import OfflineQueue
from desktop.core.redaction import OcrLine
from desktop.presenters.chat_presenter import OFFLINE_QUEUED_TEXT, ChatPresenter
from desktop.presenters.redaction_presenter import RedactionPresenter
from desktop.services.capture.ocr import OcrEngine
from desktop.services.capture.workers import ImageEncoder, SuggestionFinder
from desktop.services.offline_sender import OfflineSender
from tests.fixtures.fake_server import ACCOUNT, FakeServer
from tests.fixtures.images import png_bytes

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pytestqt.qtbot import QtBot

    from desktop.core.api import ApiClient

WAIT_MS = 5000
TITLE = OcrLine("Access is denied.", Rect(20, 10, 150, 20))
EMAIL = OcrLine("mail bob@corp.com", Rect(20, 100, 170, 20))  # suggested, so hidden
PRINTER = OcrLine("Printer HP-2 offline", Rect(20, 50, 140, 20))  # the user hides "HP-2"
PASSWORD = OcrLine("Password: hunter2", Rect(20, 80, 160, 16))  # suggested, so hidden
READY = OcrLine("Ready", Rect(20, 120, 40, 12))
SECRETS = (b"bob@corp.com", b"HP-2", b"hunter2")

Redact = Callable[..., RedactionPresenter]


def document(*lines: OcrLine) -> dict[str, object]:
    return OcrUpload("fake-ocr", "1.0", lines).document()


@pytest.fixture
def queue(tmp_path: Path, fake_server: FakeServer) -> OfflineQueue:
    return OfflineQueue(tmp_path / "outbox", fake_server.url, ACCOUNT)


@pytest.fixture
def chat(qtbot: QtBot, signed_in_client: ApiClient, queue: OfflineQueue) -> Iterator[ChatPresenter]:
    presenter = ChatPresenter(signed_in_client, queue=queue)
    try:
        yield presenter
    finally:
        presenter.shutdown()


@pytest.fixture
def redact(qtbot: QtBot, chat: ChatPresenter) -> Iterator[Redact]:
    """Redaction of a 200x150 screenshot whose OCR reads ``lines`` (no OCR at all without), attached to ``chat``."""
    encoder = ImageEncoder()
    workers: list[ImageEncoder | SuggestionFinder] = [encoder]

    def make(*lines: OcrLine, ocr: bool = True) -> RedactionPresenter:
        finder = None
        if ocr:
            finder = SuggestionFinder(lambda: OcrEngine("fake-ocr", "1.0", lambda _image: list(lines)))
            workers.append(finder)
        presenter = RedactionPresenter(Image.new("RGB", (200, 150), (236, 236, 236)), encoder, finder)
        presenter.accepted.connect(chat.attach)  # as the shell connects them, through the capture flow
        presenter.start()
        qtbot.waitUntil(lambda: presenter.can_attach, timeout=WAIT_MS)
        return presenter

    yield make
    for worker in workers:
        worker.shutdown()


def attach(qtbot: QtBot, chat: ChatPresenter, presenter: RedactionPresenter) -> None:
    qtbot.waitUntil(lambda: presenter.can_attach, timeout=WAIT_MS)
    with qtbot.wait_signal(chat.attachments_changed, timeout=WAIT_MS):
        presenter.accept()


def test_a_ticket_asked_after_redaction_carries_each_screenshots_text_under_its_index(
    qtbot: QtBot, chat: ChatPresenter, redact: Redact, fake_server: FakeServer
) -> None:
    # GIVEN two screenshots: an email hidden by its suggestion on the first; a password hidden by its suggestion
    # and the printer's name by the user's own box on the second
    first = redact(TITLE, EMAIL)
    attach(qtbot, chat, first)
    second = redact(PRINTER, PASSWORD, READY)
    second.add_box(Rect(95, 55, 40, 12))
    attach(qtbot, chat, second)

    # WHEN the user asks
    with qtbot.wait_signal(chat.draft_cleared, timeout=WAIT_MS):
        chat.send("I can't print")

    # THEN each screenshot's untouched lines arrived as ocr_<its index>, and no hidden word left the machine
    (ticket,) = fake_server.tickets
    assert len(ticket.screenshots) == 2
    assert ticket.ocr == {0: document(TITLE), 1: document(READY)}
    (request,) = [r for r in fake_server.requests if r.route == "create"]
    assert not [secret for secret in SECRETS if secret in request.body]


def test_without_ocr_no_text_part_is_sent(
    qtbot: QtBot, chat: ChatPresenter, redact: Redact, fake_server: FakeServer
) -> None:
    attach(qtbot, chat, redact(ocr=False))
    attach(qtbot, chat, redact(TITLE))

    with qtbot.wait_signal(chat.draft_cleared, timeout=WAIT_MS):
        chat.send("Access is denied")

    (ticket,) = fake_server.tickets
    assert ticket.ocr == {1: document(TITLE)}  # the first screenshot is read by the server
    (request,) = [r for r in fake_server.requests if r.route == "create"]
    assert b'name="ocr_0"' not in request.body
    assert b'name="ocr_1"' in request.body


def test_a_question_queued_offline_carries_the_text_when_it_is_sent_later(
    qtbot: QtBot, chat: ChatPresenter, fake_server: FakeServer, queue: OfflineQueue, signed_in_client: ApiClient
) -> None:
    # GIVEN two screenshots with their text, asked while the server is down
    texts = (OcrUpload("fake-ocr", "1.0", (TITLE,)), OcrUpload("fake-ocr", "1.0", (PRINTER, READY)))
    for text in texts:
        chat.attach(png_bytes(200, 150), "image/png", text)
    fake_server.stop()
    with qtbot.wait_signal(chat.queued, timeout=WAIT_MS):
        chat.send("Printing fails")
    qtbot.waitUntil(lambda: chat.state is ChatState.FAILED, timeout=WAIT_MS)
    assert chat.error_text == OFFLINE_QUEUED_TEXT

    # THEN the text waits on disk with its screenshot (as the app reads it after a restart)
    (entry,) = OfflineQueue(queue.directory.parent, fake_server.url, ACCOUNT).pending()
    assert tuple(a.ocr for a in entry.question.attachments) == texts

    # WHEN the server is back and the sender drains the queue
    fake_server.start()
    sender = OfflineSender(queue, lambda q, key: signed_in_client.create_ticket(q, idempotency_key=key), interval_ms=0)
    sender.sent.connect(chat.on_queued_sent)
    try:
        with qtbot.wait_signal(chat.draft_cleared, timeout=WAIT_MS):
            sender.drain()
    finally:
        sender.stop()

    # THEN the one ticket carries both texts under their screenshots' indexes
    (ticket,) = fake_server.tickets
    assert ticket.idempotency_key == entry.idempotency_key
    assert ticket.ocr == {0: texts[0].document(), 1: texts[1].document()}


def test_sending_again_while_queued_reuses_the_queued_key_with_the_same_text(
    qtbot: QtBot, chat: ChatPresenter, fake_server: FakeServer, queue: OfflineQueue
) -> None:
    chat.attach(png_bytes(200, 150), "image/png", OcrUpload("fake-ocr", "1.0", (TITLE,)))
    fake_server.stop()
    with qtbot.wait_signal(chat.queued, timeout=WAIT_MS):
        chat.send("Access is denied")
    qtbot.waitUntil(lambda: chat.state is ChatState.FAILED, timeout=WAIT_MS)
    (entry,) = queue.pending()

    fake_server.start()
    with qtbot.wait_signal(chat.draft_cleared, timeout=WAIT_MS):
        chat.send("Access is denied")

    (ticket,) = fake_server.tickets
    assert ticket.idempotency_key == entry.idempotency_key  # the queued copy, text and all, is the same question
    assert ticket.ocr == {0: document(TITLE)}


def test_refused_text_is_said_and_the_question_and_screenshot_stay(
    qtbot: QtBot, chat: ChatPresenter, fake_server: FakeServer
) -> None:
    outside = OcrUpload("fake-ocr", "1.0", (OcrLine("past the edge", Rect(190, 10, 40, 10)),))
    chat.attach(png_bytes(200, 150), "image/png", outside)

    with qtbot.wait_signal(chat.field_errors_changed, timeout=WAIT_MS, check_params_cb=bool) as errors:
        chat.send("Access is denied")
    qtbot.waitUntil(lambda: chat.state is ChatState.FAILED, timeout=WAIT_MS)

    assert list(errors.args[0]) == ["ocr_0"]
    assert "refused the text Tech Pal read on a screenshot" in chat.error_text
    assert chat.session.draft_text == "Access is denied"
    assert [a.ocr for a in chat.attachments] == [outside]
    assert fake_server.tickets == []
