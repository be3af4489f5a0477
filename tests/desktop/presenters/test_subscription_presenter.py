"""SubscriptionPresenter against a real local HTTP server playing the billing endpoints."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

import pytest

from desktop.core.api import ApiClient, PlanCatalogue, Subscription
from desktop.core.api.models import Plan
from desktop.presenters.subscription_presenter import (
    BILLING_DISABLED_TEXT,
    SIGNED_OUT_TEXT,
    SubscriptionPresenter,
    SubscriptionViewState,
    describe_subscription,
)
from desktop.services.tasks import TaskRunner

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pytestqt.qtbot import QtBot

    from tests.fixtures.fake_server import FakeServer

TIMEOUT_MS = 5000


@pytest.fixture
def presenter(qapp: object, signed_in_client: ApiClient) -> Iterator[SubscriptionPresenter]:
    """The presenter on its own runner."""
    runner = TaskRunner()
    presenter = SubscriptionPresenter(lambda: signed_in_client, runner=runner)
    yield presenter
    runner.shutdown()


def load(qtbot: QtBot, presenter: SubscriptionPresenter) -> None:
    with qtbot.wait_signal(
        presenter.state_changed, timeout=TIMEOUT_MS, check_params_cb=lambda s: s != SubscriptionViewState.LOADING
    ):
        presenter.refresh()


def test_describe_a_free_plan_with_quota_and_an_upgrade() -> None:
    subscription = Subscription(
        plan="free",
        status="active",
        plan_name="Free",
        usage=3,
        quota=10,
        resets_at=datetime.datetime(2026, 12, 1, 12, tzinfo=datetime.UTC),
    )
    catalogue = PlanCatalogue(
        plans=[Plan(key="free", name="Free", paid=False), Plan(key="pro", name="Pro", price="9 EUR", paid=True)]
    )

    view = describe_subscription(subscription, catalogue)

    assert view.usage_text == "3 of 10 answers used this period"
    assert view.period_text == "Usage resets on 1 December 2026"
    assert view.upgrade_plans == (("pro", "Pro — 9 EUR"),)
    assert view.can_manage


def test_describe_an_unlimited_self_hosted_plan_and_a_cancellation() -> None:
    unlimited = Subscription(plan="self_hosted", status="active", usage=42, quota=None, billing_enabled=False)
    cancelled = Subscription(
        plan="pro",
        status="active",
        quota=500,
        cancel_at_period_end=True,
        current_period_end=datetime.datetime(2027, 1, 5, 12, tzinfo=datetime.UTC),
    )

    assert describe_subscription(unlimited, None).usage_text == "Unlimited answers (42 used this period)"
    assert describe_subscription(unlimited, None).plan == "Self Hosted"
    assert describe_subscription(unlimited, None).upgrade_plans == ()
    assert describe_subscription(cancelled, None).period_text == "Cancelled: ends on 5 January 2027"


def test_loads_plan_usage_and_upgrades(qtbot: QtBot, presenter: SubscriptionPresenter) -> None:
    load(qtbot, presenter)

    assert presenter.state is SubscriptionViewState.LOADED
    assert presenter.view is not None
    assert (presenter.view.plan, presenter.view.usage, presenter.view.quota) == ("Free", 3, 10)
    assert presenter.view.upgrade_plans == (("pro", "Pro — 9 EUR / month"),)


def test_upgrade_hands_the_checkout_url_to_the_view(qtbot: QtBot, presenter: SubscriptionPresenter) -> None:
    with qtbot.wait_signal(presenter.open_url, timeout=TIMEOUT_MS) as blocker:
        presenter.upgrade("pro")

    assert blocker.args == ["checkout", "https://checkout.stripe.com/c/pay/pro"]
    assert not presenter.busy


def test_manage_billing_hands_the_portal_url_to_the_view(qtbot: QtBot, presenter: SubscriptionPresenter) -> None:
    with qtbot.wait_signal(presenter.open_url, timeout=TIMEOUT_MS) as blocker:
        presenter.manage_billing()

    assert blocker.args == ["portal", "https://billing.stripe.com/p/session/test"]


def test_a_server_without_billing_says_the_plan_is_unlimited(
    qtbot: QtBot, presenter: SubscriptionPresenter, fake_server: FakeServer
) -> None:
    fake_server.set_billing(False, plan="self_hosted", plan_name="Self-hosted", quota=None, resets_at=None)

    load(qtbot, presenter)

    assert presenter.state is SubscriptionViewState.BILLING_DISABLED
    assert presenter.message == BILLING_DISABLED_TEXT
    assert presenter.view is not None
    assert presenter.view.upgrade_plans == ()


def test_a_409_billing_disabled_on_checkout_switches_to_the_unlimited_state(
    qtbot: QtBot, presenter: SubscriptionPresenter, fake_server: FakeServer
) -> None:
    load(qtbot, presenter)
    fake_server.set_billing(False)

    with qtbot.wait_signal(presenter.state_changed, timeout=TIMEOUT_MS) as blocker:
        presenter.upgrade("pro")

    assert blocker.args == [SubscriptionViewState.BILLING_DISABLED.value]
    assert presenter.message == "Billing is not enabled on this server — your plan is unlimited."


def test_a_revoked_session_is_reported(qtbot: QtBot, presenter: SubscriptionPresenter, fake_server: FakeServer) -> None:
    fake_server.revoke_all()

    with qtbot.wait_signal(presenter.session_expired, timeout=TIMEOUT_MS):
        presenter.refresh()

    assert presenter.state is SubscriptionViewState.FAILED
    assert presenter.message == "Your session has ended. Please sign in again."


def test_signed_out_needs_no_request(qapp: object) -> None:
    runner = TaskRunner()
    presenter = SubscriptionPresenter(lambda: None, runner=runner)

    presenter.refresh()

    assert presenter.state is SubscriptionViewState.FAILED
    assert presenter.message == SIGNED_OUT_TEXT
    assert runner.pending == 0
    runner.shutdown()
