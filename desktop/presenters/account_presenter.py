"""The Account window's view-model: the profile, the password, the privacy switches, and deleting the account.

All requests run on the runner, off the GUI thread. A profile save sends only the fields the user changed; its
errors are handed back by field, so the window shows each next to its input and keeps what was typed. A privacy
switch is sent the moment it is flipped and flipped back if the server does not take it. The signed-in devices and
the data export have presenters of their own (:mod:`~desktop.presenters.devices_presenter`,
:mod:`~desktop.presenters.export_presenter`); two-step sign-in is :attr:`AccountPresenter.two_factor`.

A weak new password comes back with the server's rule, shown next to the field; the rules themselves are shown
before anything is sent (:mod:`desktop.core.password_rules`). An account made by Google sign-in has no password to
change: it gets a link to set one (the forgotten-password mail).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from PySide6.QtCore import QObject, Signal, Slot

from desktop.core.api.errors import ApiError, SessionExpired
from desktop.presenters.remote_presenter import RemotePresenter
from desktop.presenters.session_state import error_message, long_date
from desktop.presenters.two_factor_presenter import TwoFactorPresenter

if TYPE_CHECKING:
    from collections.abc import Callable

    from desktop.core.api.client import ApiClient
    from desktop.core.api.models import DeletionScheduled, Profile
    from desktop.services.tasks import TaskRunner

__all__ = [
    "CHANGED_TEXT",
    "CURRENT_WRONG_TEXT",
    "EMAIL_PENDING_TEXT",
    "GOOGLE_ONLY_TEXT",
    "PRIVACY_SWITCHES",
    "PROFILE_FIELDS",
    "REPEAT_DIFFERS_TEXT",
    "AccountPresenter",
    "PrivacySwitch",
]


@dataclass(frozen=True, slots=True)
class PrivacySwitch:
    """One privacy switch: its field on ``/api/v1/me``, its label, and the plain sentence under it."""

    key: str
    label: str
    explanation: str


PRIVACY_SWITCHES: Final = (
    PrivacySwitch(
        "kb_contribution",
        "Share my fixes with the knowledge base",
        "When you confirm a fix, an anonymized copy (no names, addresses or screenshots) can help other people with "
        "the same problem.",
    ),
    PrivacySwitch(
        "analytics",
        "Usage analytics",
        "Anonymous counts of which features are used, so we know what to improve. Never your text or screenshots.",
    ),
    PrivacySwitch(
        "ai_processing",
        "AI processing",
        "Your descriptions and screenshots are sent to the AI model to write answers. Off: answers come only from the "
        "knowledge base, and nothing of yours reaches the AI.",
    ),
)
PROFILE_FIELDS: Final = ("name", "email", "username")
EMAIL_PENDING_TEXT: Final = "We sent a confirmation mail to {email}; the new address takes effect once you confirm it."
PROFILE_SAVED_TEXT: Final = "Your profile is saved."
NOTHING_CHANGED_TEXT: Final = "Nothing to save: you changed nothing."
CURRENT_WRONG_TEXT: Final = "The current password is wrong."
EMAIL_REAUTH_TEXT: Final = "Enter your password to change the e-mail address."
EMAIL_REAUTH_WRONG_TEXT: Final = "That password is wrong. Your e-mail address is unchanged."
REPEAT_DIFFERS_TEXT: Final = "The two new passwords are not the same. Type the new one again."
CHANGE_INCOMPLETE_TEXT: Final = "Enter your current password and a new one."
CHANGED_TEXT: Final = "Your password is changed. Every other device was signed out."
GOOGLE_ONLY_TEXT: Final = (
    "You sign in with Google; your account has no Tech Pal password yet. To set one (to sign in without Google, "
    "or to turn off two-step sign-in), we mail you a link that opens a page where you choose it."
)
LINK_SENT_TEXT: Final = "We sent a link to {email}. Open it to choose your password."
DELETE_CHANGE_INCOMPLETE_TEXT: Final = "Enter your password to confirm."
DELETE_CURRENT_WRONG_TEXT: Final = "That password is wrong. Your account was not deleted."
# A taken e-mail or username is a 409 without a field list: these put it next to its input.
_TAKEN: Final = {
    "email_taken": ("email", "Another account uses this e-mail address."),
    "username_taken": ("username", "This username is taken. Please pick another one."),
}


def _new_password_rule(exc: BaseException) -> str:
    """The server's words for a weak new password (its field error, else its detail); empty for other failures."""
    if not isinstance(exc, ApiError) or exc.code != "weak_password":
        return ""
    field = next((e.message for e in exc.field_errors if e.field == "new_password" and e.message), "")
    return field or exc.detail


def deleted_text(scheduled: DeletionScheduled) -> str:
    """The notification after a deletion: when the account goes for good, and how to undo it until then."""
    return (
        f"Your account is closed and will be removed for good on {long_date(scheduled.purge_after)}. Changed your "
        "mind? Sign in again before then and choose “Restore my account”."
    )


class AccountPresenter(RemotePresenter):
    """Loads and corrects the profile, changes the password, flips the privacy switches, deletes the account.

    Args:
        client: Returns the signed-in API client, or ``None`` when signed out.
        runner: Where requests run.
        parent: Owning QObject.

    Signals:
        profile_changed(object): The :class:`Profile` was loaded or saved: show its name, e-mail and username.
        profile_saved(str): A save succeeded; what to tell the user (the confirmation mail for a new e-mail).
        profile_failed(str, object): A load or save failed: a message (may be empty) and ``{field: message}``.
        password_changed(str): The password is changed; what to tell the user.
        password_failed(str): Changing the password failed; the message is for the user.
        password_rule_failed(str): The new password breaks a rule: the server's words, shown next to the field.
        password_link_sent(str): A link to set a password was mailed; what to tell the user.
        switch_changed(str, bool): Show this privacy switch so (loaded, saved, or flipped back after a failure).
        switch_failed(str): A privacy switch was not saved (and is flipped back); the message is for the user.
        deleted(str): The account is deleted; the notification text (with the purge date).
        delete_failed(str): Deletion refused (a wrong password) or failed; the message is for the user.
        busy_changed(str, bool): A request of one part (``profile``, ``password``, ``delete``) started or ended.
        session_expired(): A request found the session revoked.
    """

    profile_changed = Signal(object)
    profile_saved = Signal(str)
    profile_failed = Signal(str, object)
    password_changed = Signal(str)
    password_failed = Signal(str)
    password_rule_failed = Signal(str)
    password_link_sent = Signal(str)
    switch_changed = Signal(str, bool)
    switch_failed = Signal(str)
    deleted = Signal(str)
    delete_failed = Signal(str)
    busy_changed = Signal(str, bool)

    def __init__(
        self, client: Callable[[], ApiClient | None], *, runner: TaskRunner, parent: QObject | None = None
    ) -> None:
        super().__init__(client, runner=runner, parent=parent)
        self._profile: Profile | None = None
        self._busy: set[str] = set()
        self._switching: set[str] = set()
        self._generation = 0
        self.two_factor = TwoFactorPresenter(client, runner=runner, profile=lambda: self._profile, parent=self)
        self.two_factor.session_expired.connect(self.session_expired)
        self.two_factor.changed.connect(self.refresh)

    @property
    def profile(self) -> Profile | None:
        """The profile as last loaded or saved."""
        return self._profile

    def busy(self, part: str) -> bool:
        """Whether a request of ``part`` (``profile``, ``password``, ``delete``) is running."""
        return part in self._busy

    # ------------------------------------------------------------------------------------------------ profile
    @Slot()
    def refresh(self) -> None:
        """(Re)load the profile and the switches."""
        client = self._client()
        if client is None:
            return
        self._generation += 1
        generation = self._generation
        self._runner.run(client.me, lambda profile: self._on_loaded(generation, profile), self._on_load_failed)

    def _on_loaded(self, generation: int, profile: Profile) -> None:
        if generation == self._generation:
            self._show_profile(profile)

    def _on_load_failed(self, exc: BaseException) -> None:
        self.profile_failed.emit(self._message(exc), {})

    def email_changed(self, email: str) -> bool:
        """Whether ``email`` differs from the loaded address (then the password is asked for too)."""
        return self._profile is not None and email.strip() != self._profile.email

    def save_profile(self, name: str, email: str, username: str, password: str = "") -> None:
        """Send the fields that differ from the loaded profile; ``profile_saved`` or ``profile_failed`` follows.

        A new e-mail address goes with the current ``password``: the server refuses it otherwise.
        """
        client, loaded = self._client(), self._profile
        if client is None or loaded is None or self.busy("profile"):
            return
        typed = {"name": name.strip(), "email": email.strip(), "username": username.strip()}
        changes = {key: value for key, value in typed.items() if value != getattr(loaded, key)}
        if not changes:
            self.profile_saved.emit(NOTHING_CHANGED_TEXT)
            return
        if "email" in changes:
            if not password:
                self.profile_failed.emit("", {"current_password": EMAIL_REAUTH_TEXT})
                return
            changes["current_password"] = password
        self._set_busy("profile", True)
        self._runner.run(lambda: client.update_me(**changes), self._on_profile_saved, self._on_profile_failed)

    def _on_profile_saved(self, profile: Profile) -> None:
        self._set_busy("profile", False)
        self._generation += 1  # a load still under way would show the old values
        self._show_profile(profile)
        pending = profile.pending_email
        self.profile_saved.emit(EMAIL_PENDING_TEXT.format(email=pending) if pending else PROFILE_SAVED_TEXT)

    def _on_profile_failed(self, exc: BaseException) -> None:
        self._set_busy("profile", False)
        if isinstance(exc, ApiError) and exc.code in _TAKEN:
            field, text = _TAKEN[exc.code]
            self.profile_failed.emit("", {field: text})
            return
        if isinstance(exc, ApiError) and exc.code in {"invalid_credentials", "reauthentication_required"}:
            self.profile_failed.emit("", {"current_password": EMAIL_REAUTH_WRONG_TEXT})
            return
        errors = {e.field: e.message for e in exc.field_errors} if isinstance(exc, ApiError) else {}
        self.profile_failed.emit(self._message(exc), errors)

    def _show_profile(self, profile: Profile) -> None:
        self._profile = profile
        self.profile_changed.emit(profile)
        for switch in PRIVACY_SWITCHES:
            if switch.key not in self._switching:  # one being saved shows what the user chose
                self.switch_changed.emit(switch.key, bool(getattr(profile, switch.key)))

    # ------------------------------------------------------------------------------------------------ password
    def change_password(self, current: str, new: str, repeated: str) -> None:
        """Change the password (the repetition is checked here); ``password_changed`` or ``password_failed``."""
        client = self._client()
        if client is None or self.busy("password"):
            return
        if not current or not new:
            self.password_failed.emit(CHANGE_INCOMPLETE_TEXT)
            return
        if new != repeated:
            self.password_failed.emit(REPEAT_DIFFERS_TEXT)
            return
        self._set_busy("password", True)
        self._runner.run(
            lambda: client.change_password(current, new), self._on_password_changed, self._on_password_failed
        )

    def _on_password_changed(self, _none: None) -> None:
        self._set_busy("password", False)
        self.password_changed.emit(CHANGED_TEXT)

    def _on_password_failed(self, exc: BaseException) -> None:
        self._set_busy("password", False)
        rule = _new_password_rule(exc)
        if isinstance(exc, ApiError) and exc.code == "invalid_credentials":
            self.password_failed.emit(CURRENT_WRONG_TEXT)
        elif rule:
            self.password_rule_failed.emit(rule)  # the server's rule says what a strong one needs
        else:
            self.password_failed.emit(self._message(exc))

    def send_password_link(self) -> None:
        """Mail a link to set a password (an account made by Google sign-in has none); ``password_link_sent``."""
        client, loaded = self._client(), self._profile
        if client is None or loaded is None or self.busy("password"):
            return
        email = loaded.email
        self._set_busy("password", True)

        def sent(_none: None) -> None:
            self._set_busy("password", False)
            self.password_link_sent.emit(LINK_SENT_TEXT.format(email=email))

        self._runner.run(lambda: client.request_password_reset(email), sent, self._on_password_failed)

    # ------------------------------------------------------------------------------------------------ privacy
    def set_switch(self, key: str, on: bool) -> None:
        """Save one privacy switch now; it is flipped back (``switch_changed``) when the server refuses."""
        client = self._client()
        if client is None or key in self._switching or key not in {s.key for s in PRIVACY_SWITCHES}:
            return
        previous = bool(getattr(self._profile, key, not on))
        self._switching.add(key)
        changes: dict[str, Any] = {key: on}
        self._runner.run(
            lambda: client.update_me(**changes),
            lambda profile: self._on_switch_saved(key, profile),
            lambda exc: self._on_switch_failed(key, previous, exc),
        )

    def _on_switch_saved(self, key: str, profile: Profile) -> None:
        self._switching.discard(key)
        self._profile = profile  # the name, e-mail and username fields keep whatever the user is typing
        self.switch_changed.emit(key, bool(getattr(profile, key)))

    def _on_switch_failed(self, key: str, previous: bool, exc: BaseException) -> None:
        self._switching.discard(key)
        self.switch_changed.emit(key, previous)
        self.switch_failed.emit(self._message(exc))

    # ------------------------------------------------------------------------------------------------ deletion
    def delete_account(self, password: str) -> None:
        """Delete the account (the password proves it is the owner); ``deleted`` or ``delete_failed`` follows."""
        client = self._client()
        if client is None or self.busy("delete"):
            return
        if not password:
            self.delete_failed.emit(DELETE_CHANGE_INCOMPLETE_TEXT)
            return
        self._set_busy("delete", True)
        self._runner.run(lambda: client.delete_account(password), self._on_deleted, self._on_delete_failed)

    def _on_deleted(self, scheduled: DeletionScheduled) -> None:
        self._set_busy("delete", False)
        self._profile = None
        self.deleted.emit(deleted_text(scheduled))

    def _on_delete_failed(self, exc: BaseException) -> None:
        self._set_busy("delete", False)
        if isinstance(exc, ApiError) and exc.code == "invalid_credentials":
            self.delete_failed.emit(DELETE_CURRENT_WRONG_TEXT)
        else:
            self.delete_failed.emit(self._message(exc))

    # ------------------------------------------------------------------------------------------------ plumbing
    def _message(self, exc: BaseException) -> str:
        if isinstance(exc, SessionExpired):
            self.session_expired.emit()
        return error_message(exc)

    def _set_busy(self, part: str, busy: bool) -> None:
        if busy:
            self._busy.add(part)
        else:
            self._busy.discard(part)
        self.busy_changed.emit(part, busy)
