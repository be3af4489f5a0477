"""Sign-in beyond the password: two-step sign-in's code, Google sign-in, and a link for a forgotten password.

A part of :class:`~desktop.presenters.session_presenter.SessionPresenter`. Requests to the server run like
sign-in's, through the presenter's ``_request``. Two waits do not: asking the server which sign-in providers it
offers, and the browser part of Google sign-in (which may take minutes while the user picks an account); they run on
a runner of their own, so the session's requests never queue behind them.

Google sign-in: :class:`~desktop.core.google_sign_in.GoogleSignIn` opens the system browser and waits on a local
port for Google's answer; the ID token and nonce it returns go to the server. A first sign-in answers
``age_required`` (nothing stored yet): the dialog asks, and the same token and nonce go again with
``age_confirmed``. A password or Google sign-in of an account with two-step sign-in answers ``otp_required``: the
challenge stays here until the code is sent (or the user goes back).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Protocol

from PySide6.QtCore import QObject, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices

from desktop.core.api.errors import ApiError, OtpRequired
from desktop.core.auth import MemoryTokenStore
from desktop.core.two_factor import clean_code
from desktop.presenters.session_state import ClientFactory, SignInStep, error_message
from desktop.services.tasks import TaskRunner

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance

    from desktop.core.api.client import ApiClient
    from desktop.core.api.models import AuthProviders, GoogleProvider, Profile

__all__ = [
    "CODE_NEEDED_TEXT",
    "EMAIL_NEEDED_TEXT",
    "RESET_SENT_TEXT",
    "GoogleIdentityLike",
    "GoogleRunner",
    "GoogleSignInFactory",
    "SignInSteps",
    "default_google_sign_in",
    "open_in_browser",
]

logger = logging.getLogger(__name__)

RESET_SENT_TEXT: Final = "If an account exists for that address, a mail with a link is on its way."
EMAIL_NEEDED_TEXT: Final = "Enter the e-mail address of your account."
CODE_NEEDED_TEXT: Final = "Enter the 6-digit code from your authenticator app, or one of your recovery codes."
SIGN_IN_AGAIN_TEXT: Final = "Please sign in again."
# Cancelling the browser wait lets the flow end on its own; shutting down waits this long for it.
SIDE_SHUTDOWN_MS: Final = 2_000


class GoogleIdentityLike(Protocol):
    """What Google sign-in yields: the ID token, and the nonce it was issued for."""

    @property
    def id_token(self) -> str:
        """The ID token for the server."""
        ...

    @property
    def nonce(self) -> str:
        """The nonce the token was issued for."""
        ...


class GoogleRunner(Protocol):
    """One Google sign-in in the browser: ``run`` blocks until Google answered (or ``cancel`` is set)."""

    def run(self, cancel: threading.Event | None = None) -> GoogleIdentityLike:
        """Open the browser and wait for Google's answer."""
        ...


GoogleSignInFactory = Callable[["GoogleProvider", "Callable[[str], object]"], GoogleRunner]


def default_google_sign_in(provider: GoogleProvider, open_browser: Callable[[str], object]) -> GoogleRunner:
    """The real flow (system browser, loopback redirect, PKCE)."""
    from desktop.core.google_sign_in import GoogleSignIn  # noqa: PLC0415 - only when the user chooses Google

    return GoogleSignIn(provider, open_browser)


def open_in_browser(url: str) -> bool:
    """Open ``url`` in the system browser (call on the GUI thread)."""
    return QDesktopServices.openUrl(QUrl(url))


def _google_error_text(exc: BaseException) -> str | None:
    """The sentence of a failed browser flow, or ``None`` when it was cancelled."""
    from desktop.core.google_sign_in import GoogleSignInError  # noqa: PLC0415 - loaded with the flow

    if isinstance(exc, GoogleSignInError):
        return None if exc.cancelled else str(exc)
    if getattr(exc, "cancelled", False):
        return None
    return error_message(exc)


class _BrowserOpener(QObject):
    """Opens URLs on the GUI thread whoever calls it: the Google flow calls from its worker thread."""

    _requested = Signal(str)

    def __init__(self, open_url: Callable[[str], object], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._open_url = open_url
        self._requested.connect(self._open)  # queued when emitted from another thread

    def __call__(self, url: str) -> None:
        self._requested.emit(url)

    @Slot(str)
    def _open(self, url: str) -> None:
        self._open_url(url)


class SignInSteps:
    """The further sign-in steps of the session presenter (a mixin: the presenter provides what is declared here)."""

    _busy: bool
    _client_factory: ClientFactory
    failed: SignalInstance
    otp_required: SignalInstance
    verification_needed: SignalInstance
    password_reset_sent: SignalInstance
    google_available: SignalInstance
    google_waiting: SignalInstance
    google_age_required: SignalInstance

    @property
    def server_url(self) -> str:
        """Provided by the presenter."""
        raise NotImplementedError

    def _open_client(self) -> ApiClient:
        raise NotImplementedError

    def _device_name(self) -> str:
        raise NotImplementedError

    def _on_signed_in(self, profile: Profile) -> None:
        raise NotImplementedError

    def _request(self, step: SignInStep, call: Callable[[], Any], on_success: Callable[[Any], None]) -> None:
        raise NotImplementedError

    def _set_busy(self, busy: bool) -> None:
        raise NotImplementedError

    def _init_steps(self, owner: QObject, open_url: Callable[[str], object], google: GoogleSignInFactory) -> None:
        self._owner = owner
        self._challenge: str | None = None
        self._providers: tuple[str, GoogleProvider | None] = ("", None)  # server URL, its Google client
        self._google_factory = google
        self._browser = _BrowserOpener(open_url, parent=owner)
        self._google_cancel: threading.Event | None = None
        self._google_identity: GoogleIdentityLike | None = None  # awaiting the age confirmation
        self._side_runner: TaskRunner | None = None

    # ------------------------------------------------------------------------------------------------ state
    @property
    def google_provider(self) -> GoogleProvider | None:
        """The current server's Google sign-in client, once :meth:`load_providers` found one."""
        server, provider = self._providers
        return provider if server == self.server_url else None

    @property
    def awaiting_otp(self) -> bool:
        """A sign-in waits for the code of two-step sign-in."""
        return self._challenge is not None

    @property
    def waiting_for_browser(self) -> bool:
        """Google sign-in is open in the browser."""
        return self._google_cancel is not None

    def _side(self) -> TaskRunner:
        if self._side_runner is None:
            self._side_runner = TaskRunner(max_threads=2, parent=self._owner)
        return self._side_runner

    # ------------------------------------------------------------------------------------------------ providers
    def load_providers(self) -> None:
        """Ask the server which other ways to sign in it offers; ``google_available`` follows (false on any error).

        Asked without the token store (no keyring is opened for it), off the GUI thread.
        """
        server, factory = self.server_url, self._client_factory

        def call() -> AuthProviders:
            with factory(server, MemoryTokenStore(), None) as client:
                return client.auth_providers()

        def failed(exc: BaseException) -> None:
            logger.info("could not ask %s for its sign-in providers: %r", server, exc)
            self._on_providers(server, None)

        self._side().run(call, lambda providers: self._on_providers(server, providers.google), failed)

    def _on_providers(self, server: str, google: GoogleProvider | None) -> None:
        if server != self.server_url:
            return  # the user changed servers meanwhile; the new one was asked too
        self._providers = (server, google)
        self.google_available.emit(google is not None)

    # ------------------------------------------------------------------------------------------------ Google
    def sign_in_with_google(self) -> None:
        """Sign in in the browser; ``google_waiting(True)`` until it answers, then signed in, or a further step."""
        provider = self.google_provider
        if self._busy or provider is None:
            return
        cancel = threading.Event()
        self._google_cancel = cancel
        self._google_identity = None
        self._set_busy(True)
        self.google_waiting.emit(True)
        factory, opener = self._google_factory, self._browser

        def call() -> GoogleIdentityLike:
            return factory(provider, opener).run(cancel)

        self._side().run(
            call,
            lambda identity: self._on_google_identity(cancel, identity),
            lambda exc: self._on_browser_failed(cancel, exc),
        )

    def cancel_google(self) -> None:
        """Stop waiting for the browser, or forget a sign-in waiting for the age confirmation."""
        self._google_identity = None
        cancel, self._google_cancel = self._google_cancel, None
        if cancel is not None:
            cancel.set()
            self.google_waiting.emit(False)
            self._set_busy(False)

    def confirm_google_age(self) -> None:
        """The user confirmed being 18 or older: send the same ID token and nonce again, with that."""
        identity = self._google_identity
        if identity is not None and not self._busy:
            self._send_google(identity, age_confirmed=True)

    def _on_google_identity(self, cancel: threading.Event, identity: GoogleIdentityLike) -> None:
        if cancel is not self._google_cancel:
            return  # cancelled meanwhile
        self._google_cancel = None
        self.google_waiting.emit(False)
        self._send_google(identity, age_confirmed=False)

    def _on_browser_failed(self, cancel: threading.Event, exc: BaseException) -> None:
        if cancel is not self._google_cancel:
            return
        self._google_cancel = None
        self.google_waiting.emit(False)
        self._set_busy(False)
        text = _google_error_text(exc)
        if text is not None:
            self.failed.emit(SignInStep.GOOGLE.value, text, [])

    def _send_google(self, identity: GoogleIdentityLike, *, age_confirmed: bool) -> None:
        self._google_identity = identity
        name = self._device_name()
        self._request(
            SignInStep.GOOGLE,
            lambda: self._open_client().google_login(
                identity.id_token, identity.nonce, age_confirmed=age_confirmed, device_name=name
            ),
            self._on_step_signed_in,
        )

    # ------------------------------------------------------------------------------------------------ two-step
    def submit_otp(self, code: str) -> None:
        """Send the code (from the authenticator app, or a recovery code) for the sign-in waiting for it."""
        challenge = self._challenge
        if self._busy:
            return
        if challenge is None:
            self.failed.emit(SignInStep.SIGN_IN.value, SIGN_IN_AGAIN_TEXT, [])
            return
        cleaned = clean_code(code)
        if not cleaned:
            self.failed.emit(SignInStep.OTP.value, CODE_NEEDED_TEXT, [])
            return
        self._request(
            SignInStep.OTP, lambda: self._open_client().login_otp(challenge, cleaned), self._on_step_signed_in
        )

    def cancel_otp(self) -> None:
        """Give up the sign-in waiting for its code (back to the password)."""
        self._challenge = None

    def _on_step_signed_in(self, profile: Profile) -> None:
        self._challenge = self._google_identity = None
        self._on_signed_in(profile)

    def _step_failed(self, step: SignInStep, exc: BaseException) -> bool:
        """Failures that lead to a further step rather than a message; returns whether it was one of those."""
        if isinstance(exc, OtpRequired):
            self._challenge, self._google_identity = exc.challenge, None
            self.otp_required.emit()
            return True
        code = exc.code if isinstance(exc, ApiError) else ""
        if step is SignInStep.GOOGLE and code == "age_required" and self._google_identity is not None:
            self.google_age_required.emit()
            return True
        if step is SignInStep.GOOGLE:
            self._google_identity = None
        if step is SignInStep.OTP and code == "challenge_expired":
            self._challenge = None
            self.failed.emit(SignInStep.SIGN_IN.value, error_message(exc), [])
            return True
        if code == "email_not_verified":
            self.failed.emit(step.value, error_message(exc), [])
            self.verification_needed.emit()
            return True
        return False

    # ------------------------------------------------------------------------------------------------ password
    def request_password_reset(self, email: str) -> None:
        """Mail a link to set a new password; ``password_reset_sent(text)`` follows whether or not it exists."""
        if self._busy:
            return
        address = email.strip()
        if "@" not in address:
            self.failed.emit(SignInStep.FORGOT.value, EMAIL_NEEDED_TEXT, [])
            return
        self._request(
            SignInStep.FORGOT,
            lambda: self._open_client().request_password_reset(address),
            lambda _none: self.password_reset_sent.emit(RESET_SENT_TEXT),
        )

    def _shutdown_steps(self) -> None:
        """Stop waiting for the browser and for the side requests."""
        self.cancel_google()
        if self._side_runner is not None:
            self._side_runner.shutdown(SIDE_SHUTDOWN_MS)
