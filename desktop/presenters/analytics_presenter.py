"""Anonymous usage analytics: one recorder for this run of the app, sent only as the signed-in account allows.

The :class:`~desktop.core.analytics.AnalyticsRecorder` is made at start-up with a new random session id; the
presenters that see the user act record into it (the chat, capture and redaction presenters get it from the
windows' factories). This presenter decides whether anything leaves the computer: only while signed in, and only
while the account's ``analytics`` switch is on. It learns the switch from every profile the session loads (sign-in,
a restored session), from the Account window's privacy switch as soon as the server confirmed a change, and from the
server storing none of a batch (it does so only for an account that objected); turning it off drops every pending
event there and then. Batches go every few minutes, and once more at quit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QObject, Slot

from desktop.core.analytics import AnalyticsRecorder, EventName
from desktop.services.analytics_sender import DEFAULT_SEND_INTERVAL_MS, AnalyticsSender, Send

if TYPE_CHECKING:  # the client and the models bring httpx and msgspec: loaded once a session needs them
    from desktop.core.analytics import UsageBatch
    from desktop.core.api.client import ApiClient
    from desktop.core.api.models import Profile
    from desktop.presenters.session_presenter import SessionPresenter

__all__ = ["ANALYTICS_SWITCH", "AnalyticsPresenter"]

ANALYTICS_SWITCH: Final = "analytics"  # the privacy switch's field on /api/v1/me


class AnalyticsPresenter(QObject):
    """Follows the session and the account's switch; starts and stops the sender; flushes at quit.

    Args:
        session: The sign-in session: its profiles carry the switch, its client sends.
        recorder: This run's recorder; a new one (a new random session id) when omitted.
        interval_ms: How often pending events are sent while allowed.
        parent: Owning QObject.
    """

    def __init__(
        self,
        session: SessionPresenter,
        *,
        recorder: AnalyticsRecorder | None = None,
        interval_ms: int = DEFAULT_SEND_INTERVAL_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._session = session
        self._recorder = recorder if recorder is not None else AnalyticsRecorder()
        self._sender = AnalyticsSender(self._recorder, interval_ms=interval_ms, parent=self)
        self._sender.session_expired.connect(session.handle_session_expired)
        self._sender.sent.connect(self._on_sent)
        session.signed_in.connect(self.on_profile)
        session.signed_out.connect(self._on_signed_out)

    @property
    def recorder(self) -> AnalyticsRecorder:
        """Where the presenters record what the user does."""
        return self._recorder

    @property
    def batch_sender(self) -> AnalyticsSender:
        """The background sender (running only while signed in with the switch on); not ``QObject.sender()``."""
        return self._sender

    def record(self, name: EventName, value: int | None = None) -> None:
        """Record one event of this run (kept only as the switch allows)."""
        self._recorder.record(name, value)

    @Slot(object)
    def on_profile(self, profile: Profile | None) -> None:
        """Connect to ``SessionPresenter.signed_in``: the profile says whether the account allows analytics.

        ``None`` (a session restored while the server is unreachable) says nothing: events wait, unsent.
        """
        if profile is not None:
            self._follow(profile.analytics)

    @Slot(str, bool)
    def on_switch(self, key: str, on: bool) -> None:
        """Connect to ``AccountPresenter.switch_changed``: the server holds this value of the switch now."""
        if key == ANALYTICS_SWITCH:
            self._follow(on)

    def shutdown(self) -> None:
        """At quit: send what is pending once more (briefly, best effort), then nothing."""
        self._sender.flush()

    def _follow(self, allowed: bool) -> None:
        self._recorder.set_allowed(allowed)
        client = self._session.client
        if not allowed or not self._session.is_signed_in or client is None:
            self._sender.stop()
        elif not self._sender.active:
            self._sender.start(_sender_for(client))

    @Slot(int, int)
    def _on_sent(self, accepted: int, sent: int) -> None:
        """The server stores nothing only for an account that objected (switched off on another device, say)."""
        if sent and not accepted:
            self._follow(False)

    @Slot(str)
    def _on_signed_out(self, _reason: str) -> None:
        """Nobody's switch applies now: send nothing, keep what was recorded until an account says yes or no."""
        self._sender.stop()
        self._recorder.set_allowed(None)


def _sender_for(client: ApiClient) -> Send:
    """``client.send_analytics`` bound for the sender (called in its worker)."""

    def send(batch: UsageBatch, timeout_s: float | None) -> int:
        return client.send_analytics(batch, timeout=timeout_s)

    return send
