"""Usage analytics in the composed app, offscreen: the start is recorded, Quit sends it, the Account switch stops it.

The windows' factories hand this run's one recorder to the chat, capture and redaction presenters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from desktop.presenters.capture_presenter import CapturePresenter
from desktop.presenters.tray_presenter import TrayAction
from desktop.ui.redaction_view import RedactionView
from desktop.windows import default_capture_factory, default_chat_factory

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from tests.fixtures.desktop_app import AppRuns
    from tests.fixtures.fake_server import FakeServer

pytestmark = pytest.mark.qt_log_ignore(
    r"No such signal QPlatformNativeInterface::systemTrayWindowChanged",
    r"This plugin does not support (propagateSizeHints|raise)\(\)",
)

TIMEOUT_MS = 5000


def test_a_run_records_its_start_and_quit_sends_it_without_waiting(
    qtbot: QtBot, app_runs: AppRuns, fake_server: FakeServer
) -> None:
    techpal = app_runs.start_signed_in(qtbot)
    assert techpal.analytics.batch_sender.active  # signed in, and the account allows it

    took = app_runs.quit(techpal)

    (batch,) = fake_server.analytics_batches
    assert batch["session_id"] == str(techpal.analytics.recorder.session_id)
    assert [event["name"] for event in batch["events"]] == ["app_started"]
    assert took < 3
    assert fake_server.requests_to("POST", "/analytics/events")[0].headers["Authorization"].startswith("Bearer ")


def test_each_start_is_a_new_anonymous_session(qtbot: QtBot, app_runs: AppRuns, fake_server: FakeServer) -> None:
    for _ in range(2):  # the second start restores the session from the keyring
        techpal = app_runs.start_signed_in(qtbot)
        qtbot.waitUntil(lambda: techpal.analytics.batch_sender.active, timeout=TIMEOUT_MS)  # noqa: B023
        app_runs.quit(techpal)

    first, second = fake_server.analytics_batches
    assert first["session_id"] != second["session_id"]
    account = fake_server.account("ada@example.com")
    assert account.id not in {first["session_id"], second["session_id"]}


def test_the_account_windows_privacy_switch_stops_analytics_at_once(
    qtbot: QtBot, app_runs: AppRuns, fake_server: FakeServer
) -> None:
    techpal = app_runs.start_signed_in(qtbot)
    techpal.tray.actions_by_kind[TrayAction.ACCOUNT].trigger()
    window = techpal.windows.account.window
    assert window is not None
    box = window.switches["analytics"]
    qtbot.waitUntil(lambda: box.isChecked() and box.isEnabled(), timeout=TIMEOUT_MS)
    window.tabs.setCurrentIndex([window.tabs.tabText(i) for i in range(window.tabs.count())].index("Privacy"))
    qtbot.waitUntil(box.isVisible, timeout=TIMEOUT_MS)

    QTest.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))

    qtbot.waitUntil(lambda: techpal.analytics.recorder.allowed is False, timeout=TIMEOUT_MS)
    assert fake_server.account("ada@example.com").analytics is False
    assert techpal.analytics.recorder.pending == []  # the start, recorded before, is dropped
    assert not techpal.analytics.batch_sender.active
    app_runs.quit(techpal)
    assert fake_server.hits("analytics") == 0


def test_the_real_chat_and_capture_record_into_the_apps_recorder(
    qtbot: QtBot, app_runs: AppRuns, fake_server: FakeServer
) -> None:
    techpal = app_runs.start_signed_in(
        qtbot, chat_factory=default_chat_factory, capture_factory=default_capture_factory
    )
    techpal.tray.actions_by_kind[TrayAction.ASK].trigger()
    chat = techpal.connection.chat_presenter
    assert chat is not None

    with qtbot.wait_signal(chat.draft_cleared, timeout=TIMEOUT_MS):
        chat.send("Outlook asks for my password again and again")

    names = [event.name.value for event in techpal.analytics.recorder.pending]
    assert names == ["app_started", "question_asked", "answer_received"]
    flow = techpal.windows._capture_flow()
    assert isinstance(flow, CapturePresenter)
    assert flow._analytics is techpal.analytics.recorder
    view = flow._redaction_factory(Image.new("RGB", (20, 10)))
    assert isinstance(view, RedactionView)
    try:
        assert view.presenter._analytics is techpal.analytics.recorder
    finally:
        view.presenter.cancel()  # what closing the window does: lets go of the shared encoder
        view.deleteLater()
