"""``scripts/readme_screenshots.py`` still renders every README picture, with real content, small enough to commit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageStat

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "readme_screenshots.py"
PICTURES = ("tray-menu", "chat", "region-select", "redaction", "settings-light", "settings-dark")
MAX_BYTES = 150 * 1024

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run the script once, offscreen, into a temporary folder."""
    out = tmp_path_factory.mktemp("screenshots")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == "", result.stderr  # Qt warnings (missing fonts, bad layouts) would show here
    return out


def test_the_script_writes_exactly_the_readme_pictures(rendered: Path) -> None:
    assert sorted(p.name for p in rendered.iterdir()) == sorted(f"{name}.png" for name in PICTURES)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in PICTURES:
        assert f"docs/screenshots/{name}.png" in readme


@pytest.mark.parametrize("name", PICTURES)
def test_each_picture_has_content_and_stays_small(rendered: Path, name: str) -> None:
    path = rendered / f"{name}.png"
    with Image.open(path) as image:
        rgb = image.convert("RGB")
    colours = rgb.getcolors(maxcolors=1 << 16)

    assert 200 <= rgb.width <= 900
    assert rgb.height >= 150
    assert colours is None or len(colours) > 50, "nearly flat: widgets or text did not render"
    assert max(ImageStat.Stat(rgb.convert("L")).stddev) > 20  # text and widgets, not an empty window
    assert path.stat().st_size <= MAX_BYTES


def test_the_dark_settings_are_dark_and_the_light_ones_light(rendered: Path) -> None:
    def brightness(name: str) -> float:
        with Image.open(rendered / f"{name}.png") as image:
            return float(ImageStat.Stat(image.convert("L")).mean[0])

    assert brightness("settings-dark") < 100 < brightness("settings-light")


def test_the_redaction_picture_shows_solid_black_boxes(rendered: Path) -> None:
    """The suggested and drawn boxes are filled black on the canvas (what will be sent), not outlined only."""
    with Image.open(rendered / "redaction.png") as image:
        grey = image.convert("L")
    black = sum(grey.histogram()[:3])

    assert black > 0.01 * grey.width * grey.height
