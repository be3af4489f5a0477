"""Render the README's desktop screenshots with the app's own widgets, offscreen, into docs/screenshots/.

    .venv/bin/python scripts/readme_screenshots.py [--out docs/screenshots]

Every picture is a real widget of ``desktop/`` fed with made-up data through its public API: the tray menu, the chat
window after a streamed answer with citations (a scripted in-memory ``ChatApi``: no server), the redaction window on a
captured region (a synthetic screenshot; the text recogniser is replaced by the exact positions of the text drawn,
so the suggestions are deterministic and rapidocr is not loaded), and the settings dialog in the light and dark
themes. Needs a font (``fonts-dejavu-core``); nothing is read from or written to the user's settings.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Qt and the app load only after _prepare_environment has set up a private environment
    from collections.abc import Callable, Iterator

    from PIL import Image, ImageFont
    from PySide6.QtGui import QPixmap
    from PySide6.QtWidgets import QApplication, QPlainTextEdit

    from desktop.core.api import EventStream, StreamEvent, Ticket, TicketDetail
    from desktop.core.question import Question
    from desktop.core.redaction import OcrLine

ROOT = Path(__file__).resolve().parents[1]
FONTS = Path("/usr/share/fonts/truetype/dejavu")
DEFAULT_OUT = ROOT / "docs" / "screenshots"
WAIT_S = 10.0
MAX_WIDTH = 900  # pixels; wider pictures are scaled down so each file stays small

# The scripted answer: streamed in small pieces, citing two knowledge-base articles.
QUESTION = "Outlook keeps asking for my password since this morning, and the VPN says error 809."
ANSWER = (
    "This usually comes from a **saved password that no longer matches** your account [1], and the VPN error "
    "is a blocked connection rather than a wrong password [2].\n\n"
    "1. Close Outlook, open **Credential Manager** → *Windows Credentials* and remove the entries that start "
    "with `MicrosoftOffice`.\n"
    "2. Start Outlook again and sign in once; tick *Remember my credentials*.\n"
    "3. For the VPN, check that your home router allows **IPsec passthrough**, then reconnect [2].\n\n"
    "If Outlook still asks after that, choose *Still broken* and a support agent will take over."
)
CITATIONS = (
    ("Outlook repeatedly prompts for credentials", "outlook-password-prompt"),
    ("Troubleshoot VPN error 809 (L2TP/IPsec)", "vpn-error-809"),
)
SOURCE_URL = "https://github.com/MicrosoftDocs/SupportArticles-docs/blob/main/support/{}.md"


def _prepare_environment(home: Path) -> None:
    """Offscreen Qt and a private HOME/XDG tree before Qt loads: the user's settings stay untouched."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["HOME"] = str(home)
    os.environ["XDG_CONFIG_HOME"] = str(home / ".config")
    os.environ["XDG_DATA_HOME"] = str(home / ".local" / "share")
    runtime = home / "runtime"
    runtime.mkdir(mode=0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    sys.path.insert(0, str(ROOT))


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    """Run the Qt event loop until ``condition`` holds (workers report through queued signals)."""
    from PySide6.QtCore import QCoreApplication  # noqa: PLC0415 - after _prepare_environment

    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        QCoreApplication.processEvents()
        time.sleep(0.01)
    QCoreApplication.processEvents()


def _save(pixmap: QPixmap, path: Path) -> None:
    """Save a QPixmap as PNG, scaled down to MAX_WIDTH if wider."""
    from PySide6.QtCore import Qt  # noqa: PLC0415

    if pixmap.width() > MAX_WIDTH:
        pixmap = pixmap.scaledToWidth(MAX_WIDTH, Qt.TransformationMode.SmoothTransformation)
    if not pixmap.save(str(path), "PNG"):
        raise SystemExit(f"could not write {path}")
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {path.stat().st_size // 1024} KB")


# ------------------------------------------------------------------------------------------ tray menu
def tray_menu(out: Path) -> None:
    """The tray menu as it opens under the icon in a panel, signed in."""
    from PySide6.QtCore import QPoint, QRect, Qt  # noqa: PLC0415
    from PySide6.QtGui import QColor, QPainter, QPixmap  # noqa: PLC0415

    from desktop.presenters.tray_presenter import TrayPresenter  # noqa: PLC0415
    from desktop.services.health_worker import HealthChecker  # noqa: PLC0415
    from desktop.ui.tray import TrayIcon, make_app_icon  # noqa: PLC0415

    checker = HealthChecker("http://127.0.0.1:9")  # never started: no network
    presenter = TrayPresenter(checker)
    icon = make_app_icon()
    tray = TrayIcon(presenter, icon)
    presenter.set_signed_in(True)
    menu = tray.menu
    menu.adjustSize()
    menu_shot = menu.grab()

    panel_height, margin = 28, 16
    width = max(menu_shot.width() + 2 * margin, 320)
    canvas = QPixmap(width, panel_height + menu_shot.height() + margin)
    canvas.fill(QColor(236, 239, 244))
    painter = QPainter(canvas)
    try:
        painter.fillRect(QRect(0, 0, width, panel_height), QColor(51, 51, 51))
        painter.setPen(QColor(230, 230, 230))
        painter.drawText(QRect(0, 0, width - 40, panel_height), Qt.AlignmentFlag.AlignVCenter, "  10:42")
        icon_x = width - margin - 22
        painter.drawPixmap(icon_x, 3, icon.pixmap(22, 22))
        painter.drawPixmap(QPoint(width - margin - menu_shot.width(), panel_height + 2), menu_shot)
    finally:
        painter.end()
    _save(canvas, out / "tray-menu.png")
    tray.hide()
    menu.deleteLater()
    checker.shutdown()


# ------------------------------------------------------------------------------------------ chat window
class ScriptedChatApi:
    """A ``ChatApi`` that answers every question with the same streamed, cited answer (no network)."""

    def __init__(self) -> None:
        self.ticket_id = uuid.UUID("6f1d3c1e-0b8a-4d2e-9a51-3f7c2b9e1a42")

    def create_ticket(self, question: Question, *, idempotency_key: str | None = None) -> Ticket:
        from desktop.core.api import Ticket  # noqa: PLC0415

        return Ticket(id=self.ticket_id, status="open", description=QUESTION)

    def resolve(self, ticket_id: str) -> EventStream[StreamEvent]:
        return self._stream()

    def send_message(self, ticket_id: str, content: str) -> EventStream[StreamEvent]:
        return self._stream()

    def send_feedback(self, ticket_id: str, *, resolved: bool, comment: str | None = None) -> None:
        """Nothing to record."""

    def get_ticket(self, ticket_id: str) -> TicketDetail:
        raise NotImplementedError("the screenshot never opens a stored ticket")

    def _stream(self) -> EventStream[StreamEvent]:
        import httpx  # noqa: PLC0415

        from desktop.core.api import Citation, DeltaEvent, DoneEvent, EventStream, TriageEvent  # noqa: PLC0415

        def events() -> Iterator[StreamEvent]:
            yield TriageEvent(category="software", priority="normal", category_by_ai=True)
            for number, (title, slug) in enumerate(CITATIONS, start=1):
                yield Citation(
                    title=title, number=number, article_id=slug, source_id=slug, source_url=SOURCE_URL.format(slug)
                )
            words = ANSWER.split(" ")
            for start in range(0, len(words), 6):
                time.sleep(0.005)  # arrives in pieces, as from the server
                yield DeltaEvent(text=" ".join(words[start : start + 6]) + (" " if start + 6 < len(words) else ""))
            yield DoneEvent(message_id=str(uuid.uuid4()))

        return EventStream(httpx.Response(200, content=b""), events())


def chat_window(out: Path) -> None:
    """The chat window after a streamed answer with two citations; the feedback buttons are showing."""
    from desktop.core.chat import ChatState  # noqa: PLC0415
    from desktop.presenters.chat_presenter import ChatPresenter  # noqa: PLC0415
    from desktop.ui.chat_window import ChatWindow  # noqa: PLC0415

    presenter = ChatPresenter(ScriptedChatApi())
    window = ChatWindow(presenter)
    window.resize(640, 760)
    window.show()
    window.description.setPlainText(QUESTION)
    window.send()
    _wait_until(lambda: presenter.state is ChatState.DONE, "the scripted answer")
    _save(window.grab(), out / "chat.png")
    window.close()
    presenter.shutdown()
    window.deleteLater()


# ------------------------------------------------------------------------------------------ region + redaction
@cache
def _font(size: int, *, mono: bool = False, bold: bool = False) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont  # noqa: PLC0415

    name = "DejaVuSansMono.ttf" if mono else ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    return ImageFont.truetype(str(FONTS / name), size)


def synthetic_region() -> tuple[Image.Image, list[OcrLine]]:
    """A captured region: an error dialog over a terminal; returns the image and its text lines with boxes."""
    from PIL import Image, ImageDraw  # noqa: PLC0415

    from desktop.core.geometry import Rect  # noqa: PLC0415
    from desktop.core.redaction import OcrLine  # noqa: PLC0415

    image = Image.new("RGB", (960, 600), (30, 32, 40))
    draw = ImageDraw.Draw(image)
    lines: list[OcrLine] = []

    def text(xy: tuple[int, int], value: str, font: ImageFont.FreeTypeFont, fill: tuple[int, int, int]) -> None:
        draw.text(xy, value, font=font, fill=fill)
        left, top, right, bottom = draw.textbbox(xy, value, font=font)
        lines.append(OcrLine(value, Rect(int(left), int(top), int(right - left), int(bottom - top))))

    draw.rectangle((0, 0, 960, 28), fill=(50, 54, 66))
    text((12, 6), "Terminal — deploy@build-07", _font(13), (220, 220, 220))
    terminal = [
        "$ ./sync-mailbox --user jane.doe@example.com",
        "connecting to 10.20.30.41:993 ...",
        "export MAIL_API_KEY=sk9Fq2LxT7vRw3ZmNp8YbC4dHe6Ju1Ks",
        "error: authentication failed (code 535)",
    ]
    for i, line in enumerate(terminal):
        text((18, 48 + 26 * i), line, _font(15, mono=True), (200, 230, 200) if i != 3 else (250, 140, 140))
    left, top, width, height = 250, 240, 520, 230
    draw.rectangle((left + 5, top + 5, left + width + 5, top + height + 5), fill=(10, 10, 14))
    draw.rectangle((left, top, left + width, top + height), fill=(244, 244, 246), outline=(120, 120, 130))
    draw.rectangle((left, top, left + width, top + 32), fill=(255, 255, 255))
    text((left + 14, top + 8), "Microsoft Outlook", _font(14), (20, 20, 20))
    draw.ellipse((left + 22, top + 56, left + 56, top + 90), fill=(200, 40, 40))
    draw.text((left + 32, top + 58), "!", font=_font(22, bold=True), fill="white")
    message = ["Outlook cannot connect to the server.", "Enter the password for", "jane.doe@example.com"]
    for i, line in enumerate(message):
        text((left + 74, top + 58 + 24 * i), line, _font(15), (20, 20, 20))
    right, bottom = left + width, top + height
    draw.rectangle((right - 200, bottom - 46, right - 110, bottom - 16), outline=(0, 95, 200))
    text((right - 170, bottom - 40), "OK", _font(14), (20, 20, 20))
    draw.rectangle((right - 100, bottom - 46, right - 16, bottom - 16), outline=(120, 120, 130))
    text((right - 84, bottom - 40), "Cancel", _font(14), (20, 20, 20))
    return image, lines


REGION_AT = (160, 70)  # where the captured region sits on the synthetic desktop


def synthetic_desktop(region: Image.Image) -> Image.Image:
    """A 1280x800 desktop (wallpaper, taskbar) with ``region`` on it at :data:`REGION_AT`."""
    from PIL import Image, ImageDraw  # noqa: PLC0415

    desktop = Image.new("RGB", (1280, 800))
    draw = ImageDraw.Draw(desktop)
    for y in range(800):
        shade = 1 - y / 1100
        draw.line((0, y, 1280, y), fill=(int(40 * shade), int(90 * shade), int(150 * shade)))
    draw.rectangle((0, 756, 1280, 800), fill=(28, 28, 36))
    for i, name in enumerate(["Start", "Files", "Browser", "Outlook", "Terminal"]):
        draw.text((18 + i * 110, 771), name, font=_font(12), fill="white")
    draw.text((1190, 771), "10:42", font=_font(12), fill="white")
    desktop.paste(region, REGION_AT)
    return desktop


def region_overlay(out: Path) -> None:
    """The frozen screen while the user drags out the region to send (the mouse is still down)."""
    from PySide6.QtCore import QPoint, Qt  # noqa: PLC0415
    from PySide6.QtTest import QTest  # noqa: PLC0415

    from desktop.ui.qimage import to_qimage  # noqa: PLC0415
    from desktop.ui.region_overlay import RegionOverlay  # noqa: PLC0415

    region, _lines = synthetic_region()
    overlay = RegionOverlay(to_qimage(synthetic_desktop(region)), 1.0)
    overlay.show()
    left, top = REGION_AT
    start, end = QPoint(left, top), QPoint(left + region.width, top + region.height)
    QTest.mousePress(overlay, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(overlay, (start + end) / 2)
    QTest.mouseMove(overlay, end)
    _wait_until(lambda: True, "the repaint")
    _save(overlay.grab(), out / "region-select.png")
    QTest.keyClick(overlay, Qt.Key.Key_Escape)
    overlay.deleteLater()


def redaction_window(out: Path) -> None:
    """The redaction window on a captured region: suggested boxes (email, IP, key) plus one drawn by the user."""
    from desktop.core.geometry import Rect  # noqa: PLC0415
    from desktop.presenters.redaction_presenter import PREPARING_TEXT, RedactionPresenter  # noqa: PLC0415
    from desktop.services.capture.workers import ImageEncoder, SuggestionFinder  # noqa: PLC0415
    from desktop.ui.redaction_view import RedactionView  # noqa: PLC0415

    image, lines = synthetic_region()
    encoder = ImageEncoder()
    finder = SuggestionFinder(load_engine=lambda: lambda _image: list(lines))
    view = RedactionView(RedactionPresenter(image, encoder, finder))
    view.resize(1180, 640)
    view.present()
    _wait_until(lambda: view.box_list.count() > 0, "the suggestions")
    view.canvas.box_drawn.emit(Rect(12, 2, 330, 24))  # the user blacks out the terminal's title (host name)
    _wait_until(
        lambda: view.size_label.text() not in ("", PREPARING_TEXT) and view.presenter.result is not None, "encoding"
    )
    _wait_until(view.send_button.isEnabled, "the Attach button")
    _save(view.grab(), out / "redaction.png")
    view.close()
    encoder.shutdown()
    finder.shutdown()
    view.deleteLater()


# ------------------------------------------------------------------------------------------ settings, both themes
def _has_text(edit: QPlainTextEdit) -> bool:
    return edit.toPlainText() != ""


def settings_dialogs(out: Path, app: QApplication, home: Path) -> None:
    """The settings dialog in the light and in the dark theme."""
    from desktop.core.auth import MemoryTokenStore  # noqa: PLC0415
    from desktop.core.device import DeviceDetails  # noqa: PLC0415
    from desktop.core.settings import DesktopSettings, SettingsStore  # noqa: PLC0415
    from desktop.presenters.session_presenter import SessionPresenter  # noqa: PLC0415
    from desktop.presenters.settings_presenter import SettingsPresenter  # noqa: PLC0415
    from desktop.services.autostart import make_autostart  # noqa: PLC0415
    from desktop.services.hotkey import GlobalHotkey, HotkeySupport  # noqa: PLC0415
    from desktop.services.settings_store import QtSettingsStore  # noqa: PLC0415
    from desktop.services.tasks import TaskRunner  # noqa: PLC0415
    from desktop.ui.settings_dialog import SettingsDialog  # noqa: PLC0415
    from desktop.ui.theme import ThemeController  # noqa: PLC0415

    store = SettingsStore(home / ".config" / "techpal" / "settings.json")
    store.save(DesktopSettings(theme="light", server_url="https://help.example.com", capture_hotkey="<ctrl>+<alt>+h"))
    settings = QtSettingsStore(store)
    session = SessionPresenter(settings, token_store_factory=MemoryTokenStore, queue_root=home / "queue")
    runner = TaskRunner()
    theme = ThemeController(app, "light")
    presenter = SettingsPresenter(
        settings,
        session,
        autostart=make_autostart("linux", command=["techpal"], home=home),
        hotkey=GlobalHotkey(),
        runner=runner,
        collect_device=lambda network: DeviceDetails(
            os="Linux", os_version="6.8", cpu="Intel Core i5-1235U", ram_gb=16.0, free_disk_gb=112.4, network=network
        ),
        probe_hotkey=lambda: HotkeySupport(True, ""),
    )
    try:
        for scheme in ("light", "dark"):
            theme.apply(scheme)
            dialog = SettingsDialog(presenter)
            dialog.theme_combo.setCurrentIndex(dialog.theme_combo.findData(scheme))
            dialog.device_check.setChecked(True)
            # Where the file is on the reader's machine, not in this script's temporary home.
            dialog.location_label.setText(dialog.location_label.text().replace(str(home), "~"))
            dialog.show()
            _wait_until(partial(_has_text, dialog.device_preview), "the device preview")
            _wait_until(dialog.hotkey_edit.isEnabled, "the shortcut check")
            dialog.adjustSize()
            _save(dialog.grab(), out / f"settings-{scheme}.png")
            dialog.close()
            dialog.deleteLater()
    finally:
        theme.apply("light")
        runner.shutdown()
        session.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    if not (FONTS / "DejaVuSans.ttf").is_file():
        raise SystemExit(f"no DejaVu fonts in {FONTS}: install fonts-dejavu-core (text would draw as boxes)")
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="techpal-shots-") as tmp:
        home = Path(tmp)
        _prepare_environment(home)
        from PySide6.QtCore import QtMsgType, qInstallMessageHandler  # noqa: PLC0415
        from PySide6.QtWidgets import QApplication  # noqa: PLC0415

        def quiet(kind: QtMsgType, _context: object, message: str) -> None:
            if "This plugin does not support" not in message:  # offscreen cannot resize/raise; expected
                print(message, file=sys.stderr)

        qInstallMessageHandler(quiet)
        app = QApplication(sys.argv[:1])
        app.setApplicationName("Tech Pal")
        from desktop.ui.theme import ThemeController  # noqa: PLC0415

        ThemeController(app, "light")
        tray_menu(out)
        chat_window(out)
        region_overlay(out)
        redaction_window(out)
        settings_dialogs(out, app, home)
    return 0


if __name__ == "__main__":
    sys.exit(main())
