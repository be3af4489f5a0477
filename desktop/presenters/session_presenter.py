"""Who is signed in, to which server: the token store, the one :class:`ApiClient`, sign-in, sign-up and sign-out.

Sign-up, confirming the address and restoring a deleted account are in :mod:`~desktop.presenters.session_signup`;
two-step sign-in's code, Google sign-in and a forgotten password in :mod:`~desktop.presenters.session_steps`;
signing out in :mod:`~desktop.presenters.session_signout`.

Everything that can block (probing the keyring, reading tokens, every request) runs on the presenter's
:class:`~desktop.services.tasks.TaskRunner`; results come back on the GUI thread as signals. The tray is shown
before :meth:`SessionPresenter.start` is called, so a slow keyring or a dead server never delays the icon.
"""

from __future__ import annotations

import logging
import threading
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal, Slot

from desktop.core.api.errors import AccountDeleted, ApiError, FieldError, ServerUnreachable, SessionExpired
from desktop.core.auth import MemoryTokenStore, TokenStore
from desktop.core.settings import check_server_url
from desktop.presenters.session_signout import SignOutRequests
from desktop.presenters.session_signup import SignUpRequests
from desktop.presenters.session_state import (
    INSECURE_URL_TEXT,
    LOGOUT_AT_EXIT_S,
    STORE_FAILED_TEXT,
    ClientFactory,
    SessionState,
    SignInStep,
    default_client_factory,
    deletion_text,
    error_message,
    extract_verification_token,
)
from desktop.presenters.session_steps import (
    GoogleSignInFactory,
    SignInSteps,
    default_google_sign_in,
    open_in_browser,
)
from desktop.services.tasks import TaskRunner

if TYPE_CHECKING:  # the client, the models and the outbox bring httpx and msgspec: loaded once a session needs them
    from collections.abc import Callable
    from pathlib import Path

    from desktop.core.api.client import ApiClient
    from desktop.core.api.models import Profile
    from desktop.core.offline_queue import OfflineQueue
    from desktop.services.settings_store import QtSettingsStore

__all__ = ["INSECURE_URL_TEXT", "SessionPresenter", "SessionState", "SignInStep", "extract_verification_token"]

logger = logging.getLogger(__name__)


class SessionPresenter(SignUpRequests, SignInSteps, SignOutRequests, QObject):
    """The session's state machine and its requests.

    Signals:
        state_changed(str): The new :class:`SessionState` value.
        signed_in(object): The user's :class:`Profile` (``None`` when restored while the server is unreachable).
        signed_out(str): Why, in words (empty when the user asked); a revoked session says so.
        warning(str): Tokens are kept in memory only (insecure or failing keyring); emitted once per run.
        failed(str, str, object): A sign-in step (:class:`SignInStep` value) failed: message, field errors.
        account_deleted(str): Sign-in found the account deleted; says until when it can be restored.
        account_restored(): "Restore my account" brought it back, and the user is signed in.
        registered(str): The account was created; a mail went to this address.
        verified(): The e-mail address is confirmed; the user can sign in now.
        verification_resent(): The mail was sent again.
        verification_needed(): Sign-in found the address unconfirmed (after ``failed``): offer to send the mail again.
        password_reset_sent(str): A link to set a new password was asked for; what to tell the user.
        otp_required(): The password (or Google) was right; two-step sign-in asks for its code (:meth:`submit_otp`).
        google_available(bool): Whether this server offers Google sign-in (after :meth:`load_providers`).
        google_waiting(bool): Google sign-in is (no longer) waiting for the browser.
        google_age_required(): A first Google sign-in makes an account: ask for the age (:meth:`confirm_google_age`).
        sign_out_needs_confirmation(int): Signing out would delete this many unsent questions: ask first.
        busy_changed(bool): A sign-in request is running (the dialog disables its buttons).
    """

    state_changed = Signal(str)
    signed_in = Signal(object)
    signed_out = Signal(str)
    warning = Signal(str)
    failed = Signal(str, str, object)
    account_deleted = Signal(str)
    account_restored = Signal()
    registered = Signal(str)
    verified = Signal()
    verification_resent = Signal()
    verification_needed = Signal()
    password_reset_sent = Signal(str)
    otp_required = Signal()
    google_available = Signal(bool)
    google_waiting = Signal(bool)
    google_age_required = Signal()
    sign_out_needs_confirmation = Signal(int)
    busy_changed = Signal(bool)

    def __init__(
        self,
        settings: QtSettingsStore,
        *,
        token_store_factory: Callable[[], TokenStore],
        client_factory: ClientFactory = default_client_factory,
        queue_root: Path | None = None,
        runner: TaskRunner | None = None,
        open_url: Callable[[str], object] = open_in_browser,
        google_sign_in: GoogleSignInFactory = default_google_sign_in,
        parent: QObject | None = None,
    ) -> None:
        """Create the presenter; nothing blocks until :meth:`start`.

        Args:
            settings: Server URL and the signed-in account id live here.
            token_store_factory: Opens the token store (the OS keyring: may block, so it runs in a worker).
            client_factory: Builds the API client for a server, token store and account.
            queue_root: Root of the offline queues (:func:`default_queue_root` when omitted).
            runner: Where blocking calls run; one private single-thread runner when omitted, so requests keep order.
            open_url: Opens a URL in the system browser (Google sign-in); called on the GUI thread.
            google_sign_in: Makes the browser flow of Google sign-in for a provider and ``open_url``.
            parent: Owning QObject.
        """
        super().__init__(parent)
        self._settings = settings
        self._token_store_factory = token_store_factory
        self._client_factory = client_factory
        self._queue_root = queue_root
        # One queue object per outbox: its locks only serialise callers that share it (the chat and the sender).
        self._queues: dict[tuple[str, str], OfflineQueue] = {}
        self._runner = runner if runner is not None else TaskRunner(max_threads=1, parent=self)
        self._state = SessionState.STARTING
        self._tokens: TokenStore | None = None
        self._client: ApiClient | None = None
        self._profile: Profile | None = None
        self._busy = self._started = self._warned = False
        self._store_problem: str | None = None
        # Guards _tokens/_client, which workers create on first use and the GUI thread replaces on a server change.
        self._open_lock = threading.Lock()
        self._init_steps(self, open_url, google_sign_in)

    # ------------------------------------------------------------------------------------------------ state
    @property
    def state(self) -> SessionState:
        """Where the session is."""
        return self._state

    @property
    def is_signed_in(self) -> bool:
        """Signed in (possibly offline: requests may still find the session revoked)."""
        return self._state is SessionState.SIGNED_IN

    @property
    def ready(self) -> bool:
        """Start-up is over (a saved session was restored or there was none), so sign-in requests can be made."""
        return self._state is not SessionState.STARTING

    @property
    def busy(self) -> bool:
        """A sign-in request is running."""
        return self._busy

    @property
    def client(self) -> ApiClient | None:
        """The API client for the current server, once the token store is open (always while signed in)."""
        return self._client

    @property
    def profile(self) -> Profile | None:
        """The signed-in user, when known."""
        return self._profile

    @property
    def server_url(self) -> str:
        """The server in use."""
        return self._settings.settings.server_url

    @property
    def needs_server_confirmation(self) -> bool:
        """The server URL is plain http to another computer and the user has not accepted that yet."""
        current = self._settings.settings
        return check_server_url(current.server_url).needs_insecure_confirmation and not current.insecure_http_confirmed

    def offline_queue(self) -> OfflineQueue | None:
        """The signed-in account's outbox on this server, or ``None`` when signed out."""
        account = self._client.account if self._client is not None else None
        if not self.is_signed_in or account is None:
            return None
        queue = self._queues.get((self.server_url, account))
        if queue is None:
            from desktop.core.offline_queue import OfflineQueue, default_queue_root  # noqa: PLC0415 - msgspec

            queue = OfflineQueue(self._queue_root or default_queue_root(), self.server_url, account)
            self._queues[(self.server_url, account)] = queue
        return queue

    # ------------------------------------------------------------------------------------------------ start-up
    def start(self) -> None:
        """Restore a saved session in the background; with none saved, the keyring is not even opened yet.

        The token store opens (in a worker) only when a session is restored or the user signs in, so a first
        launch never loads the keyring machinery.
        """
        if self._started:
            return
        self._started = True
        account = self._settings.settings.account_id
        if account is None:
            self._set_state(SessionState.SIGNED_OUT)
            return
        server_url = self.server_url

        def restore() -> bool:
            tokens = self._open_store()
            if tokens.load(server_url, account) is None:
                return False
            with self._open_lock:
                self._client = self._client_factory(server_url, tokens, account)
            return True

        self._runner.run(restore, self._on_restored, self._on_restore_failed)

    def _on_restored(self, restored: bool) -> None:
        self._emit_store_warning()
        if restored:
            self._set_state(SessionState.SIGNED_IN)
            self.signed_in.emit(None)
            self._refresh_profile()
        else:
            self._set_state(SessionState.SIGNED_OUT)

    def _on_restore_failed(self, exc: BaseException) -> None:
        logger.error("restoring the session failed", exc_info=exc)
        self._set_state(SessionState.SIGNED_OUT)

    def _open_store(self) -> TokenStore:
        """In a worker: open the token store once (probing the keyring may block or prompt)."""
        with self._open_lock:
            if self._tokens is None:
                try:
                    self._tokens = self._token_store_factory()
                except Exception as exc:  # keyring itself crashed: sign-in still works for this run
                    logger.warning("could not open the token store (%r); keeping tokens in memory", exc)
                    self._tokens = MemoryTokenStore()
                    self._store_problem = STORE_FAILED_TEXT
            return self._tokens

    def _open_client(self) -> ApiClient:
        """In a worker: the client for the current server (built with the token store on first use)."""
        tokens = self._open_store()
        with self._open_lock:
            if self._client is None:
                self._client = self._client_factory(self.server_url, tokens, None)
            return self._client

    def _emit_store_warning(self) -> None:
        """On the GUI thread, once per run: tokens are kept in memory only."""
        take = getattr(self._tokens, "take_warning", None)
        text = take() if callable(take) else None
        text = text or self._store_problem
        if text and not self._warned:
            self._warned = True
            self.warning.emit(text)

    def _refresh_profile(self) -> None:
        client = self._client
        if client is None:
            return
        self._runner.run(client.me, self._on_profile, self._on_profile_failed)

    def _on_profile(self, profile: Profile) -> None:
        if self.is_signed_in:
            self._profile = profile
            self.signed_in.emit(profile)

    def _on_profile_failed(self, exc: BaseException) -> None:
        if isinstance(exc, SessionExpired):
            self.handle_session_expired()
        elif not isinstance(exc, ServerUnreachable):
            logger.warning("could not load the profile: %s", error_message(exc))

    # ------------------------------------------------------------------------------------------------ server
    def set_server(self, url: str, *, insecure_confirmed: bool = False) -> bool:
        """Use another server (signs out of the current one first); returns False with ``failed`` when refused.

        Plain ``http://`` to another computer needs ``insecure_confirmed``.
        """
        try:
            checked = check_server_url(url)
        except ValueError as exc:
            self.failed.emit(SignInStep.SERVER.value, f"That is not a usable server address: {exc}.", [])
            return False
        if checked.needs_insecure_confirmation and not insecure_confirmed:
            self.failed.emit(SignInStep.SERVER.value, INSECURE_URL_TEXT, [])
            return False
        allowed = checked.url if checked.needs_insecure_confirmation else None
        current = self._settings.settings
        if checked.url == current.server_url:
            if allowed != current.insecure_http_allowed_for:
                self._settings.update(insecure_http_allowed_for=allowed)
            return True
        if self.is_signed_in and self._client is not None:
            self._runner.run(self._client.logout, _ignore, _ignore)  # best effort, before the client is replaced
            self._forget_session("")
        self._settings.update(server_url=checked.url, insecure_http_allowed_for=allowed, account_id=None)
        with self._open_lock:
            old = self._client
            self._client = self._client_factory(checked.url, self._tokens, None) if self._tokens is not None else None
        if old is not None:
            self._runner.run(old.close, _ignore, _ignore)
        return True

    # ------------------------------------------------------------------------------------------------ sign-in
    def sign_in(self, login: str, password: str) -> None:
        """Sign in with e-mail or username; ``signed_in`` or ``failed("sign_in", …)`` follows."""
        if self._busy:
            return
        if not login.strip() or not password:
            self.failed.emit(SignInStep.SIGN_IN.value, "Enter your e-mail or username and your password.", [])
            return
        name = self._device_name()
        self._request(
            SignInStep.SIGN_IN,
            lambda: self._open_client().login(login.strip(), password, device_name=name),
            self._on_signed_in,
        )

    def _request(self, step: SignInStep, call: Callable[[], Any], on_success: Callable[[Any], None]) -> None:
        self._set_busy(True)

        def succeeded(result: Any) -> None:
            self._set_busy(False)
            self._emit_store_warning()
            on_success(result)

        def failed(exc: BaseException) -> None:
            self._set_busy(False)
            self._emit_store_warning()
            if isinstance(exc, AccountDeleted):  # not a failure: the dialog offers to restore it
                self.account_deleted.emit(deletion_text(exc.purge_after))
                return
            if self._step_failed(step, exc):  # a further step (the code, the age), or a failure with an offer
                return
            errors: list[FieldError] = list(exc.field_errors) if isinstance(exc, ApiError) else []
            self.failed.emit(step.value, error_message(exc), errors)

        self._runner.run(call, succeeded, failed)

    def _on_signed_in(self, profile: Profile) -> None:
        current = self._settings.settings
        allowed = current.insecure_http_allowed_for if current.insecure_http_confirmed else None
        # Saving now also persists a --server override: the user signed in there.
        self._settings.update(account_id=str(profile.id), insecure_http_allowed_for=allowed)
        self._profile = profile
        self._set_state(SessionState.SIGNED_IN)
        self.signed_in.emit(profile)

    # ------------------------------------------------------------------------------------------------ expiry
    @Slot()
    def handle_session_expired(self) -> None:
        """A request found the session revoked or expired: back to sign-in (the client already forgot the tokens)."""
        if self.is_signed_in:
            self._forget_session("Your session has ended (perhaps you signed out on another device). Sign in again.")

    def _forget_session(self, reason: str) -> None:
        self._profile = None
        if self._settings.settings.account_id is not None:
            self._settings.update(account_id=None)
        self._set_state(SessionState.SIGNED_OUT)
        self.signed_out.emit(reason)

    # ------------------------------------------------------------------------------------------------ plumbing
    def shutdown(self) -> None:
        """End a session whose tokens die with the app (else each start adds a device); wait for requests; close."""
        client = self._client
        unkept = self.is_signed_in and self._tokens is not None and not self._tokens.persistent
        self._shutdown_steps()
        self._runner.shutdown(last=partial(client.logout, timeout=LOGOUT_AT_EXIT_S) if client and unkept else None)
        if client is not None:
            client.close()

    def _set_state(self, state: SessionState) -> None:
        if state is not self._state:
            self._state = state
            self.state_changed.emit(state.value)

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)


def _ignore(_value: object) -> None:
    """Callback for results nobody needs."""
