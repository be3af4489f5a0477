"""The subscription window, offscreen, against a real local HTTP server playing billing."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop.presenters.subscription_presenter import BILLING_DISABLED_TEXT, SubscriptionPresenter
from desktop.services.tasks import TaskRunner
from desktop.ui.subscription_window import UNLIMITED_TEXT, SubscriptionWindow

if TYPE_CHECKING:
    from collections.abc import Iterator

    from PySide6.QtWidgets import QWidget
    from pytestqt.qtbot import QtBot

    from desktop.core.api import ApiClient
    from tests.fixtures.fake_server import FakeServer

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)\(\)")

TIMEOUT_MS = 5000


class Opened:
    """Records what the window would open in the browser (instead of opening it)."""

    def __init__(self) -> None:
        self.urls: list[tuple[str, str]] = []

    def __call__(self, _parent: QWidget, url: str, purpose: str) -> bool:
        self.urls.append((url, purpose))
        return True


@pytest.fixture
def opened() -> Opened:
    return Opened()


@pytest.fixture
def window(qtbot: QtBot, signed_in_client: ApiClient, opened: Opened) -> Iterator[SubscriptionWindow]:
    """The window, shown and loaded."""
    runner = TaskRunner()
    presenter = SubscriptionPresenter(lambda: signed_in_client, runner=runner)
    window = SubscriptionWindow(presenter, open_url=opened)
    qtbot.addWidget(window)
    yield window
    runner.shutdown()


def present(qtbot: QtBot, window: SubscriptionWindow) -> None:
    window.present()
    qtbot.waitUntil(
        lambda: window.status_label.isHidden() or window.status_label.text() != "Loading…", timeout=TIMEOUT_MS
    )


def test_shows_plan_usage_bar_and_upgrade(qtbot: QtBot, window: SubscriptionWindow) -> None:
    present(qtbot, window)

    assert window.plan_label.text() == "Free"
    assert window.state_label.text() == "Active"
    assert (window.usage_bar.value(), window.usage_bar.maximum()) == (3, 10)
    assert window.usage_label.text() == "3 of 10 answers used this period"
    assert not window.upgrade_button.isHidden()
    assert not window.manage_button.isHidden()
    assert window.plan_combo.currentText() == "Pro — 9 EUR / month"


def test_upgrade_shows_the_checkout_address_before_opening_it(
    qtbot: QtBot, window: SubscriptionWindow, opened: Opened
) -> None:
    present(qtbot, window)

    QTest.mouseClick(window.upgrade_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: bool(opened.urls), timeout=TIMEOUT_MS)
    assert opened.urls[0][0] == "https://checkout.stripe.com/c/pay/pro"


def test_billing_disabled_says_unlimited_and_offers_nothing_to_buy(
    qtbot: QtBot, window: SubscriptionWindow, fake_server: FakeServer
) -> None:
    fake_server.set_billing(False, plan="self_hosted", plan_name="Self-hosted", quota=None, usage=7)

    present(qtbot, window)

    assert window.status_label.text() == BILLING_DISABLED_TEXT
    assert window.usage_bar.format() == UNLIMITED_TEXT
    assert window.usage_label.text() == "Unlimited answers (7 used this period)"
    assert window.upgrade_button.isHidden()
    assert window.manage_button.isHidden()
