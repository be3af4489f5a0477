"""``create_ticket`` sends the text read on each screenshot as the part ``ocr_<n>``, against the fake server."""

from __future__ import annotations

import email.parser
import email.policy
from typing import TYPE_CHECKING

import pytest

from desktop.core.api import ApiClient, ApiError
from desktop.core.geometry import Rect
from desktop.core.ocr_text import OcrUpload
from desktop.core.question import Attachment, Question
from desktop.core.redaction import OcrLine
from tests.fixtures.images import png_bytes

if TYPE_CHECKING:
    from email.message import EmailMessage

    from tests.fixtures.fake_server import FakeServer, RecordedRequest

TITLE = OcrUpload("rapidocr", "3.4.0", (OcrLine("Access is denied.", Rect(4, 4, 100, 14)),))
PRINTER = OcrUpload(
    "rapidocr", "3.4.0", (OcrLine("Printer offline", Rect(0, 30, 90, 12)), OcrLine("OK", Rect(5, 50, 20, 10)))
)


def shot(name: str, ocr: OcrUpload | None = None, width: int = 200, height: int = 100) -> Attachment:
    return Attachment(name, png_bytes(width, height), "image/png", ocr)


def parts(request: RecordedRequest) -> list[EmailMessage]:
    head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    return list(message.iter_parts())  # type: ignore[arg-type]


def ocr_parts(request: RecordedRequest) -> dict[str, EmailMessage]:
    named = {str(p.get_param("name", header="content-disposition")): p for p in parts(request)}
    return {name: part for name, part in named.items() if name.startswith("ocr_")}


def test_each_screenshots_text_goes_as_ocr_n_under_its_index(
    signed_in_client: ApiClient, fake_server: FakeServer
) -> None:
    question = Question("It broke", (shot("a.png", TITLE), shot("b.png"), shot("c.png", PRINTER)))

    signed_in_client.create_ticket(question, idempotency_key="key-1")

    (ticket,) = fake_server.tickets
    assert [name for name, _, _ in ticket.screenshots] == ["a.png", "b.png", "c.png"]
    assert ticket.ocr == {0: TITLE.document(), 2: PRINTER.document()}  # none for b.png: the server reads it
    (request,) = [r for r in fake_server.requests if r.route == "create"]
    sent = ocr_parts(request)
    assert sorted(sent) == ["ocr_0", "ocr_2"]
    assert all(p.get_content_type() == "application/json" and p.get_filename() is None for p in sent.values())
    assert sent["ocr_2"].get_payload(decode=True) == PRINTER.to_json()


def test_without_text_no_ocr_part_is_sent(signed_in_client: ApiClient, fake_server: FakeServer) -> None:
    signed_in_client.create_ticket(Question("It broke", (shot("a.png"), shot("b.png"))))

    (ticket,) = fake_server.tickets
    assert ticket.ocr == {}
    (request,) = [r for r in fake_server.requests if r.route == "create"]
    assert ocr_parts(request) == {}


def line(text: str, x: int, y: int, w: int, h: int) -> OcrLine:
    return OcrLine(text, Rect(x, y, w, h))


@pytest.mark.parametrize(
    "broken",
    [
        OcrUpload("rapidocr", "3.4.0", (line("past the right edge", 150, 10, 60, 10),)),
        OcrUpload("rapidocr", "3.4.0", (line("below the image", 10, 95, 60, 10),)),
        OcrUpload("rapidocr", "3.4.0", (line("no width", 10, 10, 0, 10),)),
        OcrUpload("rapidocr", "3.4.0", (line("bell\x07", 10, 10, 20, 10),)),
        OcrUpload("rapidocr", "3.4.0", (line("   ", 10, 10, 20, 10),)),
        OcrUpload("rapidocr", "3.4.0", (line("x" * 1001, 10, 10, 20, 10),)),
        OcrUpload("rapidocr", "3.4.0", tuple(line(f"line {n}", 0, 0, 1, 1) for n in range(2001))),
        OcrUpload("", "3.4.0", ()),
        OcrUpload("rapidocr", "v" * 41, ()),
    ],
    ids=["right", "bottom", "empty-box", "control", "blank", "long-text", "2001-lines", "no-engine", "long-version"],
)
def test_text_that_breaks_the_contract_is_refused_as_invalid_ocr(
    signed_in_client: ApiClient, fake_server: FakeServer, broken: OcrUpload
) -> None:
    question = Question("It broke", (shot("a.png", TITLE), shot("b.png", broken)))

    with pytest.raises(ApiError) as refused:
        signed_in_client.create_ticket(question)

    assert (refused.value.status, refused.value.code) == (422, "invalid_ocr")
    assert [error.field for error in refused.value.field_errors] == ["ocr_1"]
    assert "refused the text Tech Pal read on a screenshot" in refused.value.message
    assert fake_server.tickets == []
