"""The desktop's usage batches against the real server app: built by the real recorder, posted by the real client.

Every event name with its number, the installed app version, the final batch without events, and an account that
objected (the server stores nothing and says so with ``accepted: 0``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from desktop.core.analytics import AnalyticsRecorder, EventName, UsageBatch
from desktop.core.api import ApiClient
from desktop.core.auth import MemoryTokenStore
from tests.fixtures.auth import TEST_PASSWORD
from tests.fixtures.mail import link_token

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.fixtures.mail import Mailbox
    from tests.fixtures.server import LiveServer

pytestmark = pytest.mark.usefixtures("anyio_backend")  # the server fixtures are async
EMAIL = "stats@example.com"
VALUES = {EventName.BOXES_REDACTED: 3, EventName.ANSWER_RECEIVED: 1840}


@pytest.fixture
def api(live_server: LiveServer, mailbox: Mailbox) -> Iterator[ApiClient]:
    """Signed in the way the app signs in: register, open the mailed link, log in."""
    with ApiClient(live_server.url, tokens=MemoryTokenStore()) as client:
        client.register(name="Stats User", email=EMAIL, username="stats", password=TEST_PASSWORD, age_confirmed=True)
        mail = [m for m in mailbox.messages() if m["To"] == EMAIL][-1]
        client.verify_email(link_token(mail, "verify-email"))
        client.login(EMAIL, TEST_PASSWORD, device_name="pytest desktop")
        yield client


def recorded_batch(recorder: AnalyticsRecorder, *, final: bool = False) -> UsageBatch:
    batch = recorder.take_batch(final=final)
    assert batch is not None
    return batch


def test_a_batch_of_every_event_is_accepted_and_the_202_decoded(api: ApiClient) -> None:
    recorder = AnalyticsRecorder()  # the installed version, this machine's OS family, today
    recorder.set_allowed(True)
    for name in EventName:
        recorder.record(name, VALUES.get(name))

    accepted = api.send_analytics(recorded_batch(recorder))

    assert accepted == len(EventName)


def test_the_last_batch_at_quit_without_events_is_accepted(api: ApiClient) -> None:
    recorder = AnalyticsRecorder()
    recorder.set_allowed(True)
    recorder.record(EventName.APP_STARTED)
    assert api.send_analytics(recorded_batch(recorder)) == 1

    assert api.send_analytics(recorded_batch(recorder, final=True)) == 0


def test_for_an_account_that_objected_nothing_is_stored(api: ApiClient) -> None:
    assert api.update_me(analytics=False).analytics is False
    recorder = AnalyticsRecorder()
    recorder.set_allowed(True)  # the app had not heard of the objection yet
    recorder.record(EventName.QUESTION_ASKED)

    assert api.send_analytics(recorded_batch(recorder)) == 0
