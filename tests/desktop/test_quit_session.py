"""Quit and the server session: without a usable keyring the sign-in dies with the app, so Quit ends it on the server.

Otherwise every start would sign in afresh and add one more device to the account's device list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import keyring.backends.fail
import pytest

from tests.fixtures.fake_server import FakeServer, SecureMemoryKeyring

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend
    from pytestqt.qtbot import QtBot

    from desktop.core.ocr_text import OcrUpload
    from tests.fixtures.desktop_app import AppRuns

pytestmark = pytest.mark.qt_log_ignore(
    r"No such signal QPlatformNativeInterface::systemTrayWindowChanged",
    r"This plugin does not support (propagateSizeHints|raise)\(\)",
)

TIMEOUT_MS = 5000


class _Chat:
    def present(self) -> None: ...

    def attach(self, data: bytes, media_type: str, ocr: OcrUpload | None = None) -> None: ...


def no_keyring() -> KeyringBackend:
    return keyring.backends.fail.Keyring()  # type: ignore[no-untyped-call]


def test_without_a_keyring_quit_signs_out_on_the_server_so_restarts_add_no_device(
    qtbot: QtBot, app_runs: AppRuns, fake_server: FakeServer
) -> None:
    account = fake_server.account("ada@example.com")
    for _run in range(3):
        techpal = app_runs.start_signed_in(qtbot, no_keyring())
        assert len(fake_server.session_devices(account)) == 1

        app_runs.quit(techpal)

        assert fake_server.session_devices(account) == []
    assert fake_server.logouts == 3


def test_with_a_keyring_quit_keeps_the_session_for_the_next_start(
    qtbot: QtBot, app_runs: AppRuns, fake_server: FakeServer
) -> None:
    backend = SecureMemoryKeyring()
    app_runs.quit(app_runs.start_signed_in(qtbot, backend))

    techpal = app_runs.start_signed_in(qtbot, backend)

    assert fake_server.logouts == 0
    assert fake_server.hits("login") == 1  # the second start was still signed in
    assert techpal.session.is_signed_in


def test_quit_does_not_wait_long_for_a_server_that_does_not_answer(
    qtbot: QtBot, app_runs: AppRuns, fake_server: FakeServer
) -> None:
    techpal = app_runs.start_signed_in(qtbot, no_keyring())
    fake_server.set_delay(30, "logout")

    took = app_runs.quit(techpal)

    assert fake_server.hits("logout") == 1  # it was asked
    assert took < 4  # 2 s for the answer, then Quit goes on
