"""The privacy-policy notice: shown once per new policy version, and "OK" records that the user read it.

The profile (``GET /api/v1/me``, loaded at sign-in and when a saved session is restored) carries the current policy
and whether this user accepted it. A version not yet accepted is announced once per run: the versions announced
are remembered here too, so a failed acceptance does not bring the notice back at every profile load.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from desktop.presenters.remote_presenter import RemotePresenter
from desktop.presenters.session_state import error_message, long_date

if TYPE_CHECKING:  # the models bring msgspec: the idle tray without a session needs none of it
    from collections.abc import Callable

    from desktop.core.api.client import ApiClient
    from desktop.core.api.models import PolicyNotice, Profile
    from desktop.services.tasks import TaskRunner

__all__ = ["POLICY_TITLE", "PolicyPresenter", "version_line"]

logger = logging.getLogger(__name__)

POLICY_TITLE = "Our privacy policy changed"


def version_line(notice: PolicyNotice) -> str:
    """Which version it is and when it was published: "Version 2026-12, published 7 December 2026"."""
    published = f", published {long_date(notice.published_at)}" if notice.published_at is not None else ""
    return f"Version {notice.version}{published}"


class PolicyPresenter(RemotePresenter):
    """Announces a new policy version once, and records its acceptance.

    Args:
        client: Returns the signed-in API client, or ``None`` when signed out.
        runner: Where the acceptance is sent.
        parent: Owning QObject.

    Signals:
        notice_ready(object): Show this :class:`PolicyNotice` (its summary, its link, "OK").
        accepted(str): The server recorded the acceptance of this version.
    """

    notice_ready = Signal(object)
    accepted = Signal(str)

    def __init__(
        self, client: Callable[[], ApiClient | None], *, runner: TaskRunner, parent: QObject | None = None
    ) -> None:
        super().__init__(client, runner=runner, parent=parent)
        self._announced: set[str] = set()

    @Slot(object)
    def on_profile(self, profile: Profile | None) -> None:
        """A profile arrived (sign-in, a restored session): announce its policy if it is new to this user."""
        policy = profile.policy if profile is not None else None
        if policy is None or policy.accepted or policy.version in self._announced:
            return
        self._announced.add(policy.version)
        self.notice_ready.emit(policy)

    def accept(self, version: str) -> None:
        """The user pressed "OK": record it on the server (a failure is logged; the notice comes back next run)."""
        client = self._client()
        if client is None:
            return
        self._runner.run(
            lambda: client.accept_policy(version),
            lambda _none: self.accepted.emit(version),
            lambda exc: logger.warning("policy %s not accepted: %s", version, error_message(exc)),
        )
