"""Error texts and the "Delete my account" button, in both themes: the red actually applied reaches WCAG AA (4.5:1).

Each window is built as the app builds it, in one theme; then the theme is switched the way Settings does, and the
same widgets are measured again. The ratio is WCAG 2.x's: (L1 + 0.05) / (L2 + 0.05) of the relative luminances.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QPushButton, QWidget

from desktop.core.auth import MemoryTokenStore
from desktop.core.device import DeviceDetails
from desktop.core.settings import DesktopSettings, SettingsStore
from desktop.presenters.account_presenter import AccountPresenter
from desktop.presenters.chat_presenter import ChatPresenter
from desktop.presenters.devices_presenter import DevicesPresenter
from desktop.presenters.export_presenter import ExportPresenter
from desktop.presenters.session_presenter import SessionPresenter
from desktop.presenters.settings_presenter import SettingsPresenter
from desktop.presenters.subscription_presenter import SubscriptionPresenter
from desktop.services.autostart import make_autostart
from desktop.services.hotkey import GlobalHotkey, HotkeySupport
from desktop.services.settings_store import QtSettingsStore
from desktop.services.tasks import TaskRunner
from desktop.ui.account_window import AccountWindow
from desktop.ui.chat_window import ChatWindow
from desktop.ui.delete_account_dialog import DeleteAccountDialog
from desktop.ui.settings_dialog import SettingsDialog
from desktop.ui.sign_in_dialog import SignInDialog
from desktop.ui.subscription_window import SubscriptionWindow
from desktop.ui.theme import ThemeController
from desktop.ui.two_factor_dialogs import TwoFactorOffDialog, TwoFactorSetupDialog

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from PySide6.QtWidgets import QApplication
    from pytestqt.qtbot import QtBot

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")

AA = 4.5
_ACTIVE = QPalette.ColorGroup.Active
_ROLE = QPalette.ColorRole


def _channel(value: float) -> float:
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def relative_luminance(color: QColor) -> float:
    """WCAG 2.x relative luminance of an sRGB colour."""
    red, green, blue = (_channel(c) for c in (color.redF(), color.greenF(), color.blueF()))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(one: QColor, other: QColor) -> float:
    """WCAG 2.x contrast ratio, from 1 to 21."""
    light, dark = sorted((relative_luminance(one), relative_luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_contrast_formula_matches_wcag() -> None:
    assert contrast(QColor("#000000"), QColor("#ffffff")) == pytest.approx(21.0)
    assert contrast(QColor("#777777"), QColor("#ffffff")) == pytest.approx(4.48, abs=0.01)


def drawn_colours(widget: QWidget) -> tuple[QColor, list[QColor]]:
    """The colour the widget's text is painted in, and the backgrounds it can sit on.

    A button paints its own face; a label is transparent over its window (a window, a group box, a tab page, an
    editor-like area).
    """
    widget.ensurePolished()
    if isinstance(widget, QPushButton):
        palette = widget.palette()
        return palette.color(_ACTIVE, _ROLE.ButtonText), [palette.color(_ACTIVE, _ROLE.Button)]
    surroundings = widget.window().palette()
    backgrounds = [surroundings.color(_ACTIVE, role) for role in (_ROLE.Window, _ROLE.Base, _ROLE.Button)]
    return widget.palette().color(_ACTIVE, widget.foregroundRole()), backgrounds


def no_client() -> None:
    """Signed out: nothing is requested."""


class Windows:
    """Every window with an error text or a danger button, built like the app builds them (no server needed)."""

    def __init__(self, qtbot: QtBot, tmp_path: Path) -> None:
        store = SettingsStore(tmp_path / "settings.json")
        store.save(DesktopSettings(server_url="https://help.example.com"))
        settings = QtSettingsStore(store)
        self.runner = TaskRunner()
        self.session = SessionPresenter(settings, token_store_factory=MemoryTokenStore, queue_root=tmp_path / "q")
        account = AccountPresenter(no_client, runner=self.runner)
        settings_presenter = SettingsPresenter(
            settings,
            self.session,
            autostart=make_autostart("linux", command=["techpal"], home=tmp_path),
            hotkey=GlobalHotkey(),
            runner=self.runner,
            collect_device=lambda network: DeviceDetails(os="Linux", network=network),
            probe_hotkey=lambda: HotkeySupport(False, "no"),
        )
        sign_in = SignInDialog(self.session)
        settings_dialog = SettingsDialog(settings_presenter)
        subscription = SubscriptionWindow(SubscriptionPresenter(no_client, runner=self.runner))
        account_window = AccountWindow(
            account,
            DevicesPresenter(no_client, runner=self.runner),
            ExportPresenter(no_client, runner=self.runner),
            choose_path=lambda _parent, _name: None,
        )
        delete = DeleteAccountDialog(account)
        chat = ChatWindow(ChatPresenter(None))
        setup = TwoFactorSetupDialog(account.two_factor)
        off = TwoFactorOffDialog(account.two_factor)
        self.tops: list[QWidget] = [sign_in, settings_dialog, subscription, account_window, delete, chat, setup, off]
        for top in self.tops:
            qtbot.addWidget(top)
            top.show()
        self.danger: dict[str, QWidget] = {
            "sign-in error": sign_in.sign_in_error,
            "sign-in: wrong code": sign_in.otp_page.error,
            "sign-in: forgot password error": sign_in.forgot_page.error,
            "account: weak new password": account_window.security_pane.new_password_error,
            "two-step setup: wrong code": setup.confirm_error,
            "two-step off: wrong password": off.error_label,
            "two-step off: Turn off": off.off_button,
            "settings error": settings_dialog.error_label,
            "subscription error": subscription.error_label,
            "account: password error": account_window.password_error,
            "account: e-mail error": account_window.field_errors["email"],
            "delete dialog: wrong password": delete.error_label,
            "delete dialog: Delete my account": delete.delete_button,
            "chat error": chat.error_label,
            "chat: description error": chat.description_error,
        }

    def close(self) -> None:
        self.runner.shutdown()
        self.session.shutdown()


@pytest.fixture
def theme(qapp: QApplication) -> Iterator[ThemeController]:
    palette, style = qapp.palette(), qapp.style().name()
    yield ThemeController(qapp, "light")
    qapp.setPalette(palette)
    qapp.setStyle(style)


@pytest.fixture
def build(qtbot: QtBot, tmp_path: Path, theme: ThemeController) -> Iterator[Callable[[], Windows]]:
    made: list[Windows] = []

    def windows() -> Windows:
        made.append(Windows(qtbot, tmp_path))
        return made[-1]

    yield windows
    for windows_made in made:
        windows_made.close()


def too_faint(windows: Windows) -> dict[str, float]:
    """The danger texts whose contrast with any of their backgrounds is under 4.5:1, with the lowest ratio."""
    faint = {}
    for name, widget in windows.danger.items():
        text, backgrounds = drawn_colours(widget)
        lowest = min(contrast(text, background) for background in backgrounds)
        if lowest < AA:
            faint[name] = round(lowest, 2)
    return faint


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_danger_texts_are_readable_in_the_theme_they_were_built_in(
    theme: ThemeController, build: Callable[[], Windows], scheme: str
) -> None:
    theme.apply(scheme)

    windows = build()

    assert too_faint(windows) == {}


@pytest.mark.parametrize(("first", "then"), [("light", "dark"), ("dark", "light")])
def test_danger_texts_follow_a_theme_switch(
    theme: ThemeController, build: Callable[[], Windows], first: str, then: str
) -> None:
    theme.apply(first)
    windows = build()

    theme.apply(then)

    assert too_faint(windows) == {}


def test_a_disabled_danger_button_keeps_the_disabled_grey(theme: ThemeController, build: Callable[[], Windows]) -> None:
    theme.apply("dark")
    button = build().danger["delete dialog: Delete my account"]

    button.setEnabled(False)

    disabled = button.palette().color(QPalette.ColorGroup.Disabled, _ROLE.ButtonText)
    assert disabled == button.window().palette().color(QPalette.ColorGroup.Disabled, _ROLE.ButtonText)
