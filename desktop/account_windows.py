"""The Account window and what outlives it: the data export it follows, and the privacy-policy notice.

A part of the :class:`~desktop.windows.WindowRegistry`. The window is built on first use (its modules load then);
the export presenter is built with it and lives on with the app, so an export asked for and left behind still ends
in a tray notification (a click on it opens the "Your data" tab). The policy presenter exists from the start: it
reads every profile the session loads (sign-in, a restored session) and asks for the notice dialog when a new
version was published.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QWidget

from desktop.presenters.policy_presenter import PolicyPresenter

if TYPE_CHECKING:
    from desktop.app import TechPal
    from desktop.core.api.models import PolicyNotice
    from desktop.presenters.account_presenter import AccountPresenter
    from desktop.presenters.export_presenter import ExportPresenter
    from desktop.ui.account_panes import SavePathChooser
    from desktop.ui.account_window import AccountWindow
    from desktop.ui.policy_dialog import PolicyDialog

__all__ = ["DELETED_TITLE", "AccountWindows"]

DELETED_TITLE: Final = "Account deleted"


class AccountWindows(QObject):
    """Opens the Account window, shows policy notices, and signs out locally once the account is deleted.

    Args:
        techpal: The composed app (session, runner, tray).
        choose_path: Asks where to save the export (tests answer it); the platform's dialog when ``None``.
        parent: Owning QObject.
    """

    def __init__(
        self, techpal: TechPal, *, choose_path: SavePathChooser | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._techpal = techpal
        self._choose_path = choose_path
        self._window: AccountWindow | None = None
        self._account: AccountPresenter | None = None
        self._export: ExportPresenter | None = None
        self._policy_dialog: PolicyDialog | None = None
        session = techpal.session
        self.policy = PolicyPresenter(lambda: session.client, runner=techpal.runner, parent=self)
        self.policy.notice_ready.connect(self._show_policy)
        session.signed_in.connect(self.policy.on_profile)
        session.signed_out.connect(self._on_signed_out)

    @property
    def window(self) -> AccountWindow | None:
        """The Account window once opened."""
        return self._window

    @property
    def export(self) -> ExportPresenter | None:
        """The data export, once the Account window was opened."""
        return self._export

    @property
    def policy_dialog(self) -> PolicyDialog | None:
        """The policy notice on show, if any."""
        return self._policy_dialog

    @Slot()
    def open(self) -> None:
        """Show the Account window (built on first use) and reload it."""
        if self._window is None:
            from desktop.presenters.account_presenter import AccountPresenter  # noqa: PLC0415 - on first use
            from desktop.presenters.devices_presenter import DevicesPresenter  # noqa: PLC0415
            from desktop.presenters.export_presenter import ExportPresenter  # noqa: PLC0415
            from desktop.ui.account_panes import ask_save_path  # noqa: PLC0415
            from desktop.ui.account_window import AccountWindow  # noqa: PLC0415

            app, session = self._techpal, self._techpal.session
            account = AccountPresenter(lambda: session.client, runner=app.runner, parent=self)
            devices = DevicesPresenter(lambda: session.client, runner=app.runner, parent=self)
            export = ExportPresenter(lambda: session.client, runner=app.runner, parent=self)
            for presenter in (account, devices, export):
                presenter.session_expired.connect(session.handle_session_expired)
            account.deleted.connect(self._on_deleted)
            account.switch_changed.connect(app.analytics.on_switch)  # off drops pending usage events at once
            export.notify.connect(self._on_export_ready)
            self._account, self._export = account, export
            self._window = AccountWindow(account, devices, export, choose_path=self._choose_path or ask_save_path)
        self._window.present()

    @Slot()
    def open_data(self) -> None:
        """The Account window on its "Your data" tab, where the ready export is saved; nothing once signed out."""
        if self._techpal.session.is_signed_in:
            self.open()
            if self._window is not None:
                self._window.show_data_tab()

    @Slot(str, str)
    def _on_export_ready(self, title: str, text: str) -> None:
        self._techpal.presenter.notify(title, text, on_click=self.open_data)

    @Slot(str)
    def _on_deleted(self, text: str) -> None:
        """The server closed the account and ended every session: forget it here too (tokens, outbox)."""
        self._techpal.session.sign_out(clear_queue=True, on_server=False)
        self._techpal.presenter.notify(DELETED_TITLE, text)

    @Slot(str)
    def _on_signed_out(self, _reason: str) -> None:
        """Whoever signs in next sees none of this account: the window closes, the export is forgotten."""
        if self._window is not None:
            self._window.close()
        if self._export is not None:
            self._export.reset()

    @Slot(object)
    def _show_policy(self, notice: PolicyNotice) -> None:
        from desktop.ui.policy_dialog import PolicyDialog  # noqa: PLC0415 - rarely shown

        if self._policy_dialog is not None:
            self._policy_dialog.close()
        dialog = PolicyDialog(notice)
        dialog.accepted.connect(lambda: self.policy.accept(notice.version))
        dialog.finished.connect(self._on_policy_finished)
        self._policy_dialog = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    @Slot(int)
    def _on_policy_finished(self, _result: int) -> None:
        dialog, self._policy_dialog = self._policy_dialog, None
        if dialog is not None:
            dialog.deleteLater()

    def dispose(self) -> None:
        """Delete the top-level widgets on the GUI thread now (see :meth:`WindowRegistry.dispose`)."""
        for window in (self._window, self._policy_dialog):
            if isinstance(window, QWidget):
                window.close()
                window.deleteLater()
        self._window = self._policy_dialog = None
