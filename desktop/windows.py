"""The app's windows and dialogs: each is built on first use, reused while open, and disposed of on quit.

Windows are imported when first opened: the idle tray stays small and starts fast. The chat, tickets and capture
flow come from factories (tests inject fakes); the default factories below build the real ones and wire them to the
signed-in connection. The Account window, with the export and policy notice that outlive it, is in
:mod:`desktop.account_windows`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, SignalInstance, Slot
from PySide6.QtWidgets import QDialog, QWidget

from desktop.account_windows import AccountWindows

if TYPE_CHECKING:
    from desktop.app import TechPal
    from desktop.core.ocr_text import OcrUpload
    from desktop.presenters.chat_presenter import ChatPresenter
    from desktop.presenters.settings_presenter import SettingsPresenter
    from desktop.presenters.subscription_presenter import SubscriptionPresenter
    from desktop.ui.settings_dialog import SettingsDialog
    from desktop.ui.sign_in_dialog import SignInDialog
    from desktop.ui.subscription_window import SubscriptionWindow

__all__ = [
    "CaptureFactory",
    "CaptureFlow",
    "ChatFactory",
    "ChatWindowLike",
    "TicketsFactory",
    "WindowLike",
    "WindowRegistry",
    "default_capture_factory",
    "default_chat_factory",
    "default_tickets_factory",
]


class WindowLike(Protocol):
    """A window the tray opens (tickets)."""

    def present(self) -> None:
        """Show and raise it."""
        ...


class ChatWindowLike(WindowLike, Protocol):
    """The chat window: the tray opens it and hands it captured screenshots."""

    def attach(self, data: bytes, media_type: str, ocr: OcrUpload | None = None) -> None:
        """Attach one redacted, encoded screenshot and its text to the draft question (and show the window)."""
        ...


class CaptureFlow(Protocol):
    """The capture presenter: ``captured(bytes, str, object)`` with the redacted image, ``failed(str)`` in words."""

    @property
    def captured(self) -> SignalInstance:
        """Emits the encoded redacted image, its media type and its text (``OcrUpload`` or ``None``)."""
        ...

    @property
    def failed(self) -> SignalInstance:
        """Emits a message for the user."""
        ...

    def capture_screen(self) -> None:
        """Capture the monitor under the cursor."""
        ...

    def capture_region(self) -> None:
        """Capture a region the user selects."""
        ...


ChatFactory = Callable[["TechPal"], ChatWindowLike]
TicketsFactory = Callable[["TechPal"], WindowLike]
CaptureFactory = Callable[["TechPal"], CaptureFlow]


class _WidgetHandle:
    """Gives a plain top-level widget the ``present()`` the tray calls."""

    def __init__(self, widget: QWidget) -> None:
        self.widget = widget

    def present(self) -> None:
        self.widget.show()
        self.widget.raise_()
        self.widget.activateWindow()


def default_capture_factory(techpal: TechPal) -> CaptureFlow:
    """The capture presenter with the mss capturer, the region overlay and the redaction window (imported lazily)."""
    from desktop.presenters.capture_presenter import CapturePresenter  # noqa: PLC0415 - Pillow etc. on first use
    from desktop.presenters.redaction_presenter import RedactionPresenter  # noqa: PLC0415
    from desktop.services.capture.main import ScreenCapturer  # noqa: PLC0415
    from desktop.services.capture.workers import ImageEncoder, SuggestionFinder  # noqa: PLC0415
    from desktop.ui.qimage import to_qimage  # noqa: PLC0415
    from desktop.ui.redaction_view import RedactionView  # noqa: PLC0415
    from desktop.ui.region_overlay import RegionOverlay  # noqa: PLC0415

    encoder = ImageEncoder(parent=techpal)
    finder = SuggestionFinder(parent=techpal)
    techpal.add_shutdown_hook(encoder.shutdown)
    techpal.add_shutdown_hook(finder.shutdown)
    recorder = techpal.analytics.recorder
    return CapturePresenter(
        ScreenCapturer(),
        overlay_factory=lambda shot: RegionOverlay(
            to_qimage(shot.image), shot.device_pixel_ratio, monitor=shot.monitor
        ),
        redaction_factory=lambda image: RedactionView(RedactionPresenter(image, encoder, finder, analytics=recorder)),
        analytics=recorder,
        parent=techpal,
    )


def default_chat_factory(techpal: TechPal) -> ChatWindowLike:
    """The chat window on its presenter, connected to the session (imported on first use)."""
    from desktop.presenters.chat_presenter import ChatPresenter  # noqa: PLC0415 - Markdown etc. on first use
    from desktop.ui.chat_window import ChatWindow  # noqa: PLC0415

    presenter = ChatPresenter(
        None,
        device_details=techpal.connection.device_payload,
        analytics=techpal.analytics.recorder,
        parent=techpal,
    )
    window = ChatWindow(presenter)
    techpal.connect_chat(presenter, window.capture_requested)
    return window


def default_tickets_factory(techpal: TechPal) -> WindowLike:
    """The list of my tickets, connected to the session and the chat (imported on first use)."""
    from desktop.presenters.tickets_presenter import TicketsPresenter  # noqa: PLC0415
    from desktop.ui.tickets_window import TicketsWindow  # noqa: PLC0415

    presenter = TicketsPresenter(None, parent=techpal)
    techpal.connect_tickets(presenter)
    return _WidgetHandle(TicketsWindow(presenter))


class WindowRegistry(QObject):
    """Opens, reuses and disposes of the app's windows. Create it with the app; it owns no logic of its own.

    Args:
        techpal: The composed app (its services and presenters, handed to the factories).
        chat_factory: Builds the chat window (first use).
        tickets_factory: Builds the tickets window (first use).
        capture_factory: Builds the capture flow (first use).
        ask_server: The sign-in dialog asks for the server first (first run without ``--server``).
    """

    def __init__(
        self,
        techpal: TechPal,
        *,
        chat_factory: ChatFactory,
        tickets_factory: TicketsFactory,
        capture_factory: CaptureFactory,
        ask_server: bool,
    ) -> None:
        super().__init__(techpal)
        self._techpal = techpal
        self._chat_factory = chat_factory
        self._tickets_factory = tickets_factory
        self._capture_factory = capture_factory
        self._ask_server = ask_server
        self._chat: ChatWindowLike | None = None
        self._chat_presenter: ChatPresenter | None = None
        self._tickets: WindowLike | None = None
        self._capture: CaptureFlow | None = None
        self._sign_in: SignInDialog | None = None
        self._settings_presenter: SettingsPresenter | None = None
        self._settings_dialog: SettingsDialog | None = None
        self._subscription_presenter: SubscriptionPresenter | None = None
        self._subscription_window: SubscriptionWindow | None = None
        self.account = AccountWindows(techpal, parent=self)  # the policy notice watches the session from the start

    # ------------------------------------------------------------------------------------------------ sign-in
    @Slot()
    def open_sign_in(self) -> None:
        """Show the sign-in dialog (one at a time)."""
        if self._sign_in is None:
            from desktop.ui.sign_in_dialog import SignInDialog  # noqa: PLC0415 - see the module docstring

            dialog = SignInDialog(self._techpal.session, ask_server=self._ask_server)
            dialog.finished.connect(self._on_sign_in_finished)
            self._sign_in = dialog
        self._sign_in.show()
        self._sign_in.raise_()
        self._sign_in.activateWindow()

    @Slot(int)
    def _on_sign_in_finished(self, result: int) -> None:
        dialog, self._sign_in = self._sign_in, None
        self._ask_server = False
        if result != QDialog.DialogCode.Accepted:
            self._techpal.presenter.cancel_pending()
        if dialog is not None:
            dialog.deleteLater()

    @property
    def sign_in_dialog(self) -> SignInDialog | None:
        """The open sign-in dialog, if any."""
        return self._sign_in

    # ------------------------------------------------------------------------------------------------ chat, tickets
    def chat(self) -> ChatWindowLike:
        """The chat window, built on first use."""
        if self._chat is None:
            self._chat = self._chat_factory(self._techpal)
        return self._chat

    @Slot()
    def open_chat(self) -> None:
        """Ask for help."""
        self.chat().present()

    def attach_chat(self, presenter: ChatPresenter, capture_requested: SignalInstance) -> None:
        """The chat's Upgrade opens checkout; its screenshot button starts a region capture."""
        self._chat_presenter = presenter
        presenter.upgrade_requested.connect(self._on_upgrade_requested)
        capture_requested.connect(self.capture_region)

    @Slot()
    def open_tickets(self) -> None:
        """My tickets."""
        if self._tickets is None:
            self._tickets = self._tickets_factory(self._techpal)
        self._tickets.present()

    @Slot(str)
    def open_ticket(self, ticket_id: str) -> None:
        """Show one ticket's conversation in the chat window."""
        self.chat().present()
        if self._chat_presenter is not None:
            self._chat_presenter.open_ticket(ticket_id)

    # ------------------------------------------------------------------------------------------------ capture
    def _capture_flow(self) -> CaptureFlow:
        if self._capture is None:
            flow = self._capture_factory(self._techpal)
            flow.captured.connect(self._on_captured)
            flow.failed.connect(self._on_capture_failed)
            self._capture = flow
        return self._capture

    @Slot()
    def capture_screen(self) -> None:
        """Capture screen & ask."""
        self._capture_flow().capture_screen()

    @Slot()
    def capture_region(self) -> None:
        """Capture region & ask."""
        self._capture_flow().capture_region()

    @Slot(bytes, str, object)
    def _on_captured(self, data: bytes, media_type: str, ocr: OcrUpload | None) -> None:
        self.chat().attach(data, media_type, ocr)

    @Slot(str)
    def _on_capture_failed(self, message: str) -> None:
        self._techpal.presenter.notify("Capture failed", message)

    # ------------------------------------------------------------------------------------------------ subscription
    @Slot()
    def open_subscription(self) -> None:
        """Plan, usage, Upgrade and Manage billing."""
        if self._subscription_window is None:
            from desktop.presenters.subscription_presenter import SubscriptionPresenter  # noqa: PLC0415
            from desktop.ui.subscription_window import SubscriptionWindow  # noqa: PLC0415

            session = self._techpal.session
            presenter = SubscriptionPresenter(lambda: session.client, runner=self._techpal.runner, parent=self)
            presenter.session_expired.connect(session.handle_session_expired)
            self._subscription_presenter = presenter
            self._subscription_window = SubscriptionWindow(presenter)
        self._subscription_window.present()

    @Slot(str)
    def _on_upgrade_requested(self, plan: str) -> None:
        self.open_subscription()
        if self._subscription_presenter is not None:
            self._subscription_presenter.upgrade(plan)

    @property
    def subscription_window(self) -> SubscriptionWindow | None:
        """The subscription window once opened."""
        return self._subscription_window

    # ------------------------------------------------------------------------------------------------ account
    @Slot()
    def open_account(self) -> None:
        """Profile, password, devices, privacy switches, my data, deleting the account."""
        self.account.open()

    # ------------------------------------------------------------------------------------------------ settings
    @Slot()
    def open_settings(self) -> None:
        """The settings dialog (a fresh one, showing the current values)."""
        from desktop.presenters.settings_presenter import SettingsPresenter  # noqa: PLC0415
        from desktop.ui.settings_dialog import SettingsDialog  # noqa: PLC0415

        if self._settings_presenter is None:
            app = self._techpal
            self._settings_presenter = SettingsPresenter(
                app.settings,
                app.session,
                autostart=app.autostart,
                hotkey=app.hotkey,
                runner=app.runner,
                network_state=lambda: app.presenter.network_state,
                probe_hotkey=app.probe_hotkey,
                parent=self,
            )
        if self._settings_dialog is not None:
            self._settings_dialog.raise_()
            self._settings_dialog.activateWindow()
            return
        dialog = SettingsDialog(self._settings_presenter)
        dialog.finished.connect(self._on_settings_finished)
        self._settings_dialog = dialog
        dialog.show()

    @Slot(int)
    def _on_settings_finished(self, _result: int) -> None:
        dialog, self._settings_dialog = self._settings_dialog, None
        if dialog is not None:
            dialog.deleteLater()

    @property
    def settings_dialog(self) -> SettingsDialog | None:
        """The open settings dialog, if any."""
        return self._settings_dialog

    # ------------------------------------------------------------------------------------------------ disposal
    def dispose(self) -> None:
        """Delete our top-level widgets on the GUI thread now.

        They have no parent, so Python owns them; left to the garbage collector, one could be destroyed on whatever
        thread happens to run a collection, and Qt widgets must only be destroyed on the GUI thread.
        """
        windows: list[object] = [self._sign_in, self._settings_dialog, self._subscription_window, self._chat]
        windows += [self._tickets, self._techpal.tray.menu, getattr(self._tickets, "widget", None)]
        self._sign_in = self._settings_dialog = self._subscription_window = None
        self._chat = self._tickets = None
        self.account.dispose()
        for window in windows:
            if isinstance(window, QWidget):
                window.close()
            if isinstance(window, QObject):
                window.deleteLater()
