"""Redaction boxes, solid fills and secret suggestions: pure, no Qt."""

from __future__ import annotations

import pytest
from PIL import Image

from desktop.core.geometry import Rect
from desktop.core.redaction import (
    FILL_COLOR,
    OcrLine,
    RedactionOrigin,
    RedactionSet,
    SecretKind,
    apply_redactions,
    find_secrets,
    suggest_redactions,
)


def noisy_image(width: int = 40, height: int = 30) -> Image.Image:
    """An RGB image where no pixel is black, so every black pixel was put there by a fill."""
    image = Image.new("RGB", (width, height))
    image.putdata([(10 + x * 5 % 240, 20 + y * 7 % 230, 200) for y in range(height) for x in range(width)])
    return image


def black_pixels(image: Image.Image) -> set[tuple[int, int]]:
    return {(x, y) for y in range(image.height) for x in range(image.width) if image.getpixel((x, y)) == FILL_COLOR}


def test_a_fill_covers_exactly_the_box_and_nothing_else() -> None:
    source = noisy_image()

    redacted = apply_redactions(source, [Rect(3, 4, 7, 5)])

    assert black_pixels(redacted) == {(x, y) for x in range(3, 10) for y in range(4, 9)}
    assert black_pixels(source) == set()  # the original is untouched


def test_boxes_outside_the_image_are_clamped_and_the_result_is_rgb() -> None:
    source = noisy_image(10, 10).convert("RGBA")

    redacted = apply_redactions(source, [Rect(-5, -5, 7, 8), Rect(8, 8, 42, 42), Rect(20, 20, 10, 10)])

    assert redacted.mode == "RGB"
    assert black_pixels(redacted) == {(x, y) for x in range(2) for y in range(3)} | {(8, 8), (9, 8), (8, 9), (9, 9)}


def test_user_boxes_are_removable_and_suggestions_toggle() -> None:
    boxes = RedactionSet(100, 50)
    mine = boxes.add(Rect(0, 0, 10, 10))
    [suggested] = boxes.add_suggestions([(Rect(20, 5, 40, 10), SecretKind.EMAIL, "a@b.io")])
    assert mine is not None
    assert mine.origin is RedactionOrigin.USER
    assert suggested.origin is RedactionOrigin.SUGGESTED
    assert suggested.enabled  # pre-applied
    assert boxes.applied_boxes() == [Rect(0, 0, 10, 10), Rect(20, 5, 40, 10)]

    boxes.set_enabled(suggested.id, False)
    assert boxes.applied_boxes() == [Rect(0, 0, 10, 10)]
    assert boxes.remove(mine.id)
    assert boxes.applied_boxes() == []
    assert len(boxes) == 1
    assert boxes.add(Rect(200, 200, 100, 100)) is None  # entirely off the image


def test_topmost_box_at_a_point_is_the_latest() -> None:
    boxes = RedactionSet(100, 100)
    first = boxes.add(Rect(0, 0, 50, 50))
    second = boxes.add(Rect(25, 25, 50, 50))
    assert first is not None
    assert second is not None

    assert boxes.topmost_at(30, 30) == second
    assert boxes.topmost_at(10, 10) == first
    assert boxes.topmost_at(90, 90) is None


@pytest.mark.parametrize(
    ("text", "kind", "secret"),
    [
        ("Signed in as john.doe+it@example.co.uk today", SecretKind.EMAIL, "john.doe+it@example.co.uk"),
        ("Ping 192.168.1.20 failed", SecretKind.IP_ADDRESS, "192.168.1.20"),
        ("Gateway: 10.0.0.1.", SecretKind.IP_ADDRESS, "10.0.0.1"),
        ("inet6 2001:db8::8a2e:370:7334 scope global", SecretKind.IP_ADDRESS, "2001:db8::8a2e:370:7334"),
        ("fe80::1ff:fe23:4567:890a", SecretKind.IP_ADDRESS, "fe80::1ff:fe23:4567:890a"),
        ("OPENAI_API_KEY=sk-proj-abcDEF1234567890ghijKLMN", SecretKind.KEY, "sk-proj-abcDEF1234567890ghijKLMN"),
        ("token ghp_aBcD1234567890aBcD1234567890aBcD1234", SecretKind.KEY, "ghp_aBcD1234567890aBcD1234567890aBcD1234"),
        ("aws_access_key_id AKIAIOSFODNN7EXAMPLE", SecretKind.KEY, "AKIAIOSFODNN7EXAMPLE"),
        ("secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", SecretKind.KEY, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ("Bearer Zm9vYmFyMTIzNDU2Nzg5MGFiY2RlZmdo", SecretKind.KEY, "Zm9vYmFyMTIzNDU2Nzg5MGFiY2RlZmdo"),
        ("Password: hunter2", SecretKind.PASSWORD, "hunter2"),
        ("wifi passwd=Tr0ub4dor&3", SecretKind.PASSWORD, "Tr0ub4dor&3"),
    ],
)
def test_secrets_are_found(text: str, kind: SecretKind, secret: str) -> None:
    matches = find_secrets(text)

    assert [(m.kind, m.text) for m in matches] == [(kind, secret)]
    assert text[matches[0].start : matches[0].end] == secret


@pytest.mark.parametrize(
    "text",
    [
        "Error 0x80070005: Access is denied.",
        "Windows 10 Version 22H2 (OS Build 19045.2965)",
        "Microsoft Office 16.0.17328.20162",
        "Version 1.0.0.0",
        "python 3.11.4 on linux",
        "Update KB5005565 failed with error code 0x800f0922",
        "Last sync at 12:30:45",
        "C:/Users/john/AppData/Local/Temp/setup123.log",
        "https://support.microsoft.com/en-us/windows/troubleshoot-2d3f2e5c",
        "CLSID {3F2504E0-4F89-11D3-9A0C-0305E82C3301} not registered",
        "Password: ********",
        "The quick brown fox jumps over the lazy dog",
        "InternationalizationConfigurationManager",
    ],
)
def test_non_secrets_are_not_suggested(text: str) -> None:
    assert find_secrets(text) == []


def test_several_secrets_in_one_line_come_in_order_without_overlap() -> None:
    matches = find_secrets("user bob@corp.com from 172.16.0.9 password: p4ss")

    assert [(m.kind, m.text) for m in matches] == [
        (SecretKind.EMAIL, "bob@corp.com"),
        (SecretKind.IP_ADDRESS, "172.16.0.9"),
        (SecretKind.PASSWORD, "p4ss"),
    ]


def test_suggested_boxes_cover_the_secret_part_of_the_line_with_padding() -> None:
    # 10 px per character: "IP: 10.0.0.1" has the address at characters 4..12.
    line = OcrLine("IP: 10.0.0.1 ok", Rect(100, 50, 150, 20))

    [(box, kind, text)] = suggest_redactions([line])

    assert (kind, text) == (SecretKind.IP_ADDRESS, "10.0.0.1")
    assert box.x <= 140
    assert box.right >= 220
    assert box.x >= 100 - 10
    assert box.right <= 230
    assert box.y < 50
    assert box.bottom > 70
