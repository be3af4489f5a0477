"""The subscription window: plan, status, usage bar, Upgrade and Manage billing. Binds to the presenter only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.links import check_link
from desktop.presenters.subscription_presenter import SubscriptionPresenter, SubscriptionViewState
from desktop.ui.theme import use_danger_color

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["SubscriptionWindow", "confirm_and_open_url"]

TITLE = "Tech Pal — Subscription"
UNLIMITED_TEXT = "Unlimited"


def confirm_and_open_url(parent: QWidget, url: str, purpose: str) -> bool:
    """Show the full address, and open it in the browser if the user agrees; only http(s) links ever open."""
    verdict = check_link(url)
    if not verdict.allowed:
        QMessageBox.warning(parent, "Link blocked", verdict.reason)
        return False
    answer = QMessageBox.question(
        parent,
        "Open in your browser?",
        f"{purpose}\n\nTech Pal will open this address in your browser:\n\n{verdict.url}",
        QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Open,
    )
    if answer != QMessageBox.StandardButton.Open:
        return False
    return QDesktopServices.openUrl(QUrl(verdict.url))


class SubscriptionWindow(QWidget):
    """Shows the presenter's state; Upgrade/Manage open the URL the server returns, after showing it.

    Args:
        presenter: The subscription view-model.
        open_url: Shows and opens a URL (injectable so tests never start a browser).
        parent: Parent widget.
    """

    def __init__(
        self,
        presenter: SubscriptionPresenter,
        *,
        open_url: Callable[[QWidget, str, str], bool] = confirm_and_open_url,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self._open_url = open_url
        self.setWindowTitle(TITLE)
        self.setMinimumWidth(420)

        self.status_label = QLabel("Loading…")
        self.status_label.setWordWrap(True)
        self.plan_label = QLabel()
        self.state_label = QLabel()
        self.usage_bar = QProgressBar()
        self.usage_bar.setTextVisible(True)
        self.usage_label = QLabel()
        self.period_label = QLabel()
        self.plan_combo = QComboBox()
        self.upgrade_button = QPushButton("Upgrade")
        self.manage_button = QPushButton("Manage billing")
        self.refresh_button = QPushButton("Refresh")
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        use_danger_color(self.error_label)
        self.error_label.hide()

        self.details = QWidget()
        form = QFormLayout(self.details)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Plan", self.plan_label)
        form.addRow("Status", self.state_label)
        form.addRow("Usage", self.usage_bar)
        form.addRow("", self.usage_label)
        form.addRow("Period", self.period_label)
        buttons = QHBoxLayout()
        buttons.addWidget(self.plan_combo, 1)
        buttons.addWidget(self.upgrade_button)
        buttons.addWidget(self.manage_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status_label)
        layout.addWidget(self.details)
        layout.addLayout(buttons)
        layout.addWidget(self.error_label)
        layout.addWidget(self.refresh_button, alignment=Qt.AlignmentFlag.AlignRight)

        presenter.state_changed.connect(self._render)
        presenter.open_url.connect(self._on_open_url)
        presenter.action_failed.connect(self._on_action_failed)
        presenter.busy_changed.connect(self._on_busy)
        self.upgrade_button.clicked.connect(self._upgrade)
        self.manage_button.clicked.connect(presenter.manage_billing)
        self.refresh_button.clicked.connect(presenter.refresh)
        self._render(presenter.state.value)

    def present(self) -> None:
        """Show, raise and reload."""
        self.show()
        self.raise_()
        self.activateWindow()
        self._presenter.refresh()

    @Slot(str)
    def _render(self, state: str) -> None:
        presenter = self._presenter
        view = presenter.view
        self.error_label.hide()
        loaded = state in (SubscriptionViewState.LOADED.value, SubscriptionViewState.BILLING_DISABLED.value)
        self.details.setVisible(loaded and view is not None)
        if state == SubscriptionViewState.LOADING.value:
            self.status_label.setText("Loading…")
            self.status_label.show()
        elif state in (SubscriptionViewState.FAILED.value, SubscriptionViewState.BILLING_DISABLED.value):
            self.status_label.setText(presenter.message)
            self.status_label.show()
        else:
            self.status_label.hide()
        billing = state == SubscriptionViewState.LOADED.value
        upgrades = view.upgrade_plans if view is not None and billing else ()
        self.plan_combo.clear()
        for key, label in upgrades:
            self.plan_combo.addItem(label, key)
        self.plan_combo.setVisible(bool(upgrades))
        self.upgrade_button.setVisible(bool(upgrades))
        self.manage_button.setVisible(billing and view is not None and view.can_manage)
        if view is None:
            return
        self.plan_label.setText(view.plan)
        self.state_label.setText(view.status)
        if view.quota is None:
            self.usage_bar.setRange(0, 1)
            self.usage_bar.setValue(1)
            self.usage_bar.setFormat(UNLIMITED_TEXT)
        else:
            self.usage_bar.setRange(0, max(view.quota, 1))
            self.usage_bar.setValue(min(view.usage, max(view.quota, 1)))
            self.usage_bar.setFormat(f"{view.usage} / {view.quota}")
        self.usage_label.setText(view.usage_text)
        self.period_label.setText(view.period_text or "—")

    @Slot()
    def _upgrade(self) -> None:
        plan = self.plan_combo.currentData()
        if isinstance(plan, str):
            self._presenter.upgrade(plan)

    @Slot(str, str)
    def _on_open_url(self, kind: str, url: str) -> None:
        purpose = "Upgrade your plan on the secure payment page." if kind == "checkout" else "Manage your billing."
        self._open_url(self, url, purpose)

    @Slot(str)
    def _on_action_failed(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()

    @Slot(bool)
    def _on_busy(self, busy: bool) -> None:
        self.upgrade_button.setEnabled(not busy)
        self.manage_button.setEnabled(not busy)
