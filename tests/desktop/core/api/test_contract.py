"""The desktop's wire structs decode what the server's own response types encode.

The desktop never imports the server; its tests may, to catch drift between the two sides' field names before an
end-to-end run does.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import msgspec
import pytest

from desktop.core.api import models as wire
from desktop.core.api.responses import checked as _checked
from server.domain.resolution import schemas as events

NOW = datetime.datetime(2026, 11, 27, 10, 0, tzinfo=datetime.UTC)


def _roundtrip(server_value: Any, desktop_type: type[Any]) -> Any:
    return msgspec.json.decode(msgspec.json.encode(server_value), type=desktop_type)


def test_accounts() -> None:
    from server.domain.accounts import schemas

    pair = _roundtrip(schemas.TokenPair(access_token="a", refresh_token="r", expires_in=900), wire.TokenPair)
    profile = _roundtrip(
        schemas.Profile(
            id=uuid.uuid4(),
            name="Ada",
            username="ada",
            email="ada@example.com",
            email_verified=True,
            role="user",
            created_at=NOW,
        ),
        wire.Profile,
    )

    assert (pair.access_token, pair.refresh_token, pair.expires_in) == ("a", "r", 900)
    assert profile.username == "ada"


def test_sign_in_providers_and_two_step() -> None:
    from server.domain.accounts import schemas

    google = schemas.GoogleProvider(client_id="c", client_secret="s", issuer="https://accounts.google.com")
    providers = _roundtrip(schemas.Providers(google=google), wire.AuthProviders)
    none = _roundtrip(schemas.Providers(google=None), wire.AuthProviders)
    setup = _roundtrip(schemas.TotpSetup(secret="JBSWY3DP", otpauth_uri="otpauth://totp/x"), wire.TotpSetup)
    codes = _roundtrip(schemas.RecoveryCodes(recovery_codes=["abcde-fghij"]), wire.RecoveryCodes)
    profile = _roundtrip(
        schemas.Profile(
            id=uuid.uuid4(),
            name="Ada",
            username="ada",
            email="ada@example.com",
            email_verified=True,
            role="user",
            created_at=NOW,
            two_factor=True,
            has_password=False,
            google_linked=True,
        ),
        wire.Profile,
    )

    assert providers.google == wire.GoogleProvider(
        client_id="c", client_secret="s", issuer="https://accounts.google.com"
    )
    assert none.google is None
    assert (setup.secret, setup.otpauth_uri) == ("JBSWY3DP", "otpauth://totp/x")
    assert codes.recovery_codes == ["abcde-fghij"]
    assert (profile.two_factor, profile.has_password, profile.google_linked) == (True, False, True)


def test_tickets() -> None:
    from server.domain.tickets import schemas

    ticket_id = uuid.uuid4()
    summary = {
        "id": ticket_id,
        "status": "open",
        "priority": "normal",
        "category": None,
        "description": "Printer offline",
        "device": {"os": "Linux"},
        "screenshot_count": 1,
        "created_at": NOW,
        "updated_at": NOW,
    }
    detail = schemas.TicketDetail(
        **summary,
        messages=[
            schemas.Message(
                id=uuid.uuid4(),
                role="assistant",
                content="See [1]",
                citations=[msgspec.to_builtins(events.Citation(1, "a1", "sa-1", "Printer offline", None))],
                created_at=NOW,
            )
        ],
        screenshots=[schemas.Screenshot(index=0, url="/x/0", media_type="image/png", width=1, height=1, size=9)],
        history=[schemas.HistoryEntry(at=NOW, actor="user", field="status", from_=None, to="open")],
    )
    page = schemas.TicketPage(items=[schemas.TicketSummary(**summary)], total=1, limit=50, offset=0)

    decoded = _roundtrip(detail, wire.TicketDetail)
    decoded_page = _roundtrip(page, wire.TicketPage)

    assert decoded.id == ticket_id
    assert decoded.messages[0].citations[0].article_id == "a1"
    assert decoded.history[0].to == "open"
    assert decoded.screenshots[0].media_type == "image/png"
    assert decoded_page.items[0].screenshot_count == 1


def test_streamed_answer_events() -> None:
    samples = [
        events.Triage(category="printer", priority="high", category_by_ai=True, priority_by_ai=False),
        events.Citation(number=1, article_id="a1", source_id="s1", title="Printer offline", source_url=None),
        events.Delta(text="Restart it."),
        events.Failure(code="ai_unavailable", message="No model."),
    ]
    desktop_types = {"triage": wire.TriageEvent, "citation": wire.Citation, "delta": wire.DeltaEvent}
    desktop_types["error"] = wire.ErrorEvent

    decoded = [_roundtrip(event, desktop_types[events.EVENT_NAMES[type(event)]]) for event in samples]

    assert decoded == [
        wire.TriageEvent(category="printer", priority="high", category_by_ai=True, priority_by_ai=False),
        wire.Citation(number=1, article_id="a1", source_id="s1", title="Printer offline", source_url=None),
        wire.DeltaEvent(text="Restart it."),
        wire.ErrorEvent(code="ai_unavailable", message="No model."),
    ]


def test_billing() -> None:
    from server.domain.billing import schemas

    plans = schemas.Plans(
        billing_enabled=False,
        plans=[schemas.PlanOut(key="self_hosted", name="Self-hosted", price="0", quota=None, paid=False)],
    )
    subscription = schemas.Subscription(
        plan="free",
        plan_name="Free",
        status="active",
        current_period_end=None,
        cancel_at_period_end=False,
        usage=3,
        quota=20,
        resets_at=NOW,
        billing_enabled=True,
    )

    assert _roundtrip(plans, wire.PlanCatalogue).plans[0].quota is None
    assert _roundtrip(subscription, wire.Subscription).resets_at == NOW
    assert _roundtrip(schemas.RedirectUrl(url="https://x"), wire.UrlResponse).url == "https://x"


def test_the_quota_problem_becomes_quota_exceeded() -> None:
    import httpx

    from desktop.core.api.errors import QuotaExceeded
    from server.lib.errors import problem_response

    extra = {
        "plan": "free",
        "quota": 20,
        "used": 20,
        "resets_at": "2026-12-01T00:00:00Z",
        "upgrade_url": "/api/v1/billing/checkout",
        "upgrade_plans": ["pro"],
    }
    server_answer = problem_response(402, "quota_exceeded", "All used.", extra=extra)
    response = httpx.Response(402, content=msgspec.json.encode(server_answer.content))
    response.request = httpx.Request("POST", "http://x/api/v1/tickets/t/resolve")

    with pytest.raises(QuotaExceeded) as caught:
        _checked(response)

    assert caught.value.plan == "free"
    assert caught.value.upgrade_plans == ["pro"]
    assert caught.value.resets_at == datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)


def test_the_profile_with_its_switches_and_policy() -> None:
    from server.domain.accounts import schemas

    notice = schemas.PolicyNotice(
        version="2026-12", summary="We keep logs 90 days.", url="https://x/privacy", published_at=NOW, accepted=False
    )
    server_profile = schemas.Profile(
        id=uuid.uuid4(),
        name="Ada",
        username="ada",
        email="ada@example.com",
        email_verified=True,
        role="user",
        created_at=NOW,
        pending_email="new@example.com",
        kb_contribution=False,
        analytics=False,
        ai_processing=False,
        policy=notice,
    )

    profile = _roundtrip(server_profile, wire.Profile)
    unpublished = _roundtrip(msgspec.structs.replace(server_profile, policy=None), wire.Profile)

    assert profile.pending_email == "new@example.com"
    assert (profile.kb_contribution, profile.analytics, profile.ai_processing) == (False, False, False)
    assert profile.policy == wire.PolicyNotice(
        version="2026-12", summary="We keep logs 90 days.", url="https://x/privacy", published_at=NOW, accepted=False
    )
    assert unpublished.policy is None


def test_signed_in_devices() -> None:
    from server.domain.accounts import schemas

    session_id = uuid.uuid4()
    sessions = [
        schemas.SessionInfo(id=session_id, device_name="ada-laptop", created_at=NOW, last_used_at=NOW, current=True)
    ]

    decoded = _roundtrip(sessions, list[wire.DeviceSession])

    assert decoded == [
        wire.DeviceSession(id=session_id, device_name="ada-laptop", created_at=NOW, last_used_at=NOW, current=True)
    ]


def test_exports_and_deletion() -> None:
    from server.domain.accounts.schemas import DeletionScheduled
    from server.domain.privacy import schemas

    export_id = uuid.uuid4()
    later = NOW + datetime.timedelta(days=7)
    started = _roundtrip(schemas.ExportStarted(id=export_id, status="pending"), wire.ExportInfo)
    ready = _roundtrip(
        [schemas.ExportInfo(id=export_id, status="ready", created_at=NOW, expires_at=later, size_bytes=2048)],
        list[wire.ExportInfo],
    )
    scheduled = _roundtrip(DeletionScheduled(purge_after=later), wire.DeletionScheduled)

    assert (started.id, started.status, started.size_bytes) == (export_id, "pending", None)
    assert ready == [wire.ExportInfo(id=export_id, status="ready", created_at=NOW, expires_at=later, size_bytes=2048)]
    assert scheduled.purge_after == later


def test_the_requests_the_desktop_sends_are_what_the_server_reads() -> None:
    from server.domain.accounts import schemas as accounts
    from server.domain.privacy import schemas as privacy

    bodies = {  # exactly what ApiClient sends (tests/desktop/core/api/test_client_account.py checks it does)
        accounts.ChangePassword: {"current_password": "old secret", "new_password": "new secret"},
        accounts.ProfileUpdate: {"name": "Ada L.", "ai_processing": False, "analytics": True, "kb_contribution": False},
        accounts.DeleteAccount: {"password": "secret"},
        accounts.PolicyAccept: {"version": "2026-12"},
        privacy.RestoreAccount: {"login": "ada", "password": "secret"},
    }

    for server_type, body in bodies.items():
        decoded = msgspec.json.decode(msgspec.json.encode(body), type=server_type)
        assert msgspec.to_builtins(decoded) == body


def test_a_deleted_account_at_sign_in_becomes_account_deleted_with_its_purge_date() -> None:
    import httpx

    from desktop.core.api.errors import AccountDeleted
    from server.lib.errors import problem_response

    later = NOW + datetime.timedelta(days=30)
    server_answer = problem_response(403, "account_deleted", "Deleted.", extra={"purge_after": later.isoformat()})
    response = httpx.Response(403, content=msgspec.json.encode(server_answer.content))
    response.request = httpx.Request("POST", "http://x/api/v1/auth/login")

    with pytest.raises(AccountDeleted) as caught:
        _checked(response)

    assert caught.value.purge_after == later
    assert caught.value.status == 403


def test_the_usage_batch_is_what_the_server_reads_and_its_answer_what_the_desktop_reads() -> None:
    from typing import get_args

    from desktop.core import analytics as desktop
    from server.domain.analytics import schemas

    recorder = desktop.AnalyticsRecorder(app_version="0.1.0+local", platform_name="darwin")
    recorder.set_allowed(True)
    for name in desktop.EventName:
        recorder.record(name, 10**8 if name is desktop.EventName.ANSWER_RECEIVED else 3)
    batch = recorder.take_batch()
    assert batch is not None
    body = batch.as_json()

    # the server's schema forbids unknown fields: decoding proves every field is one it reads, within its bounds
    decoded = msgspec.json.decode(msgspec.json.encode(body), type=schemas.AnalyticsBatch)
    accepted = _roundtrip(schemas.Accepted(accepted=10), wire.AnalyticsAccepted)

    assert {e.value for e in desktop.EventName} == set(schemas.EVENT_NAMES)
    assert {f.value for f in desktop.OsFamily} == set(get_args(schemas.OsFamily))
    assert (desktop.MAX_BATCH, desktop.MAX_VALUE) == (schemas.MAX_EVENTS, schemas.MAX_VALUE)
    assert (decoded.session_id, decoded.app_version, decoded.os_family) == (batch.session_id, "0.1.0", "macos")
    assert [event.name for event in decoded.events] == [e.value for e in desktop.EventName]
    assert accepted.accepted == 10


def test_the_recorder_leaves_out_days_the_server_would_refuse() -> None:
    from desktop.core.analytics import MAX_AGE_DAYS
    from server.domain.analytics.services import DAYS_BACK

    assert MAX_AGE_DAYS < DAYS_BACK  # one day of margin for the local date's offset from the server's UTC day
