"""ApiClient's usage-events request against the fake server over real HTTP (the issue-19 contract shapes)."""

from __future__ import annotations

import datetime
import time
from typing import TYPE_CHECKING

import pytest

from desktop.core.analytics import AnalyticsRecorder, EventName, OsFamily, UsageBatch
from desktop.core.api import ApiError, ServerUnreachable

if TYPE_CHECKING:
    from desktop.core.api import ApiClient
    from tests.fixtures.fake_server import FakeServer


def batch_of(*events: tuple[EventName, int | None]) -> UsageBatch:
    """A batch of ``events`` recorded today (the server takes recent days only)."""
    recorder = AnalyticsRecorder(app_version="0.1.0", platform_name="linux")
    recorder.set_allowed(True)
    for name, value in events:
        recorder.record(name, value)
    batch = recorder.take_batch()
    assert batch is not None
    return batch


def test_a_batch_is_posted_as_is_with_the_bearer_token_and_the_202_is_decoded(
    signed_in_client: ApiClient, fake_server: FakeServer
) -> None:
    batch = batch_of((EventName.APP_STARTED, None), (EventName.ANSWER_RECEIVED, 950))

    accepted = signed_in_client.send_analytics(batch)

    assert accepted == 2
    (request,) = fake_server.requests_to("POST", "/api/v1/analytics/events")
    assert request.headers["Authorization"].startswith("Bearer ")
    assert request.json() == batch.as_json()
    assert fake_server.analytics_batches == [batch.as_json()]
    assert set(request.json()) == {"session_id", "app_version", "os_family", "session_seconds", "events"}


def test_too_frequent_is_a_transient_error_that_says_when_to_try_again(
    signed_in_client: ApiClient, fake_server: FakeServer
) -> None:
    fake_server.fail("analytics", 429, "rate_limited", "Too many batches.", headers=(("Retry-After", "120"),))

    with pytest.raises(ApiError) as caught:
        signed_in_client.send_analytics(batch_of((EventName.FIXED, None)))

    assert (caught.value.status, caught.value.code, caught.value.retry_after) == (429, "rate_limited", 120.0)
    assert caught.value.is_transient
    assert fake_server.analytics_batches == []


def test_a_refused_batch_is_a_client_error(signed_in_client: ApiClient, fake_server: FakeServer) -> None:
    fake_server.fail("analytics", 422, "validation_error", "invalid analytics batch")

    with pytest.raises(ApiError) as caught:
        signed_in_client.send_analytics(batch_of((EventName.FIXED, None)))

    assert (caught.value.status, caught.value.code) == (422, "validation_error")
    assert caught.value.is_client_error


def test_the_quit_timeout_bounds_a_server_that_does_not_answer(
    signed_in_client: ApiClient, fake_server: FakeServer
) -> None:
    fake_server.set_delay(5, "analytics")
    began = time.monotonic()

    with pytest.raises(ServerUnreachable):
        signed_in_client.send_analytics(batch_of((EventName.APP_STARTED, None)), timeout=0.3)

    assert time.monotonic() - began < 2


def test_the_fake_refuses_a_batch_with_any_field_beyond_the_contract(
    signed_in_client: ApiClient, fake_server: FakeServer
) -> None:
    """The fake checks what the server checks, so a desktop that leaked an identifying field would fail here."""
    import httpx

    body = batch_of((EventName.APP_STARTED, None)).as_json()
    tokens = fake_server.issue_tokens(fake_server.account("ada@example.com"))
    headers = {"Authorization": f"Bearer {tokens.access_token}"}
    url = f"{fake_server.url}/api/v1/analytics/events"

    leaks = [{**body, "user_id": "someone"}, {**body, "events": [{**body["events"][0], "ticket_id": "t"}]}]  # type: ignore[index]
    answers = [httpx.post(url, json=leak, headers=headers, timeout=5) for leak in leaks]
    without_token = httpx.post(url, json=body, timeout=5)

    assert [answer.status_code for answer in answers] == [422, 422]
    assert {answer.json()["code"] for answer in answers} == {"validation_error"}
    assert without_token.status_code == 401
    assert fake_server.analytics_batches == []


def test_for_an_account_that_objected_the_server_accepts_nothing(
    signed_in_client: ApiClient, fake_server: FakeServer
) -> None:
    fake_server.account("ada@example.com").analytics = False

    accepted = signed_in_client.send_analytics(batch_of((EventName.APP_STARTED, None)))

    assert accepted == 0
    assert fake_server.analytics_batches == []


def test_a_day_the_server_no_longer_takes_refuses_the_whole_batch(
    signed_in_client: ApiClient, fake_server: FakeServer
) -> None:
    """Why the recorder leaves such events out: one old day costs every event of its batch."""
    old = datetime.date.today() - datetime.timedelta(days=10)
    recorder = AnalyticsRecorder(today=lambda: old)
    recorder.set_allowed(True)
    recorder.record(EventName.APP_STARTED)
    stale = UsageBatch(recorder.session_id, "0.1.0", OsFamily.LINUX, 5, tuple(recorder.pending))

    with pytest.raises(ApiError) as caught:
        signed_in_client.send_analytics(stale)

    assert (caught.value.status, caught.value.code) == (422, "day_out_of_range")
