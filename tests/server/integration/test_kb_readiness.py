"""A fresh ``techpal-server run`` reports its seed import truthfully from its very first ``/health`` answer."""

from __future__ import annotations

import json
import signal
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.fixtures.auth import TEST_PASSWORD
from tests.fixtures.mail import OutboxReader, link_token
from tests.fixtures.server import start_server_process
from tests.fixtures.tickets import parse_sse

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.slow


def _answer_mid_import(client: httpx.Client, outbox: OutboxReader) -> list[tuple[str, Any]]:
    """Register, verify, sign in, ask: the answer's events."""
    body = {"name": "Ada", "email": "ada@example.com", "username": "ada", "password": TEST_PASSWORD}
    assert client.post("/api/v1/auth/register", json=body | {"age_confirmed": True}).status_code == 201
    [mail] = [m for m in outbox.messages() if m["To"] == "ada@example.com"]
    client.post("/api/v1/auth/verify-email", json={"token": link_token(mail, "verify-email")}).raise_for_status()
    tokens = client.post("/api/v1/auth/login", json={"login": "ada", "password": TEST_PASSWORD}).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    ticket = client.post("/api/v1/tickets", files=[("description", (None, "Outlook keeps asking for my password"))],
                         headers=headers).json()  # fmt: skip
    return parse_sse(client.post(f"/api/v1/tickets/{ticket['id']}/resolve", headers=headers).text)


def test_health_is_ready_only_once_the_seed_import_is_done(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = start_server_process(data_dir)
    # (kb, status, asked for readiness) in order; plain and readiness requests alternate. Each body is one snapshot.
    seen: list[tuple[dict[str, Any], int, bool]] = []
    answer: list[tuple[str, Any]] = []
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline and not (seen and seen[-1][0]["state"] == "ready" and seen[-1][2]):
                readiness = len(seen) % 2 == 1
                response = client.get("/health", params={"ready": "kb"} if readiness else None)
                kb = response.json()["kb"]
                seen.append((kb, response.status_code, readiness))
                if kb["state"] == "importing" and kb["done"] > 0 and not answer:
                    answer = _answer_mid_import(client, OutboxReader(data_dir / "outbox"))
                time.sleep(0.05)
            rejected = client.get("/health", params={"ready": "everything"})
    finally:
        server.stop(signal.SIGTERM)

    states = [kb["state"] for kb, _, _ in seen]
    order = {"pending": 0, "importing": 1, "ready": 2}
    assert states[0] in {"pending", "importing"}  # the very first answer already says "not ready"
    assert "importing" in states
    assert [order[s] for s in states] == sorted(order[s] for s in states), states  # never back, never "failed"
    for kb, status, readiness in seen:
        if kb["state"] == "ready":
            assert kb["done"] == kb["total"] > 3000  # "ready" only with the whole seed in
        assert status == (200 if not readiness or kb["state"] == "ready" else 503)
    assert {status for _, status, readiness in seen if readiness} == {200, 503}
    assert rejected.status_code == 422  # an unknown readiness target is a clear error, not a silent 200
    notes = [data for name, data in answer if name == "note"]
    assert [n["code"] for n in notes] == ["kb_loading"], json.dumps(answer)[:500]
    assert "% done" in notes[0]["message"]
    assert answer[-1][0] == "done"
