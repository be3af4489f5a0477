"""ApiClient logic against ``httpx.MockTransport``: tokens and refresh, error mapping, multipart, streaming.

End-to-end runs against the real server live elsewhere; these pin the client's own behaviour.
"""

from __future__ import annotations

import datetime
import email.parser
import email.policy
import json
import re
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from desktop.core.api import (
    ApiClient,
    ApiError,
    Citation,
    DeltaEvent,
    DoneEvent,
    ErrorEvent,
    QuotaExceeded,
    ServerUnreachable,
    SessionExpired,
    TriageEvent,
)
from desktop.core.auth import MemoryTokenStore, StoredTokens
from desktop.core.question import Attachment, Question

SERVER = "http://techpal.test"
USER_ID = "0b6c2a43-3f59-4a3e-9a7e-5b8f1f0d7c11"
PROFILE = {
    "id": USER_ID,
    "name": "Ada",
    "username": "ada",
    "email": "ada@example.com",
    "email_verified": True,
    "role": "user",
    "created_at": "2026-11-27T10:00:00Z",
    "some_future_field": {"ignored": True},
}
TICKET = {
    "id": "7d7c5a54-2f0c-4bd2-8c55-8a4c1c4f1b0e",
    "status": "open",
    "priority": "normal",
    "category": "printer",
    "created_at": "2026-11-27T10:00:00Z",
    "updated_at": "2026-11-27T10:00:00Z",
}
Handler = Callable[[httpx.Request], httpx.Response]


def problem(status: int, code: str, detail: str = "", **extra: Any) -> httpx.Response:
    body = {"status": status, "title": "x", "detail": detail, "code": code, "errors": [], **extra}
    return httpx.Response(status, json=body, headers={"Content-Type": "application/problem+json"})


def make_client(handler: Handler, store: MemoryTokenStore | None = None, *, signed_in: bool = True) -> ApiClient:
    store = store if store is not None else MemoryTokenStore()
    if signed_in:
        store.save(SERVER, USER_ID, StoredTokens("access-1", "refresh-1"))
    return ApiClient(
        SERVER, tokens=store, account=USER_ID if signed_in else None, transport=httpx.MockTransport(handler)
    )


def sse(*events: tuple[str, Any]) -> bytes:
    return b"".join(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events)


# ---------------------------------------------------------------------------------------------- sign-in
def test_login_sends_device_name_and_user_agent_and_stores_the_pair_under_the_user_id() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/v1/auth/login":
            return httpx.Response(200, json={"access_token": "a", "refresh_token": "r", "expires_in": 900})
        assert request.headers["Authorization"] == "Bearer a"
        return httpx.Response(200, json=PROFILE)

    store = MemoryTokenStore()
    client = make_client(handler, store, signed_in=False)

    profile = client.login("ada", "correct horse", device_name="Ada's laptop")

    assert str(profile.id) == USER_ID
    assert client.account == USER_ID
    assert client.signed_in
    assert store.load(SERVER, USER_ID) == StoredTokens("a", "r")
    login_body = json.loads(seen[0].content)
    assert login_body == {"login": "ada", "password": "correct horse", "device_name": "Ada's laptop"}
    assert seen[0].headers["User-Agent"].startswith("TechPal-Desktop/")
    assert "Authorization" not in seen[0].headers


def test_wrong_password_is_an_api_error_in_words_not_a_session_expiry() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return problem(401, "invalid_credentials", "Wrong login or password.")

    client = make_client(handler, signed_in=False)

    with pytest.raises(ApiError) as caught:
        client.login("ada", "nope")

    assert not isinstance(caught.value, SessionExpired)
    assert caught.value.status == 401
    assert caught.value.code == "invalid_credentials"
    assert "password don't match" in caught.value.message


def test_unverified_email_says_what_to_do() -> None:
    client = make_client(lambda r: problem(403, "email_not_verified", "Confirm first."), signed_in=False)

    with pytest.raises(ApiError, match="confirm your e-mail"):
        client.login("ada", "pw")


def test_calls_that_need_a_session_fail_fast_without_one() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    with pytest.raises(SessionExpired):
        make_client(handler, signed_in=False).me()


# ---------------------------------------------------------------------------------------------- refresh
class RotatingServer:
    """Accepts only the newest access token; refresh rotates the pair and kills the old refresh token."""

    def __init__(self) -> None:
        self.generation = 1
        self.refresh_calls = 0
        self.lock = threading.Lock()
        self.refresh_delay = 0.0  # widens the window in which a second thread could refresh too

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/auth/refresh":
            time.sleep(self.refresh_delay)
            with self.lock:
                self.refresh_calls += 1
                if json.loads(request.content)["refresh_token"] != f"refresh-{self.generation}":
                    return problem(401, "invalid_refresh_token")
                self.generation += 1
                return httpx.Response(
                    200,
                    json={"access_token": f"access-{self.generation}", "refresh_token": f"refresh-{self.generation}"},
                )
        if request.headers.get("Authorization") != f"Bearer access-{self.generation}":
            return problem(401, "invalid_token")
        return httpx.Response(200, json=PROFILE)


def test_an_expired_access_token_is_refreshed_once_and_the_request_retried() -> None:
    server = RotatingServer()
    server.generation = 2  # the stored access-1 is already stale
    store = MemoryTokenStore()
    store.save(SERVER, USER_ID, StoredTokens("access-1", "refresh-2"))
    client = ApiClient(SERVER, tokens=store, account=USER_ID, transport=httpx.MockTransport(server))

    assert client.me().username == "ada"

    assert server.refresh_calls == 1
    assert store.load(SERVER, USER_ID) == StoredTokens("access-3", "refresh-3")


def test_concurrent_401s_rotate_the_refresh_token_exactly_once() -> None:
    server = RotatingServer()
    server.refresh_delay = 0.05
    threads = 8
    barrier = threading.Barrier(threads)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization") == "Bearer access-1":
            barrier.wait(timeout=5)  # every thread holds the stale token before anyone refreshes
            server.generation = max(server.generation, 2)
        return server(request)

    store = MemoryTokenStore()
    store.save(SERVER, USER_ID, StoredTokens("access-1", "refresh-2"))
    client = ApiClient(SERVER, tokens=store, account=USER_ID, transport=httpx.MockTransport(handler))

    with ThreadPoolExecutor(threads) as pool:
        profiles = list(pool.map(lambda _: client.me(), range(threads)))

    assert [p.username for p in profiles] == ["ada"] * threads
    assert server.refresh_calls == 1


def test_a_refused_refresh_signs_out_and_forgets_the_tokens() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/auth/refresh":
            return problem(401, "invalid_refresh_token", "The refresh token is invalid; sign in again.")
        return problem(401, "session_revoked")

    store = MemoryTokenStore()
    client = make_client(handler, store)

    with pytest.raises(SessionExpired):
        client.me()

    assert store.load(SERVER, USER_ID) is None
    assert not client.signed_in


def test_a_401_after_a_successful_refresh_is_a_session_expiry_not_a_loop() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == "/api/v1/auth/refresh":
            return httpx.Response(200, json={"access_token": "access-2", "refresh_token": "refresh-2"})
        return problem(401, "session_revoked")

    with pytest.raises(SessionExpired):
        make_client(handler).me()

    assert calls == ["/api/v1/me", "/api/v1/auth/refresh", "/api/v1/me"]


def test_an_unreachable_server_during_refresh_keeps_the_tokens() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/auth/refresh":
            raise httpx.ConnectError("connection refused")
        return problem(401, "invalid_token")

    store = MemoryTokenStore()

    with pytest.raises(ServerUnreachable):
        make_client(handler, store).me()

    assert store.load(SERVER, USER_ID) == StoredTokens("access-1", "refresh-1")


def test_logout_forgets_the_tokens_even_when_the_server_is_down() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    store = MemoryTokenStore()
    client = make_client(handler, store)

    client.logout()

    assert store.load(SERVER, USER_ID) is None
    assert client.account is None


# ---------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "error", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("bad")]
)
def test_transport_failures_are_server_unreachable(error: Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    with pytest.raises(ServerUnreachable) as caught:
        make_client(handler).list_tickets()

    assert caught.value.status == 0
    assert caught.value.is_transient
    assert "Can't reach" in caught.value.message


def test_validation_errors_carry_field_errors() -> None:
    errors = [{"field": "password", "message": "Use at least 12 characters.", "source": "body"}]

    def handler(request: httpx.Request) -> httpx.Response:
        return problem(422, "weak_password", "Use at least 12 characters.", errors=errors)

    client = make_client(handler, signed_in=False)

    with pytest.raises(ApiError) as caught:
        client.register(name="A", email="a@example.com", username="a", password="short", age_confirmed=True)

    assert caught.value.code == "weak_password"
    assert caught.value.field_errors[0].field == "password"
    assert caught.value.field_errors[0].message == "Use at least 12 characters."
    assert caught.value.is_client_error


@pytest.mark.parametrize(("header", "expected"), [("12", 12.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0), ("soon", None)])
def test_retry_after_is_parsed(header: str, expected: float | None) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        response = problem(429, "rate_limited", "Slow down.")
        response.headers["Retry-After"] = header
        return response

    with pytest.raises(ApiError) as caught:
        make_client(handler).list_tickets()

    assert caught.value.retry_after == expected
    assert caught.value.is_transient


def test_quota_exceeded_has_plan_reset_date_and_upgrade_hint() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return problem(
            402,
            "quota_exceeded",
            "You have used all 20 AI answers of the Free plan for this period; they reset on 2026-12-01.",
            plan="free",
            quota=20,
            used=20,
            resets_at="2026-12-01T00:00:00Z",
            upgrade_url="/api/v1/billing/checkout",
            upgrade_plans=["pro", "team"],
        )

    with pytest.raises(QuotaExceeded) as caught:
        make_client(handler).resolve(TICKET["id"])

    assert caught.value.plan == "free"
    assert caught.value.resets_at == datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
    assert caught.value.quota == 20
    assert caught.value.upgrade_plans == ["pro", "team"]
    assert caught.value.can_upgrade
    assert caught.value.status == 402


def test_an_error_page_that_is_not_json_still_gets_a_sentence() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad Gateway</html>")

    with pytest.raises(ApiError) as caught:
        make_client(handler).list_tickets()

    assert caught.value.status == 502
    assert caught.value.message == "Something went wrong on the server. Please try again later."


def test_an_unknown_code_shows_the_servers_detail() -> None:
    with pytest.raises(ApiError, match=r"Tickets are closed on Sundays\."):
        make_client(lambda r: problem(400, "sunday", "Tickets are closed on Sundays.")).list_tickets()


def test_an_answer_that_is_not_ours_is_reported_not_crashed_on() -> None:
    with pytest.raises(ApiError) as caught:
        make_client(lambda r: httpx.Response(200, text="<html>router login</html>")).me()

    assert caught.value.code == "unexpected_response"


def test_billing_disabled_is_a_409_with_its_code() -> None:
    with pytest.raises(ApiError) as caught:
        make_client(lambda r: problem(409, "billing_disabled", "No Stripe.")).checkout_url("pro")

    assert caught.value.code == "billing_disabled"
    assert caught.value.message == "Subscriptions are not available on this server."


def test_redirects_are_not_followed_so_the_token_stays_on_our_server() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://evil.test/steal"})

    with pytest.raises(ApiError):
        make_client(handler).me()

    assert seen == [f"{SERVER}/api/v1/me"]


# ---------------------------------------------------------------------------------------------- tickets
def _multipart_parts(request: httpx.Request) -> list[Any]:
    raw = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode() + request.content
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    return list(message.iter_parts())


def test_create_ticket_sends_a_multipart_with_fields_device_json_and_screenshots() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return httpx.Response(201, json=TICKET)

    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    question = Question(
        description="Printer says offline — ü",
        attachments=(Attachment("one.png", png, "image/png"), Attachment("two.webp", b"RIFFxxxxWEBP", "image/webp")),
        priority="high",
        category="printer",
        device={"os": "Linux", "ram_gb": 16},
    )

    ticket = make_client(handler).create_ticket(question, idempotency_key="key-123")

    assert str(ticket.id) == TICKET["id"]
    request = seen[0]
    assert request.method == "POST"
    assert request.url.path == "/api/v1/tickets"
    assert request.headers["Idempotency-Key"] == "key-123"
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    parts = {
        (p.get_param("name", header="content-disposition"), p.get_filename()): p for p in _multipart_parts(request)
    }
    assert parts[("description", None)].get_payload(decode=True).decode() == "Printer says offline — ü"
    assert parts[("priority", None)].get_payload(decode=True) == b"high"
    assert parts[("category", None)].get_payload(decode=True) == b"printer"
    device = parts[("device", None)]
    assert device.get_content_type() == "application/json"
    assert json.loads(device.get_payload(decode=True)) == {"os": "Linux", "ram_gb": 16}
    assert parts[("screenshots", "one.png")].get_content_type() == "image/png"
    assert parts[("screenshots", "one.png")].get_payload(decode=True) == png
    assert parts[("screenshots", "two.webp")].get_content_type() == "image/webp"


def test_create_without_screenshots_is_still_multipart_with_a_fresh_key_each_time() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return httpx.Response(201, json=TICKET)

    client = make_client(handler)
    client.create_ticket(Question("It broke"))
    client.create_ticket(Question("It broke"))

    assert all(r.headers["Content-Type"].startswith("multipart/form-data") for r in seen)
    names = [p.get_param("name", header="content-disposition") for p in _multipart_parts(seen[0])]
    assert names == ["description"]
    keys = [r.headers["Idempotency-Key"] for r in seen]
    assert keys[0] != keys[1]
    assert all(uuid.UUID(k) for k in keys)


def test_list_and_get_tickets_decode_and_tolerate_new_fields() -> None:
    citation = {"article_id": "a1", "title": "Printer offline", "source_url": "https://kb.example.com/1"}
    detail = {
        **TICKET,
        "description": "Printer offline",
        "device": {"os": "Linux"},
        "screenshot_count": 1,
        "messages": [
            {
                "id": str(uuid.uuid4()),
                "role": "assistant",
                "content": "Try [1]",
                "citations": [citation],
                "created_at": "2026-11-27T10:00:01Z",
                "new": 1,
            }
        ],
        "screenshots": [
            {
                "index": 0,
                "url": "/api/v1/tickets/x/screenshots/0",
                "media_type": "image/png",
                "width": 8,
                "height": 8,
                "size": 99,
            }
        ],
        "history": [{"at": "2026-11-27T10:00:00Z", "actor": "user", "field": "status", "from": None, "to": "open"}],
        "brand_new_field": [1, 2, 3],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/tickets":
            assert request.url.params["limit"] == "10"
            return httpx.Response(200, json={"items": [TICKET], "total": 1, "limit": 10, "offset": 0})
        return httpx.Response(200, json=detail)

    client = make_client(handler)

    page = client.list_tickets(limit=10)
    ticket = client.get_ticket(TICKET["id"])

    assert page.total == 1
    assert page.items[0].category == "printer"
    assert ticket.messages[0].content == "Try [1]"
    assert ticket.screenshots[0].url.endswith("/0")
    assert (ticket.history[0].field, ticket.history[0].from_, ticket.history[0].to) == ("status", None, "open")
    assert ticket.messages[0].citations[0].title == "Printer offline"
    assert ticket.device == {"os": "Linux"}


def test_ticket_ids_cannot_escape_their_route() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={**TICKET})

    make_client(handler).get_ticket("../../auth/logout")

    assert seen[0].url.raw_path == b"/api/v1/tickets/..%2F..%2Fauth%2Flogout"


def test_feedback_body() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(204)

    client = make_client(handler)
    client.send_feedback("t1", resolved=True)
    client.send_feedback("t1", resolved=False, comment="still offline")

    assert seen == [{"resolved": True}, {"resolved": False, "comment": "still offline"}]


# ---------------------------------------------------------------------------------------------- streaming
ANSWER = sse(
    ("triage", {"category": "printer", "priority": "normal", "category_by_ai": True, "priority_by_ai": False}),
    ("citation", {"number": 1, "article_id": "a1", "source_id": "s1", "title": "Printer offline", "source_url": None}),
    ("future_event", {"x": 1}),
    ("delta", {"text": "Turn it off "}),
    ("delta", {"text": "and on [1]."}),
    ("done", {"message_id": "m1"}),
)


def test_resolve_streams_typed_events_and_skips_unknown_ones() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=ANSWER, headers={"Content-Type": "text/event-stream"})

    events = list(make_client(handler).resolve("t1"))

    assert events == [
        TriageEvent(category="printer", priority="normal", category_by_ai=True, priority_by_ai=False),
        Citation(number=1, article_id="a1", source_id="s1", title="Printer offline", source_url=None),
        DeltaEvent(text="Turn it off "),
        DeltaEvent(text="and on [1]."),
        DoneEvent(message_id="m1"),
    ]
    assert seen[0].url.path == "/api/v1/tickets/t1/resolve"
    assert seen[0].headers["Accept"] == "text/event-stream"


class ChunkedStream(httpx.SyncByteStream):
    """Yields the given chunks, then optionally fails like a dropped connection."""

    def __init__(self, chunks: list[bytes], fail: bool = False) -> None:
        self.chunks = chunks
        self.fail = fail
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.fail:
            raise httpx.ReadError("connection reset")

    def close(self) -> None:
        self.closed = True


def test_follow_up_streams_in_tiny_chunks_and_sends_the_content() -> None:
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, stream=ChunkedStream([ANSWER[i : i + 3] for i in range(0, len(ANSWER), 3)]))

    events = list(make_client(handler).send_message("t1", "It is a Brother HL"))

    assert bodies == [{"content": "It is a Brother HL"}]
    assert "".join(e.text for e in events if isinstance(e, DeltaEvent)) == "Turn it off and on [1]."
    assert events[-1] == DoneEvent(message_id="m1")


def test_a_stream_that_stops_early_ends_with_an_error_event() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=sse(("delta", {"text": "Half"})))

    events = list(make_client(handler).resolve("t1"))

    assert events[-1] == ErrorEvent(
        code="stream_incomplete", message="The answer stopped before it was complete. Try again."
    )


def test_a_dropped_connection_mid_answer_raises_unreachable_and_closes_the_response() -> None:
    stream = ChunkedStream([sse(("delta", {"text": "Half"}))], fail=True)
    client = make_client(lambda r: httpx.Response(200, stream=stream))

    received: list[Any] = []

    def consume() -> None:
        received.extend(client.resolve("t1"))

    with pytest.raises(ServerUnreachable, match="connection dropped"):
        consume()

    assert received == [DeltaEvent(text="Half")]
    assert stream.closed


def test_an_error_event_does_not_end_the_stream_the_fallback_answer_follows() -> None:
    notice = {"code": "ai_unavailable", "message": "The AI is busy."}
    body = sse(("error", notice), ("delta", {"text": "From the KB"}), ("done", {"message_id": "m1"}))

    events = list(make_client(lambda r: httpx.Response(200, content=body)).resolve("t1"))

    assert events == [
        ErrorEvent(code="ai_unavailable", message="The AI is busy."),
        DeltaEvent(text="From the KB"),
        DoneEvent(message_id="m1"),
    ]


def test_a_stream_that_closes_after_the_servers_error_event_adds_no_second_error() -> None:
    body = sse(("error", {"code": "ai_unavailable", "message": "The AI is busy."}))

    events = list(make_client(lambda r: httpx.Response(200, content=body)).resolve("t1"))

    assert events == [ErrorEvent(code="ai_unavailable", message="The AI is busy.")]


def test_streams_refresh_an_expired_token_before_the_first_event() -> None:
    server = RotatingServer()
    server.generation = 2
    store = MemoryTokenStore()
    store.save(SERVER, USER_ID, StoredTokens("access-1", "refresh-2"))

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/resolve"):
            if request.headers["Authorization"] != f"Bearer access-{server.generation}":
                return problem(401, "invalid_token")
            return httpx.Response(200, content=ANSWER)
        return server(request)

    client = ApiClient(SERVER, tokens=store, account=USER_ID, transport=httpx.MockTransport(handler))

    events = list(client.resolve("t1"))

    assert events[-1] == DoneEvent(message_id="m1")
    assert server.refresh_calls == 1


def test_events_stream_yields_ticket_changes_with_their_kind() -> None:
    escalated = {
        "ticket_id": "t1",
        "kind": "changed",
        "changes": [{"field": "status", "from": "answered", "to": "escalated"}],
    }
    body = (
        b": keep-alive\n\n"
        + sse(("message", {"ticket_id": "t1", "message_id": "m9", "role": "agent"}))
        + sse(("ticket", escalated))
    )

    changes = list(make_client(lambda r: httpx.Response(200, content=body)).events())

    assert [(c.kind, c.ticket_id, c.role, c.new_status) for c in changes] == [
        ("message", "t1", "agent", None),  # kind from the SSE event name when the data has none
        ("changed", "t1", None, "escalated"),
    ]


# ---------------------------------------------------------------------------------------------- billing
def test_subscription_plans_and_checkout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/plans"):
            plans = [
                {"key": "free", "name": "Free", "price": "0", "quota": 20, "paid": False},
                {"key": "pro", "name": "Pro", "price": "9 EUR/month", "quota": 500, "paid": True},
            ]
            return httpx.Response(200, json={"billing_enabled": True, "plans": plans})
        if path.endswith("/subscription"):
            return httpx.Response(
                200,
                json={
                    "plan": "free",
                    "status": "active",
                    "current_period_end": "2026-12-01T00:00:00Z",
                    "cancel_at_period_end": False,
                    "usage": 3,
                    "quota": 20,
                    "plan_name": "Free",
                    "resets_at": "2026-12-01T00:00:00Z",
                    "billing_enabled": True,
                },
            )
        assert json.loads(request.content or b"null") in ({"plan": "pro"}, None)
        return httpx.Response(200, json={"url": "https://checkout.stripe.test/c/1"})

    client = make_client(handler)

    catalogue = client.plans()
    assert catalogue.billing_enabled
    assert [(p.key, p.paid) for p in catalogue.plans] == [("free", False), ("pro", True)]
    subscription = client.subscription()
    assert (subscription.plan, subscription.usage, subscription.quota) == ("free", 3, 20)
    assert client.checkout_url("pro") == "https://checkout.stripe.test/c/1"
    assert client.portal_url() == "https://checkout.stripe.test/c/1"


def test_health_is_a_plain_dict_and_needs_no_session() -> None:
    client = make_client(
        lambda r: httpx.Response(200, json={"status": "ok", "kb": {"articles": 3130}}), signed_in=False
    )

    assert client.health()["kb"] == {"articles": 3130}


def test_a_compressed_event_stream_is_decoded() -> None:
    compressor = zlib.compressobj(wbits=31)  # gzip framing
    body = compressor.compress(ANSWER) + compressor.flush()
    mid = len(body) // 2

    def handler(request: httpx.Request) -> httpx.Response:
        stream = ChunkedStream([body[:mid], body[mid:]])
        return httpx.Response(200, stream=stream, headers={"Content-Encoding": "gzip"})

    events = list(make_client(handler).resolve("t1"))

    assert events[-1] == DoneEvent(message_id="m1")


def test_a_server_behind_a_path_prefix_keeps_its_prefix() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json=PROFILE)

    store = MemoryTokenStore()
    store.save("https://proxy.test/techpal", USER_ID, StoredTokens("a", "r"))
    client = ApiClient(
        "https://proxy.test/techpal/", tokens=store, account=USER_ID, transport=httpx.MockTransport(handler)
    )

    client.me()

    assert seen == ["/techpal/api/v1/me"]


def test_the_user_agent_names_the_app_and_its_version() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["User-Agent"])
        return httpx.Response(200, json={"status": "ok"})

    make_client(handler, signed_in=False).health()

    assert re.fullmatch(r"TechPal-Desktop/\d+\.\d+\.\d+\S*", seen[0])


class BlockingStream(httpx.SyncByteStream):
    """Sends one event, then blocks like a server still thinking, until closed."""

    def __init__(self) -> None:
        self.closed = threading.Event()
        self.first_sent = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        yield sse(("delta", {"text": "Thinking"}))
        self.first_sent.set()
        self.closed.wait(timeout=5)
        raise httpx.ReadError("connection closed by the client")

    def close(self) -> None:
        self.closed.set()


def test_closing_a_stream_from_another_thread_ends_the_iteration_quietly() -> None:
    stream_body = BlockingStream()
    events = make_client(lambda r: httpx.Response(200, stream=stream_body)).resolve("t1")
    received: list[Any] = []
    worker = threading.Thread(target=lambda: received.extend(events))

    worker.start()
    assert stream_body.first_sent.wait(timeout=5)
    events.close()  # the user closed the chat window
    worker.join(timeout=5)

    assert not worker.is_alive()
    assert received == [DeltaEvent(text="Thinking")]
    assert events.cancelled
    assert stream_body.closed.is_set()


def test_a_stream_used_as_a_context_manager_releases_the_connection() -> None:
    stream_body = ChunkedStream([ANSWER])

    with make_client(lambda r: httpx.Response(200, stream=stream_body)).resolve("t1") as events:
        first = next(events)

    assert isinstance(first, TriageEvent)
    assert stream_body.closed
