"""The tray icon on a real X server with a real system tray (trayer), driven by real clicks (xdotool).

Run under ``scripts/with-xserver.sh``; see ``tests/fixtures/qt.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import keyring.backends.fail
import pytest
from PySide6.QtCore import QRect, QTimer
from PySide6.QtGui import QColor, QGuiApplication

from desktop.app import TechPal, ensure_application
from desktop.core.settings import SettingsStore
from desktop.presenters.tray_presenter import CHECKING_TEXT, TrayAction
from desktop.services.hotkey import HotkeySupport
from desktop.services.secrets import KeyringTokenStore
from installer.smoke_test import run_smoke_test

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from PySide6.QtWidgets import QApplication
    from pytestqt.qtbot import QtBot

    from tests.fixtures.fake_server import FakeServer

pytestmark = pytest.mark.xserver

APPEAR_TIMEOUT_MS = 5000
STATUS_TIMEOUT_MS = 5000
BRAND_BLUE = QColor(29, 78, 216)


MENU = [
    "Ask for help",
    "Capture screen & ask",
    "Capture region & ask",
    "My tickets",
    "Subscription",
    "Account",
    "Settings",
    "Sign out",
    "Quit",
]


def fail_keyring_store() -> KeyringTokenStore:
    """The token store on keyring's "fail" backend (a headless Linux box without Secret Service)."""
    return KeyringTokenStore(keyring.backends.fail.Keyring())  # type: ignore[no-untyped-call]


def make_techpal(server_url: str, tmp_path: Path) -> TechPal:
    """The composed app on the test's QApplication with the "fail" keyring and a private config; not started."""
    return TechPal(
        ensure_application(),
        server_url,
        settings_store=SettingsStore(tmp_path / "config" / "settings.json"),
        token_store_factory=fail_keyring_store,
        queue_root=tmp_path / "outbox",
        probe_hotkey=lambda: HotkeySupport(False, "not in tests"),
        refresh_interval_ms=600_000,
    )


@pytest.fixture
def techpal(qapp: QApplication, system_tray: str, fake_server: FakeServer, tmp_path: Path) -> Iterator[TechPal]:
    """The composed app talking to the stub server; not started yet."""
    techpal = make_techpal(fake_server.url, tmp_path)
    try:
        yield techpal
    finally:
        techpal.shutdown()
        techpal.deleteLater()


@pytest.fixture
def quiet_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a ``python -m desktop`` child: private config (not a first run), a secure in-memory keyring.

    So the child opens no notification by itself and its stderr stays empty.
    """
    config = tmp_path / "xdg-config"
    (config / "techpal").mkdir(parents=True)
    (config / "techpal" / "settings.json").write_text(json.dumps({"theme": "light"}))
    return {
        **os.environ,
        "XDG_CONFIG_HOME": str(config),
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        "PYTHON_KEYRING_BACKEND": "tests.fixtures.fake_server.SecureMemoryKeyring",
    }


def xdotool(*args: str) -> str:
    """Run xdotool on this test's display and return its output."""
    return subprocess.run(["xdotool", *args], check=True, capture_output=True, text=True, timeout=10).stdout


def blue_share_on_screen(rect: QRect) -> float:
    """Share of the screen pixels inside ``rect`` that are the icon's blue (proves it is really drawn there)."""
    screen = QGuiApplication.primaryScreen()
    image = screen.grabWindow(0, rect.x(), rect.y(), rect.width(), rect.height()).toImage()
    if image.isNull() or image.width() == 0:
        return 0.0
    blue = 0
    for y in range(image.height()):
        for x in range(image.width()):
            color = image.pixelColor(x, y)
            if (
                abs(color.red() - BRAND_BLUE.red()) < 40
                and abs(color.green() - BRAND_BLUE.green()) < 40
                and abs(color.blue() - BRAND_BLUE.blue()) < 40
            ):
                blue += 1
    return blue / (image.width() * image.height())


def wait_until_icon_is_on_screen(qtbot: QtBot, techpal: TechPal) -> QRect:
    """Wait until the tray has a geometry for the icon and the icon is painted there; return the geometry."""
    # geometry() is 22x22 at (0, 0) as soon as Qt finds a tray, before trayer embeds and maps the icon,
    # so the pixels on screen are the real proof.
    qtbot.waitUntil(lambda: techpal.tray.geometry().width() > 0, timeout=APPEAR_TIMEOUT_MS)
    qtbot.waitUntil(lambda: blue_share_on_screen(techpal.tray.geometry()) > 0.4, timeout=APPEAR_TIMEOUT_MS)
    return techpal.tray.geometry()


def test_the_icon_appears_in_the_system_tray(qtbot: QtBot, techpal: TechPal) -> None:
    techpal.start()

    geometry = wait_until_icon_is_on_screen(qtbot, techpal)

    screen = QGuiApplication.primaryScreen().geometry()
    assert screen.contains(geometry)
    assert geometry.top() < 24  # inside trayer's panel at the top edge
    assert techpal.tray.toolTip().startswith("Tech Pal — Server: ")


def test_the_icon_appears_with_the_server_down_and_the_keyring_failing(
    qapp: QApplication, qtbot: QtBot, system_tray: str, closed_port_url: str, tmp_path: Path
) -> None:
    techpal = make_techpal(closed_port_url, tmp_path)
    try:
        techpal.start()

        qtbot.waitUntil(lambda: techpal.tray.geometry().width() > 0, timeout=APPEAR_TIMEOUT_MS)
        qtbot.waitUntil(lambda: techpal.presenter.status_text == "Server: Offline", timeout=STATUS_TIMEOUT_MS)
        qtbot.waitUntil(lambda: techpal.session.ready, timeout=STATUS_TIMEOUT_MS)
        assert techpal.tray.geometry().width() > 0
        assert techpal.tray.entry_texts() == MENU
    finally:
        techpal.shutdown()
        techpal.deleteLater()


def test_the_icon_appears_before_a_slow_server_answers(qtbot: QtBot, techpal: TechPal, fake_server: FakeServer) -> None:
    fake_server.set_delay(2.0, "health")

    techpal.start()
    wait_until_icon_is_on_screen(qtbot, techpal)

    assert techpal.presenter.status_text == CHECKING_TEXT
    qtbot.waitUntil(lambda: techpal.tray.toolTip() == "Tech Pal — Server: Connected", timeout=STATUS_TIMEOUT_MS)


def test_the_menu_has_exactly_the_documented_entries_in_order(qtbot: QtBot, techpal: TechPal) -> None:
    techpal.start()
    wait_until_icon_is_on_screen(qtbot, techpal)

    actions = techpal.tray.menu.actions()
    assert techpal.tray.entry_texts() == MENU
    assert [a.text() for a in actions if not a.isSeparator()][1] == "Capture screen && ask"  # "&" is not a mnemonic
    assert techpal.tray.contextMenu() is techpal.tray.menu
    assert not techpal.tray.sign_out_action.isEnabled()  # nobody is signed in


def test_right_click_opens_the_menu(qtbot: QtBot, techpal: TechPal) -> None:
    techpal.start()
    center = wait_until_icon_is_on_screen(qtbot, techpal).center()

    xdotool("mousemove", str(center.x()), str(center.y()), "click", "3")

    qtbot.waitUntil(techpal.tray.menu.isVisible, timeout=APPEAR_TIMEOUT_MS)
    xdotool("key", "Escape")
    qtbot.waitUntil(lambda: not techpal.tray.menu.isVisible(), timeout=APPEAR_TIMEOUT_MS)


def test_left_click_asks_for_help_which_first_asks_to_sign_in(qtbot: QtBot, techpal: TechPal) -> None:
    techpal.start()
    center = wait_until_icon_is_on_screen(qtbot, techpal).center()
    qtbot.waitUntil(lambda: techpal.session.ready, timeout=STATUS_TIMEOUT_MS)

    xdotool("mousemove", str(center.x()), str(center.y()), "click", "1")

    qtbot.waitUntil(lambda: techpal.sign_in_dialog is not None, timeout=APPEAR_TIMEOUT_MS)
    dialog = techpal.sign_in_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=APPEAR_TIMEOUT_MS)
    assert not techpal.tray.menu.isVisible()
    dialog.reject()


def test_a_menu_entry_chosen_with_the_mouse_runs_its_action(qtbot: QtBot, techpal: TechPal) -> None:
    techpal.start()
    center = wait_until_icon_is_on_screen(qtbot, techpal).center()
    xdotool("mousemove", str(center.x()), str(center.y()), "click", "3")
    qtbot.waitUntil(techpal.tray.menu.isVisible, timeout=APPEAR_TIMEOUT_MS)

    settings_entry = techpal.tray.menu.actionGeometry(techpal.tray.actions_by_kind[TrayAction.SETTINGS])
    target = techpal.tray.menu.mapToGlobal(settings_entry.center())
    xdotool("mousemove", str(target.x()), str(target.y()), "click", "1")

    qtbot.waitUntil(lambda: techpal.settings_dialog is not None, timeout=APPEAR_TIMEOUT_MS)
    dialog = techpal.settings_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=APPEAR_TIMEOUT_MS)
    dialog.reject()


def test_quit_ends_the_event_loop_and_removes_the_icon(qapp: QApplication, techpal: TechPal) -> None:
    techpal.start()
    QTimer.singleShot(0, techpal.tray.quit_action.trigger)
    # If "Quit" were not wired, fail after 5 s instead of hanging. Stopped afterwards: exit() ends *every*
    # running event loop, so a stray firing would cut short a later test's qtbot wait.
    watchdog = QTimer()
    watchdog.setSingleShot(True)
    watchdog.timeout.connect(lambda: qapp.exit(1))
    watchdog.start(5000)
    try:
        assert qapp.exec() == 0
    finally:
        watchdog.stop()

    assert not techpal.tray.isVisible()


def test_smoke_test_mode_exits_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_DATA_HOME": str(tmp_path / "data")}

    result = run_smoke_test([sys.executable, "-m", "desktop"], server="http://127.0.0.1:9", timeout=10, env=env)

    assert result.ok, result.report()
    assert result.stderr == "", result.report()
    assert result.stdout.strip() == "smoke-test ok: Server: Offline"
    assert not (tmp_path / "cfg").exists()  # nothing saved


def test_a_user_quits_the_running_app_from_its_tray_menu(fake_server: FakeServer, quiet_env: dict[str, str]) -> None:
    """End to end: a separate ``python -m desktop`` process, a real right-click, "Quit" chosen with the keyboard."""
    process = subprocess.Popen(
        [sys.executable, "-m", "desktop", "--server", fake_server.url],
        env=quiet_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        icon = _wait_for_visible_windows(process.pid, 1)[0]
        geometry = dict(line.split("=", 1) for line in xdotool("getwindowgeometry", "--shell", icon).split())
        x = int(geometry["X"]) + int(geometry["WIDTH"]) // 2
        y = int(geometry["Y"]) + int(geometry["HEIGHT"]) // 2
        _wait_for(lambda: fake_server.hits("health") >= 1, "the first health check")

        xdotool("mousemove", str(x), str(y), "click", "3")
        _wait_for_visible_windows(process.pid, 2)  # the icon and its menu
        xdotool("key", "Up", "Return")  # Up from no selection lands on the last item, "Quit"

        _stdout, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0, stderr
    assert stderr == ""


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


def _wait_for_visible_windows(pid: int, count: int, timeout: float = 10.0) -> list[str]:
    """Poll until process ``pid`` has at least ``count`` mapped windows; return their ids."""
    deadline = time.monotonic() + timeout
    while True:
        # xdotool exits 1 while nothing matches.
        found = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--pid", str(pid)],
            check=False,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.split()
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"process {pid} did not show {count} window(s) within {timeout:.0f}s (has {found})")
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_ends_the_running_app_cleanly(
    fake_server: FakeServer, sig: signal.Signals, quiet_env: dict[str, str]
) -> None:
    """Logout sends SIGTERM and a terminal Ctrl+C sends SIGINT; both must quit through the normal path."""
    process = subprocess.Popen(
        [sys.executable, "-m", "desktop", "--server", fake_server.url],
        env=quiet_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_visible_windows(process.pid, 1)
        process.send_signal(sig)
        _stdout, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0, stderr
    assert stderr == ""
