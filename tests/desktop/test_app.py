"""The composition root, offscreen: QApplication reuse and an in-process smoke run."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from desktop.app import APP_NAME, ensure_application, run
from tests.fixtures.http import HealthServer


def test_an_existing_qapplication_is_reused_and_configured(qapp: QApplication) -> None:
    app = ensure_application(["ignored"])

    assert app is qapp
    assert app.applicationName() == APP_NAME
    assert app.organizationName() == APP_NAME
    assert app.quitOnLastWindowClosed() is False


# Offscreen has no native tray; Qt says so once when the icon is shown. Under Xvfb it stays silent
# (tests/desktop/ui/test_tray.py checks that stderr is empty there).
@pytest.mark.qt_log_ignore(r"No such signal QPlatformNativeInterface::systemTrayWindowChanged")
def test_smoke_run_shows_the_tray_checks_once_and_exits_0(
    qapp: QApplication, health_server: HealthServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(health_server.url, smoke_test=True) == 0

    assert capsys.readouterr().out == "smoke-test ok: Server: Connected\n"
    assert health_server.hits == 1
