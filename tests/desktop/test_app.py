"""The composition root, offscreen: wiring of the tray menu, sign-in, sign-out, theme, and an in-process smoke run."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import keyring.backends.fail
import pytest
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QPalette

from desktop.app import APP_NAME, TechPal, ensure_application, run
from desktop.core.geometry import Rect
from desktop.core.ocr_text import OcrUpload
from desktop.core.offline_queue import OfflineQueue
from desktop.core.question import Question
from desktop.core.redaction import OcrLine
from desktop.core.settings import DesktopSettings, SettingsStore
from desktop.presenters.tray_presenter import TrayAction
from desktop.services.hotkey import HotkeySupport
from desktop.services.secrets import KeyringTokenStore
from desktop.ui.theme import dark_palette
from tests.fixtures.fake_server import FakeServer, SecureMemoryKeyring

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from PySide6.QtWidgets import QApplication
    from pytestqt.qtbot import QtBot

# Offscreen has no native tray (Qt says so once when the icon is shown) and windows cannot size or raise themselves.
pytestmark = pytest.mark.qt_log_ignore(
    r"No such signal QPlatformNativeInterface::systemTrayWindowChanged",
    r"This plugin does not support (propagateSizeHints|raise)\(\)",
)

TIMEOUT_MS = 5000
PASSWORD = "correct horse battery"
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


class FakeChat(QObject):
    """Records what the app asks of the chat window."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[object] = []

    def present(self) -> None:
        self.calls.append("present")

    def attach(self, data: bytes, media_type: str, ocr: OcrUpload | None = None) -> None:
        self.calls.append((data, media_type, ocr))


CAPTURED_TEXT = OcrUpload("fake-ocr", "1.0", (OcrLine("Access is denied.", Rect(4, 4, 120, 16)),))


class FakeCapture(QObject):
    """A capture flow that "captures" at once."""

    captured = Signal(bytes, str, object)
    failed = Signal(str)

    def capture_screen(self) -> None:
        self.captured.emit(b"webp-bytes", "image/webp", CAPTURED_TEXT)

    def capture_region(self) -> None:
        self.failed.emit("The screen could not be captured.")


class Harness:
    """A TechPal on a temporary config, the fake server and an in-memory keyring."""

    def __init__(self, tmp_path: Path, api: FakeServer) -> None:
        self.tmp_path = tmp_path
        self.api = api
        # No tickets are made here: a question queued by a test stays in the outbox whenever a drain runs.
        api.fail("create", 403, "not_implemented", "This fake does not create tickets.")
        self.keyring = SecureMemoryKeyring()
        self.chat = FakeChat()
        self.questions: list[tuple[str, str]] = []
        self.made: list[TechPal] = []

    def make(self, *, server: str | None = None, saved: DesktopSettings | None = None, **kwargs: object) -> TechPal:
        store = SettingsStore(self.tmp_path / "config" / "settings.json")
        if saved is not None:
            store.save(saved)
        options: dict[str, object] = {
            "settings_store": store,
            "token_store_factory": lambda: KeyringTokenStore(self.keyring),
            "queue_root": self.tmp_path / "outbox",
            "chat_factory": lambda _app: self.chat,
            "capture_factory": lambda _app: FakeCapture(),
            "ask_user": self.ask,
            "probe_hotkey": lambda: HotkeySupport(False, "no"),
            "refresh_interval_ms": 600_000,
        }
        options.update(kwargs)
        techpal = TechPal(ensure_application(), server or self.api.url, **options)  # type: ignore[arg-type]
        self.made.append(techpal)
        return techpal

    answer = True

    def ask(self, title: str, text: str) -> bool:
        self.questions.append((title, text))
        return self.answer


@pytest.fixture
def harness(qapp: QApplication, tmp_path: Path, fake_server: FakeServer) -> Iterator[Harness]:
    palette, style = qapp.palette(), qapp.style().name()
    harness = Harness(tmp_path, fake_server)
    yield harness
    for techpal in harness.made:
        techpal.shutdown()
        techpal.deleteLater()
    qapp.setPalette(palette)
    qapp.setStyle(style)


def started(qtbot: QtBot, techpal: TechPal) -> TechPal:
    techpal.start()
    qtbot.waitUntil(lambda: techpal.session.ready, timeout=TIMEOUT_MS)
    return techpal


def sign_in(qtbot: QtBot, techpal: TechPal) -> None:
    with qtbot.wait_signal(techpal.session.signed_in, timeout=TIMEOUT_MS):
        techpal.session.sign_in("ada@example.com", PASSWORD)


def test_an_existing_qapplication_is_reused_and_configured(qapp: QApplication) -> None:
    app = ensure_application(["ignored"])

    assert app is qapp
    assert app.applicationName() == APP_NAME
    assert app.organizationName() == APP_NAME
    assert app.quitOnLastWindowClosed() is False


def test_the_menu_has_exactly_the_documented_entries(qtbot: QtBot, harness: Harness) -> None:
    techpal = started(qtbot, harness.make())

    assert techpal.tray.entry_texts() == MENU
    assert techpal.tray.contextMenu() is techpal.tray.menu
    assert not techpal.tray.sign_out_action.isEnabled()  # nobody signed in yet


def test_the_icon_is_shown_before_a_slow_keyring_answers(qtbot: QtBot, harness: Harness) -> None:
    gate, answered = threading.Event(), threading.Event()

    def slow_keyring() -> KeyringTokenStore:
        gate.wait(TIMEOUT_MS / 1000)
        answered.set()
        return KeyringTokenStore(harness.keyring)

    saved = DesktopSettings(server_url=harness.api.url, account_id="someone")  # a session to restore
    techpal = harness.make(saved=saved, token_store_factory=slow_keyring)
    techpal.start()

    assert not answered.is_set()  # start() returned while the keyring was still busy
    assert techpal.tray.isVisible()
    assert not techpal.session.ready
    gate.set()
    qtbot.waitUntil(lambda: techpal.session.ready, timeout=TIMEOUT_MS)


def test_ask_for_help_while_signed_out_opens_sign_in_then_the_chat(qtbot: QtBot, harness: Harness) -> None:
    harness.api.add_account(password=PASSWORD)
    techpal = started(qtbot, harness.make())

    techpal.tray.actions_by_kind[TrayAction.ASK].trigger()

    assert techpal.sign_in_dialog is not None
    assert techpal.sign_in_dialog.isVisible()
    assert harness.chat.calls == []
    sign_in(qtbot, techpal)
    assert harness.chat.calls == ["present"]
    assert techpal.tray.sign_out_action.isEnabled()


def test_a_capture_lands_in_the_chat(qtbot: QtBot, harness: Harness) -> None:
    harness.api.add_account(password=PASSWORD)
    techpal = started(qtbot, harness.make())
    sign_in(qtbot, techpal)

    techpal.tray.actions_by_kind[TrayAction.CAPTURE_SCREEN].trigger()

    assert harness.chat.calls == [(b"webp-bytes", "image/webp", CAPTURED_TEXT)]  # the text read on it goes along


def test_a_failed_capture_is_said_in_a_notification(qtbot: QtBot, harness: Harness) -> None:
    harness.api.add_account(password=PASSWORD)
    techpal = started(qtbot, harness.make())
    sign_in(qtbot, techpal)

    with qtbot.wait_signal(techpal.presenter.notification, timeout=TIMEOUT_MS) as blocker:
        techpal.tray.actions_by_kind[TrayAction.CAPTURE_REGION].trigger()

    assert blocker.args == ["Capture failed", "The screen could not be captured."]


def test_sign_out_asks_before_deleting_queued_questions(qtbot: QtBot, harness: Harness) -> None:
    account = harness.api.add_account(password=PASSWORD)
    techpal = started(qtbot, harness.make())
    sign_in(qtbot, techpal)
    outbox = OfflineQueue(harness.tmp_path / "outbox", harness.api.url, account.id)
    outbox.enqueue(Question(description="the VPN drops every hour"))

    harness.answer = False
    techpal.tray.sign_out_action.trigger()
    qtbot.waitUntil(lambda: len(harness.questions) == 1, timeout=TIMEOUT_MS)
    assert "1 question is still waiting" in harness.questions[0][1]
    assert techpal.session.is_signed_in
    assert len(outbox) == 1

    harness.answer = True
    techpal.tray.sign_out_action.trigger()
    qtbot.waitUntil(lambda: not techpal.session.is_signed_in, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: len(outbox) == 0 and harness.api.logouts == 1, timeout=TIMEOUT_MS)
    assert not techpal.tray.sign_out_action.isEnabled()


def test_a_queued_question_the_server_refuses_becomes_a_tray_notification(qtbot: QtBot, harness: Harness) -> None:
    # GIVEN a question left in the outbox from an earlier offline spell, which the server now refuses
    account = harness.api.add_account(password=PASSWORD)
    outbox = OfflineQueue(harness.tmp_path / "outbox", harness.api.url, account.id)
    outbox.enqueue(Question(description="the VPN drops every hour"))
    harness.api.fail("create", 422, "description_rejected", "The description is not allowed.")
    techpal = started(qtbot, harness.make())

    # WHEN the user signs in (the outbox is drained at once)
    with qtbot.wait_signal(
        techpal.presenter.notification,
        timeout=TIMEOUT_MS,
        check_params_cb=lambda title, _: title == "Question not sent",
    ) as blocker:
        sign_in(qtbot, techpal)

    # THEN the tray says why, and the question stays on disk, marked refused
    assert blocker.args[1] == "A question you asked while offline was not sent: The description is not allowed."
    (entry,) = outbox.entries()
    assert entry.failed_code == "description_rejected"


def test_an_agent_reply_becomes_a_tray_notification(qtbot: QtBot, harness: Harness) -> None:
    harness.api.add_account(password=PASSWORD)
    techpal = started(qtbot, harness.make())
    sign_in(qtbot, techpal)
    qtbot.waitUntil(lambda: harness.api.events_connections == 1, timeout=TIMEOUT_MS)

    with qtbot.wait_signal(techpal.presenter.notification, timeout=TIMEOUT_MS) as blocker:
        harness.api.push_event("message", {"ticket_id": "t1", "role": "agent", "preview": "Fixed on our side."})

    assert blocker.args == ["New reply from support", "Fixed on our side."]


def test_a_session_revoked_elsewhere_sends_the_user_back_to_sign_in(qtbot: QtBot, harness: Harness) -> None:
    harness.api.add_account(password=PASSWORD)
    first = started(qtbot, harness.make())
    sign_in(qtbot, first)
    saved = first.settings.settings
    first.shutdown()
    harness.api.revoke_all()

    techpal = harness.make(saved=saved)
    techpal.start()

    qtbot.waitUntil(lambda: techpal.sign_in_dialog is not None, timeout=TIMEOUT_MS)
    assert not techpal.session.is_signed_in


def test_the_keyring_warning_is_shown_once(qtbot: QtBot, harness: Harness) -> None:
    harness.api.add_account(password=PASSWORD)
    failing = keyring.backends.fail.Keyring()  # type: ignore[no-untyped-call]
    techpal = harness.make(token_store_factory=lambda: KeyringTokenStore(failing))
    notes: list[tuple[str, str]] = []
    techpal.presenter.notification.connect(lambda title, text: notes.append((title, text)))

    started(qtbot, techpal)
    sign_in(qtbot, techpal)
    techpal.session.sign_out(clear_queue=False)
    sign_in(qtbot, techpal)

    assert [title for title, _ in notes].count("Sign-in kept in memory only") == 1


def test_choosing_a_theme_in_settings_repaints_the_app(qtbot: QtBot, harness: Harness, qapp: QApplication) -> None:
    techpal = started(qtbot, harness.make())

    techpal.tray.actions_by_kind[TrayAction.SETTINGS].trigger()
    dialog = techpal.settings_dialog
    assert dialog is not None
    dialog.theme_combo.setCurrentIndex(dialog.theme_combo.findData("dark"))

    assert qapp.palette().color(QPalette.ColorRole.Window) == dark_palette().color(QPalette.ColorRole.Window)
    assert SettingsStore(harness.tmp_path / "config" / "settings.json").load().theme == "dark"


def test_server_override_is_not_saved_until_sign_in(qtbot: QtBot, harness: Harness) -> None:
    harness.api.add_account(password=PASSWORD)
    path = harness.tmp_path / "config" / "settings.json"
    techpal = started(qtbot, harness.make(saved=DesktopSettings(server_url="https://help.example.com")))
    assert techpal.session.server_url == harness.api.url
    assert SettingsStore(path).load().server_url == "https://help.example.com"

    sign_in(qtbot, techpal)

    assert SettingsStore(path).load().server_url == harness.api.url


def test_smoke_run_shows_the_tray_checks_once_and_exits_0(
    qapp: QApplication,
    fake_server: FakeServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    palette, style = qapp.palette(), qapp.style().name()
    try:
        assert run(fake_server.url, smoke_test=True) == 0
    finally:
        qapp.setPalette(palette)
        qapp.setStyle(style)

    assert capsys.readouterr().out == "smoke-test ok: Server: Connected\n"
    assert fake_server.hits("health") == 1
    assert not (tmp_path / "config" / "techpal").exists()  # a smoke run saves nothing


def test_the_real_chat_and_tickets_windows_follow_the_session(qtbot: QtBot, harness: Harness) -> None:
    from desktop.ui.chat_window import ChatWindow
    from desktop.windows import default_chat_factory, default_tickets_factory

    harness.api.add_account(password=PASSWORD)
    techpal = started(qtbot, harness.make(chat_factory=default_chat_factory, tickets_factory=default_tickets_factory))
    sign_in(qtbot, techpal)

    techpal.tray.actions_by_kind[TrayAction.ASK].trigger()
    chat = techpal.chat()
    assert isinstance(chat, ChatWindow)
    assert chat.isVisible()
    assert chat.presenter._api is techpal.session.client
    techpal.tray.actions_by_kind[TrayAction.CAPTURE_SCREEN].trigger()  # the fake capture flow answers at once
    assert len(chat.presenter.attachments) == 1
    techpal.tray.actions_by_kind[TrayAction.TICKETS].trigger()
    assert techpal.connection.tickets_presenter is not None
    assert len(chat.presenter.attachments) == 1  # opening the tickets list leaves the open conversation alone

    techpal.session.sign_out(clear_queue=False)

    assert chat.presenter._api is None
    assert techpal.connection.offline_sender is None


def test_quit_ends_the_app_while_its_windows_are_open(qtbot: QtBot, harness: Harness, qapp: QApplication) -> None:
    from desktop.windows import default_chat_factory, default_tickets_factory

    # GIVEN a signed-in app with the chat (it hides instead of closing) and the tickets list open
    harness.api.add_account(password=PASSWORD)
    app = harness.make(chat_factory=default_chat_factory, tickets_factory=default_tickets_factory)
    techpal = started(qtbot, app)
    sign_in(qtbot, techpal)
    techpal.tray.actions_by_kind[TrayAction.ASK].trigger()
    techpal.tray.actions_by_kind[TrayAction.TICKETS].trigger()
    tickets = techpal.connection.tickets_presenter
    assert tickets is not None
    qtbot.waitUntil(lambda: not tickets.loading, timeout=TIMEOUT_MS)
    assert techpal.chat().isVisible()
    # WHEN the user chooses Quit
    QTimer.singleShot(0, techpal.tray.actions_by_kind[TrayAction.QUIT].trigger)
    guard = QTimer(singleShot=True, interval=5_000)  # a quit the chat window cancelled ends here, with 1
    guard.timeout.connect(lambda: qapp.exit(1))
    guard.start()
    try:
        # THEN the event loop ends at once, and the app shut down
        assert qapp.exec() == 0
    finally:
        guard.stop()  # it must not end a later test's event loop
    assert not techpal.tray.isVisible()
