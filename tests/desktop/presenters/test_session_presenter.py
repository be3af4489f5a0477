"""SessionPresenter against a real local HTTP server, with the keyring token store on in-memory backends."""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import keyring.backends.fail
import pytest
from PySide6.QtCore import QTimer

from desktop.core.auth import StoredTokens
from desktop.core.offline_queue import OfflineQueue
from desktop.core.question import Question
from desktop.core.settings import DesktopSettings, SettingsStore
from desktop.presenters.session_presenter import (
    INSECURE_URL_TEXT,
    SessionPresenter,
    SessionState,
    extract_verification_token,
)
from desktop.services.secrets import KeyringTokenStore
from desktop.services.settings_store import QtSettingsStore
from tests.fixtures.fake_server import FakeServer, SecureMemoryKeyring

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

TIMEOUT_MS = 5000
PASSWORD = "correct horse battery"

MakeSession = Callable[..., SessionPresenter]


@pytest.fixture
def keyring_backend() -> SecureMemoryKeyring:
    """The "OS keyring" of the test."""
    return SecureMemoryKeyring()


@pytest.fixture
def make_session(
    qapp: object, tmp_path: Path, fake_server: FakeServer, keyring_backend: SecureMemoryKeyring
) -> Iterator[MakeSession]:
    """Build presenters on a settings file in ``tmp_path`` pointing at the fake server; shut them down after."""
    made: list[SessionPresenter] = []

    def make(*, backend: object = None, settings: DesktopSettings | None = None) -> SessionPresenter:
        store = SettingsStore(tmp_path / "settings.json")
        store.save(settings or DesktopSettings(server_url=fake_server.url))
        chosen = keyring_backend if backend is None else backend
        session = SessionPresenter(
            QtSettingsStore(store),
            token_store_factory=lambda: KeyringTokenStore(chosen),  # type: ignore[arg-type]
            queue_root=tmp_path / "outbox",
        )
        made.append(session)
        return session

    yield make
    for session in made:
        session.shutdown()


def start(qtbot: QtBot, session: SessionPresenter) -> None:
    with qtbot.wait_signal(session.state_changed, timeout=TIMEOUT_MS):
        session.start()


def sign_in(qtbot: QtBot, session: SessionPresenter, login: str = "ada@example.com") -> None:
    with qtbot.wait_signal(session.signed_in, timeout=TIMEOUT_MS):
        session.sign_in(login, PASSWORD)


def test_with_device_details_shared_the_device_is_named_after_the_computer(
    qtbot: QtBot, make_session: MakeSession, fake_server: FakeServer
) -> None:
    fake_server.add_account()
    session = make_session(settings=DesktopSettings(server_url=fake_server.url, share_device_details=True))
    start(qtbot, session)

    sign_in(qtbot, session)

    assert fake_server.requests_to("POST", "/auth/login")[0].json()["device_name"] == platform.node()


def test_extract_verification_token_from_a_code_or_the_mailed_link() -> None:
    assert extract_verification_token("  abc123  ") == "abc123"
    assert extract_verification_token("https://help.example.com/verify-email?token=t0k-en_1") == "t0k-en_1"
    assert extract_verification_token("http://127.0.0.1:8000/verify-email?x=1&token=zz") == "zz"


def test_signing_in_keeps_tokens_in_the_keyring_and_names_no_host(
    qtbot: QtBot, make_session: MakeSession, fake_server: FakeServer, keyring_backend: SecureMemoryKeyring
) -> None:
    account = fake_server.add_account()
    session = make_session()
    start(qtbot, session)
    assert session.state is SessionState.SIGNED_OUT

    sign_in(qtbot, session)

    assert session.is_signed_in
    assert session.profile is not None
    assert session.profile.email == "ada@example.com"
    sent = fake_server.requests_to("POST", "/auth/login")[0].json()["device_name"]
    assert sent == f"Tech Pal on {platform.system()}"  # device details are off: the host name stays here
    assert platform.node() not in sent
    assert [user for _service, user in keyring_backend.passwords] == [f"{account.id}@{fake_server.url}"]
    settings_file = Path(session._settings.path).read_text()
    assert account.id in settings_file
    assert "access_token" not in settings_file
    assert "refresh" not in settings_file


def test_the_signed_in_account_has_one_outbox_object_shared_by_its_users(
    qtbot: QtBot, make_session: MakeSession, fake_server: FakeServer
) -> None:
    fake_server.add_account()
    session = make_session()
    start(qtbot, session)
    assert session.offline_queue() is None  # signed out: no outbox
    sign_in(qtbot, session)

    # The chat and the background sender get the same queue, so its locks order their writes.
    assert session.offline_queue() is session.offline_queue() is not None


def test_a_wrong_password_is_reported_in_words(
    qtbot: QtBot, make_session: MakeSession, fake_server: FakeServer
) -> None:
    fake_server.add_account()
    session = make_session()
    start(qtbot, session)

    with qtbot.wait_signal(session.failed, timeout=TIMEOUT_MS) as blocker:
        session.sign_in("ada@example.com", "wrong password!")

    assert blocker.args[0] == "sign_in"
    assert blocker.args[1] == "That e-mail/username and password don't match. Check them and try again."
    assert session.state is SessionState.SIGNED_OUT


def test_register_verify_with_the_mailed_link_then_sign_in(
    qtbot: QtBot, make_session: MakeSession, fake_server: FakeServer
) -> None:
    session = make_session()
    start(qtbot, session)

    with qtbot.wait_signal(session.registered, timeout=TIMEOUT_MS) as registered:
        session.register(name="Ada", email=" ada@example.com ", username="ada", password=PASSWORD, age_confirmed=True)
    assert registered.args == ["ada@example.com"]
    with qtbot.wait_signal(session.failed, timeout=TIMEOUT_MS) as unverified:
        session.sign_in("ada", PASSWORD)
    assert "confirm your e-mail address" in unverified.args[1]

    token = fake_server.account("ada@example.com").verify_token
    with qtbot.wait_signal(session.verified, timeout=TIMEOUT_MS):
        session.verify(f"{fake_server.url}/verify-email?token={token}")
    sign_in(qtbot, session, login="ada")

    assert session.is_signed_in


def test_a_weak_password_comes_back_with_its_field_error(
    qtbot: QtBot, make_session: MakeSession, fake_server: FakeServer
) -> None:
    session = make_session()
    start(qtbot, session)

    with qtbot.wait_signal(session.failed, timeout=TIMEOUT_MS) as blocker:
        session.register(name="Ada", email="ada@example.com", username="ada", password="short", age_confirmed=True)

    step, message, errors = blocker.args
    assert step == "register"
    assert message == "Choose a stronger password."
    assert [(e.field, e.message) for e in errors] == [("password", "Use at least 10 characters.")]


def test_an_insecure_keyring_is_reported_once_and_sign_in_still_works(
    qtbot: QtBot, make_session: MakeSession, fake_server: FakeServer
) -> None:
    fake_server.add_account()
    session = make_session(backend=keyring.backends.fail.Keyring())  # type: ignore[no-untyped-call]
    warnings: list[str] = []
    session.warning.connect(warnings.append)

    start(qtbot, session)
    sign_in(qtbot, session)

    assert len(warnings) == 1
    assert "kept in memory only" in warnings[0]
    assert session.is_signed_in


def test_a_stored_session_is_restored_at_start(
    qtbot: QtBot, make_session: MakeSession, fake_server: FakeServer, keyring_backend: SecureMemoryKeyring
) -> None:
    fake_server.add_account()
    first = make_session()
    start(qtbot, first)
    sign_in(qtbot, first)
    first.shutdown()

    second = make_session(settings=first._settings.settings)
    profiles: list[object] = []
    second.signed_in.connect(profiles.append)
    with qtbot.wait_signal(second.signed_in, timeout=TIMEOUT_MS, check_params_cb=lambda p: p is not None):
        second.start()

    assert second.is_signed_in
    assert profiles[0] is None  # signed in at once from the keyring, before the server answered
    assert second.profile is not None
    assert second.profile.username == "ada"


def test_a_revoked_session_sends_the_user_back_to_sign_in(
    qtbot: QtBot, make_session: MakeSession, fake_server: FakeServer
) -> None:
    fake_server.add_account()
    first = make_session()
    start(qtbot, first)
    sign_in(qtbot, first)
    first.shutdown()
    fake_server.revoke_all()

    second = make_session(settings=first._settings.settings)
    with qtbot.wait_signal(second.signed_out, timeout=TIMEOUT_MS) as blocker:
        second.start()

    assert "Sign in again" in blocker.args[0]
    assert second.state is SessionState.SIGNED_OUT
    assert second._settings.settings.account_id is None


def test_sign_out_without_queued_questions_revokes_the_session_and_forgets_the_tokens(
    qtbot: QtBot, make_session: MakeSession, fake_server: FakeServer, keyring_backend: SecureMemoryKeyring
) -> None:
    fake_server.add_account()
    session = make_session()
    start(qtbot, session)
    sign_in(qtbot, session)
    asked: list[int] = []
    session.sign_out_needs_confirmation.connect(asked.append)

    with qtbot.wait_signal(session.signed_out, timeout=TIMEOUT_MS) as blocker:
        session.request_sign_out()

    assert blocker.args == [""]
    qtbot.waitUntil(lambda: fake_server.logouts == 1, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not keyring_backend.passwords, timeout=TIMEOUT_MS)
    assert asked == []


def test_sign_out_asks_first_when_questions_wait_in_the_outbox_and_clears_them(
    qtbot: QtBot, make_session: MakeSession, fake_server: FakeServer, tmp_path: Path
) -> None:
    account = fake_server.add_account()
    session = make_session()
    start(qtbot, session)
    sign_in(qtbot, session)
    outbox = OfflineQueue(tmp_path / "outbox", fake_server.url, account.id)
    outbox.enqueue(Question(description="printer on fire"))

    with qtbot.wait_signal(session.sign_out_needs_confirmation, timeout=TIMEOUT_MS) as blocker:
        session.request_sign_out()
    assert blocker.args == [1]
    still_signed_in = session.is_signed_in  # nothing happens until the user answers

    session.sign_out(clear_queue=True)

    qtbot.waitUntil(lambda: len(outbox) == 0, timeout=TIMEOUT_MS)
    assert (still_signed_in, session.is_signed_in) == (True, False)
    qtbot.waitUntil(lambda: fake_server.logouts == 1, timeout=TIMEOUT_MS)


def test_plain_http_to_another_computer_needs_confirmation(qtbot: QtBot, make_session: MakeSession) -> None:
    session = make_session()
    start(qtbot, session)

    with qtbot.wait_signal(session.failed, timeout=TIMEOUT_MS) as blocker:
        assert session.set_server("http://help.example.com") is False
    assert blocker.args[1] == INSECURE_URL_TEXT

    assert session.set_server("http://help.example.com", insecure_confirmed=True)
    assert session._settings.settings.insecure_http_confirmed
    assert session.server_url == "http://help.example.com"
    assert not session.needs_server_confirmation


def test_a_slow_server_never_freezes_the_event_loop(
    qtbot: QtBot, make_session: MakeSession, fake_server: FakeServer
) -> None:
    fake_server.add_account()
    session = make_session()
    start(qtbot, session)
    fake_server.set_delay(1.0)
    signed_in_at_tick: list[bool] = []  # one entry per timer tick: was the slow sign-in already done?
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: signed_in_at_tick.append(session.is_signed_in))
    timer.start()
    try:
        session.sign_in("ada@example.com", PASSWORD)  # returns at once
        assert session.busy
        assert not session.is_signed_in
        qtbot.waitUntil(lambda: session.is_signed_in, timeout=TIMEOUT_MS)
    finally:
        timer.stop()

    assert signed_in_at_tick.count(False) >= 5  # the loop kept running during the two slow requests (login, /me)


def test_tokens_are_stored_as_the_keyring_pair(
    qtbot: QtBot, make_session: MakeSession, fake_server: FakeServer, keyring_backend: SecureMemoryKeyring
) -> None:
    account = fake_server.add_account()
    session = make_session()
    start(qtbot, session)
    sign_in(qtbot, session)

    stored = KeyringTokenStore(keyring_backend).load(fake_server.url, account.id)

    assert isinstance(stored, StoredTokens)


def test_a_first_launch_does_not_open_the_keyring(qtbot: QtBot, make_session: MakeSession) -> None:
    opened: list[bool] = []
    session = make_session()
    factory = session._token_store_factory
    session._token_store_factory = lambda: opened.append(True) or factory()  # type: ignore[func-returns-value]

    session.start()

    assert session.state is SessionState.SIGNED_OUT  # at once: nothing to restore
    qtbot.wait(50)
    assert opened == []
