"""The subscription window's view-model: plan, status, usage against quota, Upgrade and Manage billing.

All requests run in workers. Checkout and Portal URLs are handed to the view, which shows the address before
opening it in the browser. A server without billing answers 409 ``billing_disabled`` (or says
``billing_enabled: false``): the window then says the plan is unlimited and offers nothing to buy.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from desktop.core.api.errors import ApiError, SessionExpired
from desktop.core.api.models import Plan, PlanCatalogue, Subscription
from desktop.presenters.remote_presenter import RemotePresenter

if TYPE_CHECKING:
    import datetime
    from collections.abc import Callable

    from desktop.core.api.client import ApiClient
    from desktop.services.tasks import TaskRunner

__all__ = ["SubscriptionPresenter", "SubscriptionView", "SubscriptionViewState", "describe_subscription"]

BILLING_DISABLED_TEXT = "Billing is not enabled on this server — your plan is unlimited."
SIGNED_OUT_TEXT = "Sign in to see your subscription."
UNEXPECTED_TEXT = "Something unexpected went wrong. Please try again."


class SubscriptionViewState(StrEnum):
    """What the window shows."""

    LOADING = "loading"
    LOADED = "loaded"
    BILLING_DISABLED = "billing_disabled"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    """Display-ready facts about the subscription.

    Attributes:
        plan: Plan name, e.g. "Free".
        status: Status in words, e.g. "Active".
        usage_text: "12 of 50 answers used this period" or "Unlimited answers (12 used this period)".
        usage: Answers used.
        quota: Answers allowed, ``None`` for unlimited.
        period_text: When the period ends or renews, and whether it is cancelled at period end ("" if unknown).
        upgrade_plans: Paid plans the user may switch to, as (key, label).
        can_manage: A Portal makes sense (billing on).
    """

    plan: str
    status: str
    usage_text: str
    usage: int
    quota: int | None
    period_text: str
    upgrade_plans: tuple[tuple[str, str], ...]
    can_manage: bool


def _date(value: datetime.datetime | None) -> str:
    return value.astimezone().strftime("%d %B %Y").lstrip("0") if value is not None else ""


def describe_subscription(subscription: Subscription, catalogue: PlanCatalogue | None) -> SubscriptionView:
    """Turn the server's answers into what the window shows."""
    if subscription.quota is None:
        usage_text = f"Unlimited answers ({subscription.usage} used this period)"
    else:
        usage_text = f"{subscription.usage} of {subscription.quota} answers used this period"
    period = ""
    if subscription.cancel_at_period_end and subscription.current_period_end is not None:
        period = f"Cancelled: ends on {_date(subscription.current_period_end)}"
    elif subscription.current_period_end is not None:
        period = f"Renews on {_date(subscription.current_period_end)}"
    elif subscription.resets_at is not None:
        period = f"Usage resets on {_date(subscription.resets_at)}"
    plans: list[Plan] = list(catalogue.plans) if catalogue is not None else []
    billing = subscription.billing_enabled and (catalogue is None or catalogue.billing_enabled)
    upgrades = tuple(
        (p.key, f"{p.name or p.key} — {p.price}" if p.price else (p.name or p.key))
        for p in plans
        if billing and p.paid and p.key != subscription.plan
    )
    return SubscriptionView(
        plan=subscription.plan_name or subscription.plan.replace("_", " ").title(),
        status=subscription.status.replace("_", " ").capitalize(),
        usage_text=usage_text,
        usage=subscription.usage,
        quota=subscription.quota,
        period_text=period,
        upgrade_plans=upgrades,
        can_manage=billing,
    )


class SubscriptionPresenter(RemotePresenter):
    """Loads the subscription and asks the server for Checkout/Portal URLs.

    Args:
        client: Returns the signed-in API client, or ``None`` when signed out.
        runner: Where requests run.
        parent: Owning QObject.

    Signals:
        state_changed(str): A :class:`SubscriptionViewState` value; ``view``/``message`` are up to date.
        open_url(str, str): Show this URL (kind ``"checkout"`` or ``"portal"``) and open it if the user agrees.
        action_failed(str): Upgrade/Manage failed; the message is for the user.
        busy_changed(bool): An Upgrade/Manage request is running.
        session_expired(): A request found the session revoked.
    """

    state_changed = Signal(str)
    open_url = Signal(str, str)
    action_failed = Signal(str)
    busy_changed = Signal(bool)

    def __init__(
        self, client: Callable[[], ApiClient | None], *, runner: TaskRunner, parent: QObject | None = None
    ) -> None:
        super().__init__(client, runner=runner, parent=parent)
        self._state = SubscriptionViewState.LOADING
        self._view: SubscriptionView | None = None
        self._message = ""
        self._busy = False
        self._generation = 0

    @property
    def state(self) -> SubscriptionViewState:
        """What the window shows."""
        return self._state

    @property
    def view(self) -> SubscriptionView | None:
        """The loaded facts (state ``loaded``)."""
        return self._view

    @property
    def message(self) -> str:
        """The sentence for states ``billing_disabled`` and ``failed``."""
        return self._message

    @property
    def busy(self) -> bool:
        """An Upgrade/Manage request is running."""
        return self._busy

    @Slot()
    def refresh(self) -> None:
        """(Re)load the subscription and the plans."""
        client = self._client()
        if client is None:
            self._set_state(SubscriptionViewState.FAILED, SIGNED_OUT_TEXT)
            return
        self._generation += 1
        generation = self._generation
        self._set_state(SubscriptionViewState.LOADING, "")

        def load() -> tuple[Subscription, PlanCatalogue | None]:
            subscription = client.subscription()
            try:
                catalogue: PlanCatalogue | None = client.plans()
            except ApiError as exc:
                if exc.code == "billing_disabled":
                    catalogue = PlanCatalogue(plans=[], billing_enabled=False)
                elif isinstance(exc, SessionExpired):
                    raise
                else:
                    catalogue = None
            return subscription, catalogue

        self._runner.run(
            load,
            lambda result: self._on_loaded(generation, result),
            lambda exc: self._on_load_failed(generation, exc),
        )

    def _on_loaded(self, generation: int, result: tuple[Subscription, PlanCatalogue | None]) -> None:
        if generation != self._generation:
            return
        subscription, catalogue = result
        self._view = describe_subscription(subscription, catalogue)
        billing_off = not subscription.billing_enabled or (catalogue is not None and not catalogue.billing_enabled)
        if billing_off:
            self._set_state(SubscriptionViewState.BILLING_DISABLED, BILLING_DISABLED_TEXT)
        else:
            self._set_state(SubscriptionViewState.LOADED, "")

    def _on_load_failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        if isinstance(exc, ApiError) and exc.code == "billing_disabled":
            self._set_state(SubscriptionViewState.BILLING_DISABLED, BILLING_DISABLED_TEXT)
            return
        if isinstance(exc, SessionExpired):
            self.session_expired.emit()
        self._set_state(SubscriptionViewState.FAILED, exc.message if isinstance(exc, ApiError) else UNEXPECTED_TEXT)

    @Slot(str)
    def upgrade(self, plan: str) -> None:
        """Ask for a Checkout URL for ``plan``; ``open_url("checkout", url)`` follows."""
        self._action("checkout", lambda client: client.checkout_url(plan))

    @Slot()
    def manage_billing(self) -> None:
        """Ask for a Customer Portal URL; ``open_url("portal", url)`` follows."""
        self._action("portal", lambda client: client.portal_url())

    def _action(self, kind: str, call: Callable[[ApiClient], str]) -> None:
        client = self._client()
        if client is None:
            self.action_failed.emit(SIGNED_OUT_TEXT)
            return
        if self._busy:
            return
        self._set_busy(True)
        self._runner.run(lambda: call(client), lambda url: self._on_url(kind, url), self._on_action_failed)

    def _on_url(self, kind: str, url: str) -> None:
        self._set_busy(False)
        self.open_url.emit(kind, url)

    def _on_action_failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        if isinstance(exc, ApiError) and exc.code == "billing_disabled":
            self._set_state(SubscriptionViewState.BILLING_DISABLED, BILLING_DISABLED_TEXT)
            return
        if isinstance(exc, SessionExpired):
            self.session_expired.emit()
        self.action_failed.emit(exc.message if isinstance(exc, ApiError) else UNEXPECTED_TEXT)

    def _set_state(self, state: SubscriptionViewState, message: str) -> None:
        self._state = state
        self._message = message
        self.state_changed.emit(state.value)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.busy_changed.emit(busy)
