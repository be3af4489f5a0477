"""What the desktop's OCR read, sent with a screenshot (``ocr_<n>``): used as the text, checked, never half-stored."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.fixtures.db import query
from tests.fixtures.images import DIALOG_ERROR, desktop_screenshot, png_bytes
from tests.fixtures.tickets import create_ticket

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from server.settings import Settings
    from tests.fixtures.auth import TestUser


def ocr_part(index: int, lines: list[dict[str, Any]], **fields: Any) -> tuple[str, str]:
    """The form part ``ocr_<index>`` with ``lines``; ``fields`` override or add top-level fields."""
    document = {"engine": "rapidocr", "version": "3.4.2", "lines": lines, **fields}
    return (f"ocr_{index}", json.dumps(document))


def line(text: str, x: int, y: int, w: int = 40, h: int = 10) -> dict[str, Any]:
    return {"text": text, "box": [x, y, w, h]}


async def stored_texts(settings: Settings, ticket_id: str) -> list[str]:
    sql = "SELECT ocr_text FROM ticket_screenshots WHERE ticket_id = $1::uuid ORDER BY position"
    return [row["ocr_text"] for row in await query(settings, sql, ticket_id)]


async def counts(settings: Settings) -> tuple[int, int]:
    tickets = await query(settings, "SELECT count(*) AS n FROM tickets")
    shots = await query(settings, "SELECT count(*) AS n FROM ticket_screenshots")
    return tickets[0]["n"], shots[0]["n"]


@pytest.mark.slow
async def test_the_desktops_lines_are_the_text_and_the_image_is_not_read_again(
    client: AsyncTestClient[Litestar], settings: Settings, signed_in_user: TestUser
) -> None:
    screen = desktop_screenshot()  # its dialog says DIALOG_ERROR: the server's OCR would read it
    lines = [line("Second row right", 300, 52), line("Top line", 10, 10), line("Second row left", 10, 50)]
    created = await create_ticket(
        client,
        signed_in_user,
        screenshots=[screen, png_bytes(400, 300)],
        extra=[ocr_part(0, lines)],
    )

    first, second = await stored_texts(settings, created.json()["id"])
    assert first == "Top line\nSecond row left\nSecond row right"  # reading order, not the order sent
    assert DIALOG_ERROR not in first
    assert second == ""  # no lines sent for it: the server read it (a two-tone image has no text)


@pytest.mark.parametrize(
    ("parts", "field"),
    [
        ([ocr_part(0, [line("off the edge", 380, 10, w=40)])], "ocr_0"),  # x + w > 400
        ([ocr_part(0, [line("below", 10, 295, h=10)])], "ocr_0"),  # y + h > 300
        ([ocr_part(0, [line("empty box", 10, 10, w=0)])], "ocr_0"),
        ([ocr_part(0, [line(f"line {n}", 0, 0, 1, 1) for n in range(2001)])], "ocr_0"),
        ([ocr_part(0, [line("x", 1, 1)], hostname="build-07")], "ocr_0"),
        ([ocr_part(0, [{"text": "x", "box": [1, 1, 2]}])], "ocr_0"),
        ([ocr_part(0, [line("nul\u0000byte", 1, 1)])], "ocr_0"),
        ([ocr_part(0, [line("", 1, 1)])], "ocr_0"),
        ([ocr_part(0, [], engine="")], "ocr_0"),
        ([("ocr_0", "{not json")], "ocr_0"),
        ([ocr_part(1, [line("x", 1, 1)])], "ocr_1"),  # there is no second screenshot
        ([ocr_part(0, []), ocr_part(0, [])], "ocr_0"),
    ],
)
async def test_a_bad_ocr_part_is_refused_and_nothing_is_stored(
    client: AsyncTestClient[Litestar],
    settings: Settings,
    signed_in_user: TestUser,
    parts: list[tuple[str, str]],
    field: str,
) -> None:
    response = await create_ticket(client, signed_in_user, screenshots=[png_bytes(400, 300)], extra=parts, expect=None)

    assert response.status_code == 422, response.text
    assert response.json()["code"] in {"invalid_ocr", "validation_error"}
    assert field in response.text
    assert await counts(settings) == (0, 0)
    assert not [p for p in (settings.data_dir / "blobs").rglob("*") if p.is_file()]


async def test_an_ocr_part_is_part_of_the_idempotent_request(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser
) -> None:
    shot = png_bytes(400, 300)
    first = [ocr_part(0, [line("Printer offline", 10, 10)])]
    created = await create_ticket(client, signed_in_user, screenshots=[shot], extra=first, idempotency_key="k-ocr")
    again = await create_ticket(client, signed_in_user, screenshots=[shot], extra=first, idempotency_key="k-ocr")
    assert again.json()["id"] == created.json()["id"]

    other = [ocr_part(0, [line("Printer online", 10, 10)])]
    reused = await create_ticket(
        client, signed_in_user, screenshots=[shot], extra=other, idempotency_key="k-ocr", expect=422
    )
    assert reused.json()["code"] == "idempotency_key_reused"
