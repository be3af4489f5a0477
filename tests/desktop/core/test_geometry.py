"""Region geometry on scaled screens: logical ↔ physical pixels, drags in any direction, clamping."""

from __future__ import annotations

import math

import pytest

from desktop.core.geometry import Rect, clamp, from_drag, to_logical, to_physical

RATIOS = [1.0, 1.25, 1.5, 2.0]


@pytest.mark.parametrize(
    ("ratio", "logical", "physical"),
    [
        (1.0, Rect(10, 20, 100, 50), Rect(10, 20, 100, 50)),
        (1.25, Rect(10, 20, 100, 50), Rect(12, 25, 126, 63)),  # 12.5→12, 137.5→138, 87.5→88: outward
        (1.25, Rect(8, 16, 80, 40), Rect(10, 20, 100, 50)),  # exact
        (1.5, Rect(10, 20, 100, 50), Rect(15, 30, 150, 75)),
        (1.5, Rect(1, 1, 1, 1), Rect(1, 1, 2, 2)),  # 1.5..3.0 covers pixels 1 and 2
        (2.0, Rect(10, 20, 100, 50), Rect(20, 40, 200, 100)),
    ],
)
def test_logical_to_physical(ratio: float, logical: Rect, physical: Rect) -> None:
    assert to_physical(logical, ratio) == physical


@pytest.mark.parametrize("ratio", RATIOS)
def test_physical_covers_every_pixel_the_user_saw(ratio: float) -> None:
    for x in range(7):
        rect = Rect(x, x, 3 + x, 2 + x)
        physical = to_physical(rect, ratio)
        assert physical.x <= rect.x * ratio
        assert physical.y <= rect.y * ratio
        assert physical.right >= rect.right * ratio
        assert physical.bottom >= rect.bottom * ratio
        assert physical.right - rect.right * ratio < 1
        assert rect.x * ratio - physical.x < 1


@pytest.mark.parametrize("ratio", RATIOS)
def test_round_trip_of_an_exact_rectangle_is_identity(ratio: float) -> None:
    # A logical rect whose corners land on whole physical pixels survives both ways.
    step = 4  # 4 × each ratio is a whole number
    rect = Rect(step * 3, step * 5, step * 10, step * 7)

    assert to_logical(to_physical(rect, ratio), ratio) == rect


@pytest.mark.parametrize("ratio", RATIOS)
def test_a_full_screen_selection_is_exactly_the_physical_screen(ratio: float) -> None:
    logical_screen = Rect(0, 0, 1536, 864) if ratio == 1.25 else Rect(0, 0, 1280, 720)
    physical_screen = Rect(0, 0, math.ceil(logical_screen.width * ratio), math.ceil(logical_screen.height * ratio))

    assert to_physical(logical_screen, ratio, screen=physical_screen) == physical_screen


@pytest.mark.parametrize("ratio", RATIOS)
def test_a_selection_past_the_edge_is_clamped_to_the_screen(ratio: float) -> None:
    screen = Rect(0, 0, round(1280 * ratio), round(720 * ratio))

    clamped = to_physical(Rect(1200, 700, 500, 500), ratio, screen=screen)

    assert screen.contains(clamped)
    assert clamped.right == screen.right
    assert clamped.bottom == screen.bottom
    assert clamped.x == math.floor(1200 * ratio)


def test_drag_in_any_direction_gives_the_same_rect() -> None:
    expected = Rect(10, 20, 91, 41)

    assert from_drag((10, 20), (100.5, 60.2)) == expected
    assert from_drag((100.5, 60.2), (10, 20)) == expected
    assert from_drag((10, 60.2), (100.5, 20)) == expected


def test_a_click_without_drag_is_empty() -> None:
    assert from_drag((5, 5), (5, 5)).empty


def test_clamp_of_a_rect_outside_is_empty_at_the_edge() -> None:
    bounds = Rect(0, 0, 100, 100)

    assert clamp(Rect(150, -50, 20, 20), bounds) == Rect(100, 0, 0, 0)
    assert clamp(Rect(-10, -10, 30, 30), bounds) == Rect(0, 0, 20, 20)


def test_screens_with_an_offset_origin() -> None:
    second_monitor = Rect(1920, 0, 2560, 1440)

    assert clamp(Rect(1900, -5, 100, 100), second_monitor) == Rect(1920, 0, 80, 95)


@pytest.mark.parametrize("ratio", [0, -1, float("nan"), float("inf")])
def test_a_nonsense_ratio_is_refused(ratio: float) -> None:
    with pytest.raises(ValueError, match="ratio"):
        to_physical(Rect(0, 0, 1, 1), ratio)


def test_negative_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        Rect(0, 0, -1, 5)


@pytest.mark.parametrize(
    ("other", "overlaps"),
    [
        (Rect(19, 29, 1, 1), True),  # the last pixel
        (Rect(0, 0, 100, 100), True),  # around it
        (Rect(20, 10, 5, 5), False),  # right of it, edges touching
        (Rect(10, 30, 5, 5), False),  # below it, edges touching
        (Rect(12, 12, 0, 5), False),  # empty, inside it
    ],
)
def test_overlap_needs_a_shared_pixel(other: Rect, overlaps: bool) -> None:
    box = Rect(10, 10, 10, 20)

    assert box.overlaps(other) is overlaps
    assert other.overlaps(box) is overlaps
