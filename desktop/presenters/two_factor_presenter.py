"""Two-step sign-in in the Account window: turn it on (QR code, a code, the recovery codes), and off again.

Every request and the file write run on the runner, off the GUI thread. The QR code is computed here from the
``otpauth://`` URI, on this computer (:func:`~desktop.core.two_factor.qr_matrix`): the secret goes nowhere else.
The recovery codes are kept only while the setup dialog shows them (:meth:`TwoFactorPresenter.forget_codes`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from PySide6.QtCore import QObject, Signal

from desktop.core.api.errors import ApiError, SessionExpired
from desktop.core.two_factor import QrMatrix, clean_code, group_secret, qr_matrix, recovery_codes_text
from desktop.presenters.remote_presenter import RemotePresenter
from desktop.presenters.session_state import error_message

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from desktop.core.api.client import ApiClient
    from desktop.core.api.models import Profile
    from desktop.services.tasks import TaskRunner

__all__ = [
    "CODE_NEEDED_TEXT",
    "CONFIRM_NEEDS_IT_TEXT",
    "CONFIRM_WRONG_CREDENTIALS_TEXT",
    "CONFIRM_WRONG_TEXT",
    "OFF_INCOMPLETE_TEXT",
    "OFF_WRONG_CREDENTIALS_TEXT",
    "SIGN_IN_AGAIN_TEXT",
    "TURNED_OFF_TEXT",
    "TotpSetupView",
    "TwoFactorPresenter",
]

CODE_NEEDED_TEXT: Final = "Enter the 6-digit code your authenticator app shows."
CONFIRM_NEEDS_IT_TEXT: Final = "Enter your password too: it proves that it is you turning this on."
CONFIRM_WRONG_CREDENTIALS_TEXT: Final = "That password is wrong. Two-step sign-in is still off."
CONFIRM_WRONG_TEXT: Final = (
    "That code isn't right. Type the code the app shows now (it changes every 30 seconds), and check that your "
    "phone's clock is right."
)
# An account without a password (made by Google sign-in) proves it is the owner by a sign-in of the last 5 minutes.
SIGN_IN_AGAIN_TEXT: Final = (
    "For your safety, turning this on needs a fresh sign-in. Sign out, sign in with Google again, then turn it on "
    "within 5 minutes."
)
OFF_INCOMPLETE_TEXT: Final = "Enter your password and a code from your authenticator app (or a recovery code)."
OFF_WRONG_CREDENTIALS_TEXT: Final = "That password is wrong. Two-step sign-in stays on."
TURNED_OFF_TEXT: Final = "Two-step sign-in is off. Signing in asks only for your password again."


@dataclass(frozen=True, slots=True)
class TotpSetupView:
    """What the setup dialog shows: the QR code's modules, the secret in groups of four, and the URI itself."""

    matrix: QrMatrix
    secret: str
    uri: str


class TwoFactorPresenter(RemotePresenter):
    """Turns two-step sign-in on and off for the signed-in account.

    Args:
        client: Returns the signed-in API client, or ``None`` when signed out.
        runner: Where requests (and the file write) run.
        profile: The profile as last loaded (its e-mail address goes into the saved file).
        parent: Owning QObject.

    Signals:
        setup_ready(object): A :class:`TotpSetupView` to scan or type in.
        codes_ready(list): Two-step sign-in is on; the recovery codes, shown once.
        codes_saved(str): The codes were written to a file; what to tell the user.
        turned_off(str): Two-step sign-in is off; what to tell the user.
        changed(): It was turned on or off: reload the profile.
        failed(str, str): A part (``start``, ``confirm``, ``save``, ``off``) failed; the message is for the user.
        busy_changed(bool): A request started or ended.
    """

    setup_ready = Signal(object)
    codes_ready = Signal(list)
    codes_saved = Signal(str)
    turned_off = Signal(str)
    changed = Signal()
    failed = Signal(str, str)
    busy_changed = Signal(bool)

    def __init__(
        self,
        client: Callable[[], ApiClient | None],
        *,
        runner: TaskRunner,
        profile: Callable[[], Profile | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(client, runner=runner, parent=parent)
        self._profile = profile
        self._codes: list[str] = []
        self._busy = False

    @property
    def busy(self) -> bool:
        """A request is running."""
        return self._busy

    @property
    def needs_password(self) -> bool:
        """Turning it on asks for the password (an account made by Google sign-in has none)."""
        profile = self._profile()
        return profile is None or profile.has_password

    @property
    def recovery_codes(self) -> list[str]:
        """The recovery codes just issued (empty once the setup dialog closed)."""
        return list(self._codes)

    def codes_text(self) -> str:
        """The recovery codes as the saved file (and the clipboard) hold them."""
        client, profile = self._client(), self._profile()
        return recovery_codes_text(
            self._codes,
            email=profile.email if profile is not None else "",
            server=client.server_url if client is not None else "",
        )

    # ------------------------------------------------------------------------------------------------ turning on
    def start(self) -> None:
        """Ask for a new secret; ``setup_ready`` (with the QR code drawn here) or ``failed("start", …)`` follows."""
        client = self._client()
        if client is None or self._busy:
            return

        def call() -> TotpSetupView:
            setup = client.start_totp()
            return TotpSetupView(qr_matrix(setup.otpauth_uri), group_secret(setup.secret), setup.otpauth_uri)

        self._run(call, self.setup_ready.emit, "start")

    def confirm(self, code: str, password: str = "") -> None:
        """Turn it on with the app's code (and the password, see :attr:`needs_password`); ``codes_ready`` follows.

        The server signs out every other device; ``failed("confirm", …)`` when refused.
        """
        client, cleaned = self._client(), clean_code(code)
        if client is None or self._busy:
            return
        if not cleaned:
            self.failed.emit("confirm", CODE_NEEDED_TEXT)
            return
        if self.needs_password and not password:
            self.failed.emit("confirm", CONFIRM_NEEDS_IT_TEXT)
            return
        given = password if self.needs_password else None
        self._run(lambda: client.confirm_totp(cleaned, current_password=given), self._on_confirmed, "confirm")

    def _on_confirmed(self, codes: list[str]) -> None:
        self._codes = list(codes)
        self.codes_ready.emit(list(codes))
        self.changed.emit()

    def save_codes(self, path: Path) -> None:
        """Write the recovery codes to ``path`` (readable by this user only); ``codes_saved`` or ``failed``."""
        if not self._codes:
            return
        text = self.codes_text()

        def call() -> None:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)

        def failed(exc: BaseException) -> None:
            self.failed.emit("save", f"Couldn't save the codes there: {getattr(exc, 'strerror', None) or exc}.")

        self._runner.run(call, lambda _none: self.codes_saved.emit(f"Saved to {path}."), failed)

    def forget_codes(self) -> None:
        """The codes were shown; keep them no longer."""
        self._codes = []

    # ------------------------------------------------------------------------------------------------ turning off
    def turn_off(self, password: str, code: str) -> None:
        """Turn it off (the password and a code prove it is the owner); ``turned_off`` or ``failed("off", …)``."""
        client, cleaned = self._client(), clean_code(code)
        if client is None or self._busy:
            return
        if not password or not cleaned:
            self.failed.emit("off", OFF_INCOMPLETE_TEXT)
            return
        self._run(lambda: client.disable_totp(password, cleaned), self._on_turned_off, "off")

    def _on_turned_off(self, _none: None) -> None:
        self.turned_off.emit(TURNED_OFF_TEXT)
        self.changed.emit()

    # ------------------------------------------------------------------------------------------------ plumbing
    def _run(self, call: Callable[[], object], on_success: Callable[[Any], None], part: str) -> None:
        self._set_busy(True)

        def succeeded(result: object) -> None:
            self._set_busy(False)
            on_success(result)

        def failed(exc: BaseException) -> None:
            self._set_busy(False)
            self.failed.emit(part, self._message(part, exc))

        self._runner.run(call, succeeded, failed)

    def _message(self, part: str, exc: BaseException) -> str:
        if isinstance(exc, SessionExpired):
            self.session_expired.emit()
        code = exc.code if isinstance(exc, ApiError) else ""
        if part == "confirm" and code == "invalid_otp":
            return CONFIRM_WRONG_TEXT
        if part in {"start", "confirm"} and code == "reauthentication_required":
            return CONFIRM_NEEDS_IT_TEXT if part == "confirm" and self.needs_password else SIGN_IN_AGAIN_TEXT
        if part == "confirm" and code == "invalid_credentials":
            return CONFIRM_WRONG_CREDENTIALS_TEXT
        if part == "off" and code == "invalid_credentials":
            return OFF_WRONG_CREDENTIALS_TEXT
        return error_message(exc)

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)
