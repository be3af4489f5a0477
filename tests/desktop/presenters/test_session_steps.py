"""SessionPresenter's further sign-in steps against the fake server: what the dialog tests cannot see.

The providers are asked without opening the keyring; the browser is opened on the GUI thread; a cancelled or stale
Google flow changes nothing; shutting down stops the browser wait; two-step sign-in's guards.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from desktop.core.google_sign_in import GoogleSignInError
from desktop.core.settings import DesktopSettings, SettingsStore
from desktop.presenters.session_presenter import SessionPresenter
from desktop.presenters.session_steps import CODE_NEEDED_TEXT
from desktop.presenters.two_factor_presenter import TwoFactorPresenter
from desktop.services.secrets import KeyringTokenStore
from desktop.services.settings_store import QtSettingsStore
from desktop.services.tasks import TaskRunner
from tests.fixtures.fake_server import FakeServer, SecureMemoryKeyring

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from pytestqt.qtbot import QtBot

    from desktop.core.api import ApiClient
    from desktop.core.api.models import GoogleProvider

TIMEOUT_MS = 5000
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Identity:
    id_token: str
    nonce: str


@dataclass
class BlockingGoogle:
    """A Google flow that opens the browser, then waits for ``release`` (or the cancel) before answering."""

    identity: Identity = Identity("t", "n")
    release: threading.Event = field(default_factory=threading.Event)
    stopped: threading.Event = field(default_factory=threading.Event)

    def __call__(self, provider: GoogleProvider, open_browser: Callable[[str], object]) -> BlockingGoogle.Run:
        return BlockingGoogle.Run(self, open_browser)

    @dataclass
    class Run:
        owner: BlockingGoogle
        open_browser: Callable[[str], object]

        def run(self, cancel: threading.Event | None = None) -> Identity:
            assert cancel is not None
            self.open_browser("https://accounts.google.example/auth")
            deadline = time.monotonic() + TIMEOUT_MS / 1000
            while time.monotonic() < deadline and not self.owner.release.is_set():
                if cancel.wait(0.01):
                    self.owner.stopped.set()
                    raise GoogleSignInError("cancelled", cancelled=True)
            return self.owner.identity


@dataclass
class Made:
    session: SessionPresenter
    google: BlockingGoogle
    opened_on: list[str]
    store_opened: list[int]


@pytest.fixture
def made(qapp: object, tmp_path: Path, fake_server: FakeServer) -> Iterator[Made]:
    store = SettingsStore(tmp_path / "settings.json")
    store.save(DesktopSettings(server_url=fake_server.url))
    backend = SecureMemoryKeyring()
    google, opened_on, store_opened = BlockingGoogle(), [], []

    def open_store() -> KeyringTokenStore:
        store_opened.append(1)
        return KeyringTokenStore(backend)

    session = SessionPresenter(
        QtSettingsStore(store),
        token_store_factory=open_store,
        queue_root=tmp_path / "q",
        open_url=lambda _url: opened_on.append(threading.current_thread().name),
        google_sign_in=google,
    )
    yield Made(session, google, opened_on, store_opened)
    session.shutdown()


def load_providers(qtbot: QtBot, session: SessionPresenter) -> list[object]:
    with qtbot.wait_signal(session.google_available, timeout=TIMEOUT_MS) as blocker:
        session.load_providers()
    return list(blocker.args or [])


def test_asking_for_the_providers_opens_no_keyring(qtbot: QtBot, made: Made, fake_server: FakeServer) -> None:
    fake_server.enable_google()
    with qtbot.wait_signal(made.session.state_changed, timeout=TIMEOUT_MS):
        made.session.start()

    assert load_providers(qtbot, made.session) == [True]
    assert made.store_opened == []


def test_a_providers_answer_for_the_previous_server_is_dropped(
    qtbot: QtBot, made: Made, fake_server: FakeServer
) -> None:
    fake_server.enable_google()
    fake_server.set_delay(0.3, "providers")
    answers: list[bool] = []
    made.session.google_available.connect(answers.append)
    made.session.load_providers()

    assert made.session.set_server("https://other.example")
    qtbot.wait(600)

    assert answers == []
    assert made.session.google_provider is None


def test_the_browser_opens_on_the_gui_thread_and_a_cancelled_flow_changes_nothing(
    qtbot: QtBot, made: Made, fake_server: FakeServer
) -> None:
    fake_server.enable_google()
    load_providers(qtbot, made.session)
    waiting: list[bool] = []
    made.session.google_waiting.connect(waiting.append)

    made.session.sign_in_with_google()
    qtbot.waitUntil(lambda: bool(made.opened_on), timeout=TIMEOUT_MS)
    made.session.cancel_google()
    made.google.release.set()  # too late: the answer of a cancelled flow is dropped
    qtbot.wait(100)

    assert made.opened_on == [threading.main_thread().name]
    assert waiting == [True, False]
    assert not made.session.busy
    assert fake_server.hits("google") == 0


def test_shutting_down_stops_the_browser_wait(qtbot: QtBot, made: Made, fake_server: FakeServer) -> None:
    fake_server.enable_google()
    load_providers(qtbot, made.session)
    made.session.sign_in_with_google()
    qtbot.waitUntil(lambda: bool(made.opened_on), timeout=TIMEOUT_MS)

    started = time.monotonic()
    made.session.shutdown()

    assert made.google.stopped.is_set()
    assert time.monotonic() - started < 2


def test_google_sign_in_needs_a_provider_of_this_server(qtbot: QtBot, made: Made) -> None:
    load_providers(qtbot, made.session)  # the fake offers none

    made.session.sign_in_with_google()

    assert not made.session.busy
    assert made.opened_on == []


def test_a_code_is_needed_and_only_while_a_sign_in_waits_for_one(
    qtbot: QtBot, made: Made, fake_server: FakeServer
) -> None:
    with qtbot.wait_signal(made.session.failed, timeout=TIMEOUT_MS) as no_challenge:
        made.session.submit_otp("123456")
    fake_server.turn_on_two_factor(fake_server.add_account(password=PASSWORD))
    with qtbot.wait_signal(made.session.otp_required, timeout=TIMEOUT_MS):
        made.session.sign_in("ada", PASSWORD)
    with qtbot.wait_signal(made.session.failed, timeout=TIMEOUT_MS) as empty:
        made.session.submit_otp("   ")

    assert no_challenge.args[:2] == ["sign_in", "Please sign in again."]
    assert empty.args[:2] == ["otp", CODE_NEEDED_TEXT]
    assert made.session.awaiting_otp
    assert fake_server.hits("login_otp") == 0


def test_recovery_codes_that_cannot_be_saved_say_so(qtbot: QtBot, signed_in_client: ApiClient, tmp_path: Path) -> None:
    runner = TaskRunner()
    presenter = TwoFactorPresenter(lambda: signed_in_client, runner=runner, profile=lambda: None)
    try:
        presenter._on_confirmed(["aaaaa-bbbbb"])
        with qtbot.wait_signal(presenter.failed, timeout=TIMEOUT_MS) as failed:
            presenter.save_codes(tmp_path / "missing-folder" / "codes.txt")
        assert failed.args[0] == "save"
        assert failed.args[1].startswith("Couldn't save the codes there:")
    finally:
        runner.shutdown()


def test_an_account_without_a_password_is_told_to_sign_in_with_google_again(
    qtbot: QtBot, signed_in_client: ApiClient, fake_server: FakeServer
) -> None:
    """The server wants a fresh sign-in in place of the password such an account lacks: say so, ask no password."""
    fake_server.account("ada@example.com").has_password = False
    profile = signed_in_client.me()
    detail = "Turning on two-step sign-in needs a fresh sign-in: sign in with Google again."
    runner = TaskRunner()
    presenter = TwoFactorPresenter(lambda: signed_in_client, runner=runner, profile=lambda: profile)
    try:
        for route, act in (("start_totp", presenter.start), ("confirm_totp", lambda: presenter.confirm("123456"))):
            fake_server.fail(route, 403, "reauthentication_required", detail)
            with qtbot.wait_signal(presenter.failed, timeout=TIMEOUT_MS) as failed:
                act()
            assert failed.args[0] == route.removesuffix("_totp")
            assert "sign in with Google again" in failed.args[1]
            assert "password" not in failed.args[1]
    finally:
        runner.shutdown()
