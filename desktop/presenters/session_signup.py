"""Getting an account: register, confirm the e-mail address, send the confirmation mail again, restore a deleted one.

A part of :class:`~desktop.presenters.session_presenter.SessionPresenter`; its requests run like sign-in's, through
the presenter's ``_request`` (off the GUI thread, ``failed`` on error).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from desktop.presenters.session_state import SignInStep, device_name, extract_verification_token

if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtCore import SignalInstance

    from desktop.core.api.client import ApiClient
    from desktop.core.api.models import Profile
    from desktop.services.settings_store import QtSettingsStore

__all__ = ["SignUpRequests"]


class SignUpRequests:
    """Sign-up requests of the session presenter (a mixin: the presenter provides the attributes declared here)."""

    _busy: bool
    _settings: QtSettingsStore
    account_restored: SignalInstance
    failed: SignalInstance
    registered: SignalInstance
    verified: SignalInstance
    verification_resent: SignalInstance

    def _open_client(self) -> ApiClient:
        raise NotImplementedError

    def _device_name(self) -> str:
        return device_name(self._settings.settings.share_device_details)

    def _on_signed_in(self, profile: Profile) -> None:
        raise NotImplementedError

    def _request(self, step: SignInStep, call: Callable[[], Any], on_success: Callable[[Any], None]) -> None:
        raise NotImplementedError

    def register(self, *, name: str, email: str, username: str, password: str, age_confirmed: bool) -> None:
        """Create an account; ``registered(email)`` or ``failed("register", …)`` follows."""
        if self._busy:
            return
        address = email.strip()

        def call() -> str:
            self._open_client().register(
                name=name.strip(),
                email=address,
                username=username.strip(),
                password=password,
                age_confirmed=age_confirmed,
            )
            return address

        self._request(SignInStep.REGISTER, call, self.registered.emit)

    def verify(self, code_or_link: str) -> None:
        """Confirm the e-mail address with the token (or the whole link) from the mail."""
        if self._busy:
            return
        token = extract_verification_token(code_or_link)
        if not token:
            self.failed.emit(SignInStep.VERIFY.value, "Paste the code or the link from the mail we sent you.", [])
            return
        self._request(
            SignInStep.VERIFY, lambda: self._open_client().verify_email(token), lambda _none: self.verified.emit()
        )

    def resend_verification(self, email: str) -> None:
        """Send the verification mail again."""
        if self._busy:
            return
        address = email.strip()
        self._request(
            SignInStep.RESEND,
            lambda: self._open_client().resend_verification(address),
            lambda _none: self.verification_resent.emit(),
        )

    def restore_account(self, login: str, password: str) -> None:
        """Bring back a deleted account (within its 30 days), then sign in with the same credentials."""
        if self._busy:
            return
        name = self._device_name()

        def call() -> Profile:
            client = self._open_client()
            client.restore_account(login.strip(), password)
            return client.login(login.strip(), password, device_name=name)

        self._request(SignInStep.RESTORE, call, self._on_account_restored)

    def _on_account_restored(self, profile: Profile) -> None:
        self._on_signed_in(profile)
        self.account_restored.emit()
