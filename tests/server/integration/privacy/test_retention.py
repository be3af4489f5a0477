"""Each retention rule removes exactly what is due at ``as_of`` and nothing else (one test per rule)."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import time
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import create_async_engine

from server.db.transactions import session_of_its_own
from server.domain.privacy import run_retention
from server.domain.privacy.retention import ADVISORY_LOCK_ID, RULES, retention_round
from server.lib.jobs import JobQueue, JobSpec, defer
from tests.fixtures.db import connect, query
from tests.fixtures.images import png_bytes
from tests.fixtures.tickets import create_ticket
from tests.server.integration.privacy.conftest import lifecycle_on_this_loop, login

if TYPE_CHECKING:
    from pathlib import Path

    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from server.app import TechPalApp
    from server.settings import Settings
    from tests.fixtures.auth import TestUser, UserFactory


def utcnow() -> datetime.datetime:
    """Now (each test reads it when it runs: xdist imports this module long before)."""
    return datetime.datetime.now(datetime.UTC)


async def removed_by(app: TechPalApp, rule_start: str) -> int:
    """Run every rule now; how many the rule whose description starts with ``rule_start`` removed."""
    async with lifecycle_on_this_loop(app) as life:
        results = await run_retention(life, utcnow())
    [count] = [r.removed for r in results if r.rule.startswith(rule_start)]
    return count


async def test_sessions_ended_30_days_ago_go(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, settings: Settings, app: TechPalApp
) -> None:
    for _ in range(3):
        await login(client, signed_in_user)
    old, recent, idle, live = [r["id"] for r in await query(settings, "SELECT id FROM user_sessions ORDER BY id")]
    await query(settings, "UPDATE user_sessions SET revoked_at = now() - interval '31 days' WHERE id = $1", old)
    await query(settings, "UPDATE user_sessions SET revoked_at = now() - interval '29 days' WHERE id = $1", recent)
    await query(settings, "UPDATE user_sessions SET last_used_at = now() - interval '61 days' WHERE id = $1", idle)

    assert await removed_by(app, "sessions") == 2

    assert {r["id"] for r in await query(settings, "SELECT id FROM user_sessions")} == {recent, live}


async def test_tokens_used_or_expired_30_days_ago_go(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, settings: Settings, app: TechPalApp
) -> None:
    await client.post("/api/v1/auth/refresh", json={"refresh_token": signed_in_user.refresh_token})  # one spent
    spent = "UPDATE refresh_tokens SET rotated_at = now() - interval '31 days' WHERE rotated_at IS NOT NULL"
    await query(settings, spent)
    # The verification token was used at registration; one more that expired long ago, one still valid.
    await query(settings, "UPDATE email_tokens SET used_at = now() - interval '31 days'")
    await client.post("/api/v1/auth/password-reset", json={"email": signed_in_user.email})
    await client.post("/api/v1/auth/password-reset", json={"email": signed_in_user.email})
    await query(
        settings,
        "UPDATE email_tokens SET expires_at = now() - interval '31 days' WHERE id = "
        "(SELECT id FROM email_tokens WHERE purpose = 'reset_password' ORDER BY id LIMIT 1)",
    )

    assert await removed_by(app, "sign-in and mail tokens") == 3

    assert len(await query(settings, "SELECT id FROM refresh_tokens")) == 1  # the live one
    assert len(await query(settings, "SELECT id FROM email_tokens")) == 1  # the valid reset token


async def test_rate_limit_windows_that_are_over_go(settings: Settings, app: TechPalApp) -> None:
    now = utcnow()
    insert = "INSERT INTO rate_counters (kind, key, window_start, count, blocked_until) VALUES ($1, $2, $3, 1, $4)"
    await query(settings, insert, "old", "a", now - datetime.timedelta(hours=25), None)
    await query(settings, insert, "current", "b", now - datetime.timedelta(hours=1), None)
    await query(settings, insert, "blocked", "c", now - datetime.timedelta(hours=30), now + datetime.timedelta(hours=1))

    assert await removed_by(app, "rate-limit windows") == 1

    assert {r["kind"] for r in await query(settings, "SELECT kind FROM rate_counters")} >= {"current", "blocked"}
    assert await query(settings, "SELECT kind FROM rate_counters WHERE kind = 'old'") == []


async def test_idempotency_keys_go_after_24_hours(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, settings: Settings, app: TechPalApp
) -> None:
    await create_ticket(client, signed_in_user, idempotency_key="old")
    await create_ticket(client, signed_in_user, idempotency_key="fresh")
    await query(settings, "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'old'")

    assert await removed_by(app, "idempotency keys") == 1

    assert [r["key"] for r in await query(settings, "SELECT key FROM idempotency_keys")] == ["fresh"]
    assert len(await query(settings, "SELECT id FROM tickets")) == 2  # the tickets themselves stay


async def test_failed_jobs_go_30_days_after_they_failed(settings: Settings, app: TechPalApp) -> None:
    assert settings.db.url is not None
    queue = JobQueue(settings.db.url.get_secret_value())

    async def fails(ticket_id: str) -> None:
        raise RuntimeError(ticket_id)

    queue.register(JobSpec("test.fails", fails, attempts=1))
    engine = create_async_engine(settings.db.url.get_secret_value())
    try:
        for name in ("old", "recent"):
            async with session_of_its_own(engine) as db:
                await defer(db, "test.fails", ticket_id=name)
    finally:
        await engine.dispose()
    await queue.work(until_idle=True)
    await query(
        settings,
        "UPDATE procrastinate_events SET at = now() - interval '31 days' "
        "WHERE job_id = (SELECT id FROM procrastinate_jobs WHERE args->>'ticket_id' = 'old')",
    )

    assert await removed_by(app, "background jobs that failed") == 1

    left = await query(settings, "SELECT args->>'ticket_id' AS ticket, status::text FROM procrastinate_jobs")
    assert [(r["ticket"], r["status"]) for r in left] == [("recent", "failed")]


async def test_exports_go_after_7_days_with_their_files(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, settings: Settings, app: TechPalApp
) -> None:
    old_owner, new_owner = await user_factory(), await user_factory()
    old = (await client.post("/api/v1/me/export", headers=old_owner.headers)).json()["id"]
    new = (await client.post("/api/v1/me/export", headers=new_owner.headers)).json()["id"]
    await query(
        settings,
        "UPDATE data_exports SET created_at = now() - interval '7 days 1 minute', "
        "expires_at = now() - interval '1 minute' WHERE id = $1::uuid",
        old,
    )

    assert await removed_by(app, "data exports") == 1

    assert [str(r["id"]) for r in await query(settings, "SELECT id FROM data_exports")] == [new]
    assert [p.stem for p in (settings.data_dir / "exports").iterdir()] == [new]


def _mail(outbox: Path, written: datetime.datetime) -> Path:
    path = outbox / f"{written:%Y%m%dT%H%M%S%f}Z-{written.microsecond:012x}.eml"
    path.write_bytes(b"To: someone@example.com\r\nSubject: x\r\n\r\nbody\r\n")
    return path


async def test_outbox_mails_go_after_30_days(settings: Settings, app: TechPalApp) -> None:
    now = utcnow()
    outbox = settings.data_dir / "outbox"
    outbox.mkdir(parents=True)
    old = _mail(outbox, now - datetime.timedelta(days=31))
    recent = _mail(outbox, now - datetime.timedelta(days=29))
    unrelated = outbox / "README"
    unrelated.write_text("not a mail")

    assert await removed_by(app, "outbox mails") == 1

    assert (old.exists(), recent.exists(), unrelated.exists()) == (False, True, True)


async def test_screenshot_files_no_ticket_refers_to_go_after_an_hour(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, settings: Settings, app: TechPalApp
) -> None:
    await create_ticket(client, signed_in_user, screenshots=[png_bytes(100, 80)])
    referenced = {k for r in await query(settings, "SELECT blob_key FROM ticket_screenshots") for k in r}
    store = app.context.storage
    orphan, fresh_orphan = "a" * 64, "b" * 64
    for key in (orphan, fresh_orphan):
        path = settings.data_dir / "blobs" / key[:2] / key[2:4] / key
        path.parent.mkdir(parents=True)
        path.write_bytes(b"left by a failed upload")
    two_hours_ago = time.time() - 7200
    for key in (orphan, *referenced):
        os.utime(settings.data_dir / "blobs" / key[:2] / key[2:4] / key, (two_hours_ago, two_hours_ago))

    assert await removed_by(app, "screenshot files") == 1

    assert not await store.exists(orphan)
    assert await store.exists(fresh_orphan)  # may belong to an upload whose row is not committed yet
    for key in referenced:
        assert await store.exists(key)


async def test_stripe_events_go_after_13_months(settings: Settings, app: TechPalApp) -> None:
    moment = utcnow()
    insert = (
        "INSERT INTO stripe_events (event_id, type, created, object, received_at, applied_at) "
        "VALUES ($1, 'invoice.paid', $2, $3::jsonb, now(), $4)"
    )
    month = 30 * 24 * 3600
    now = int(moment.timestamp())
    await query(settings, insert, "evt_old", now - 14 * month, json.dumps({}), moment)
    await query(settings, insert, "evt_year", now - 12 * month, json.dumps({}), moment)
    await query(settings, insert, "evt_unapplied", now - 14 * month, json.dumps({}), None)

    assert await removed_by(app, "Stripe events") == 1

    kept = {r["event_id"] for r in await query(settings, "SELECT event_id FROM stripe_events")}
    assert kept == {"evt_year", "evt_unapplied"}


async def test_one_process_at_a_time_runs_a_round(settings: Settings, app: TechPalApp) -> None:
    other_process = await connect(settings.db.url.get_secret_value())  # type: ignore[union-attr]
    try:
        await other_process.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_ID)
        async with lifecycle_on_this_loop(app) as life:
            assert await retention_round(life) is None  # another process is at it
            await other_process.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_ID)
            results = await retention_round(life)
    finally:
        await other_process.close()
    assert results is not None
    assert [r.rule for r in results] == [description for description, _ in RULES]


async def test_a_screenshot_an_upload_is_committing_is_not_removed(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, settings: Settings, app: TechPalApp
) -> None:
    ticket = (await create_ticket(client, signed_in_user)).json()
    key = "c" * 64  # an old file nothing refers to yet: the same bytes another upload is storing right now
    path = settings.data_dir / "blobs" / key[:2] / key[2:4] / key
    path.parent.mkdir(parents=True)
    path.write_bytes(b"the same screenshot")
    os.utime(path, (time.time() - 7200, time.time() - 7200))
    upload = await connect(settings.db.url.get_secret_value())  # type: ignore[union-attr]
    try:
        async with upload.transaction():  # what ticket creation does: the blob's lock, then its row
            await upload.execute(
                "SELECT pg_advisory_xact_lock(1953522284, ('x' || substr($1, 1, 8))::bit(32)::int)", key
            )
            await upload.execute(
                "INSERT INTO ticket_screenshots (id, ticket_id, position, blob_key, media_type, width, height, "
                "size_bytes, model_blob_key, model_media_type, created_at, updated_at) VALUES (gen_random_uuid(), "
                "$1::uuid, 0, $2, 'image/png', 10, 10, 19, $2, 'image/png', now(), now())",
                ticket["id"],
                key,
            )
            retention = asyncio.ensure_future(removed_by(app, "screenshot files"))
            await asyncio.sleep(0.5)
            assert not retention.done()  # it waits for the upload's lock
        assert await retention == 0
    finally:
        await upload.close()
    assert path.exists()


async def test_an_export_a_deletion_ended_early_counts_for_a_day(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, settings: Settings, app: TechPalApp
) -> None:
    await client.post("/api/v1/me/export", headers=signed_in_user.headers)
    await query(settings, "UPDATE data_exports SET expires_at = now() - interval '1 minute'")  # as a deletion does

    assert await removed_by(app, "data exports") == 0

    await query(settings, "UPDATE data_exports SET created_at = now() - interval '25 hours'")
    assert await removed_by(app, "data exports") == 1


async def test_sign_in_challenges_and_spent_nonces_go_when_done(
    settings: Settings, app: TechPalApp, signed_in_user: TestUser
) -> None:
    for age in ("- interval '1 minute'", "+ interval '4 minutes'"):
        await query(
            settings,
            "INSERT INTO login_challenges (id, user_id, token_hash, device_name, expires_at, created_at, updated_at) "
            f"VALUES (gen_random_uuid(), '{signed_in_user.id}', sha256(gen_random_uuid()::text::bytea), 'laptop', "
            f"now() {age}, now(), now()) RETURNING id",
        )
    for expiry in ("- interval '1 minute'", "+ interval '1 hour'"):
        await query(
            settings,
            "INSERT INTO oidc_nonces (nonce_hash, expires_at) "
            f"VALUES (sha256(gen_random_uuid()::text::bytea), now() {expiry}) RETURNING expires_at",
        )

    assert await removed_by(app, "sign-in and mail tokens") == 2  # the old challenge and the expired nonce

    assert len(await query(settings, "SELECT id FROM login_challenges")) == 1
    [nonce] = await query(settings, "SELECT expires_at FROM oidc_nonces")
    assert nonce["expires_at"] > utcnow()


async def test_api_usage_and_dead_api_keys_go_after_90_days(
    client: AsyncTestClient[Litestar], settings: Settings, app: TechPalApp, signed_in_user: TestUser
) -> None:
    made = []
    for name in ("live", "revoked long ago", "revoked lately", "expired long ago"):
        body = {"name": name, "scopes": ["kb:read"]}
        response = await client.post("/api/v1/me/api-keys", json=body, headers=signed_in_user.headers)
        made.append(response.json()["id"])
    live, revoked_old, revoked_new, expired_old = made
    old, recent = "now() - interval '91 days'", "now() - interval '89 days'"
    await query(settings, f"UPDATE api_keys SET revoked_at = {old} WHERE id = $1", revoked_old)
    await query(settings, f"UPDATE api_keys SET revoked_at = {recent} WHERE id = $1", revoked_new)
    await query(settings, f"UPDATE api_keys SET expires_at = {old} WHERE id = $1", expired_old)
    for at in (old, recent, "now()"):
        await query(
            settings,
            f"INSERT INTO api_key_usage (key_id, at, method, route, status, duration_ms) "
            f"VALUES ($1, {at}, 'GET', '/api/v1/kb/search', 200, 3)",
            live,
        )

    assert await removed_by(app, "API usage log") == 3  # one usage row, two keys

    assert {str(r["id"]) for r in await query(settings, "SELECT id FROM api_keys")} == {live, revoked_new}
    ages = await query(settings, "SELECT now() - at AS age FROM api_key_usage ORDER BY at")
    assert [r["age"].days for r in ages] == [89, 0]


async def test_analytics_older_than_13_months_go(settings: Settings, app: TechPalApp) -> None:
    insert = (
        "INSERT INTO analytics_sessions (id, day, app_version, os_family, seconds) "
        "VALUES (gen_random_uuid(), (now() - $1::interval)::date, '1.0.0', 'linux', 60) RETURNING id"
    )
    old = (await query(settings, insert, datetime.timedelta(days=400)))[0]["id"]
    kept = (await query(settings, insert, datetime.timedelta(days=300)))[0]["id"]
    for session in (old, kept):
        await query(
            settings,
            "INSERT INTO analytics_events (session_id, day, name) VALUES ($1, current_date, 'app_started')",
            session,
        )

    assert await removed_by(app, "anonymized app sessions") == 1

    assert [r["id"] for r in await query(settings, "SELECT id FROM analytics_sessions")] == [kept]
    assert [r["session_id"] for r in await query(settings, "SELECT session_id FROM analytics_events")] == [kept]
