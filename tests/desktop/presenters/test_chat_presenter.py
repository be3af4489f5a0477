"""ChatPresenter against the fake tickets API over real sockets: ask, stream, feedback, and every failure in words."""

from __future__ import annotations

import io
import json
import threading
from typing import TYPE_CHECKING

import msgspec
import pytest
from PIL import Image

from desktop.core.api import ApiClient, QuotaExceeded
from desktop.core.auth import MemoryTokenStore, StoredTokens
from desktop.core.chat import ChatState
from desktop.core.offline_queue import OfflineQueue, QueuedQuestion
from desktop.presenters.chat_presenter import (
    NOTICE_TEXT,
    OFFLINE_QUEUED_TEXT,
    SEED_ATTRIBUTION,
    ChatPresenter,
    FeedbackState,
)
from desktop.services.offline_sender import OfflineSender
from tests.fixtures.fake_server import ACCOUNT, FakeServer, Gate, Sse, answer_script

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pytestqt.qtbot import QtBot

WAIT_MS = 5000
SEED_CITATION = {
    "number": 1,
    "article_id": "a1",
    "source_id": "sa-123",
    "title": "Fix Wi-Fi drops",
    "source_url": "https://github.com/MicrosoftDocs/SupportArticles-docs/blob/main/support/wifi.md",
}
OWN_CITATION = {"number": 2, "article_id": "a2", "source_id": None, "title": "Our VPN guide", "source_url": None}


def png(color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A small real PNG, as the capture presenter would hand over."""
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def queue(tmp_path: Path, fake_server: FakeServer) -> OfflineQueue:
    return OfflineQueue(tmp_path / "outbox", fake_server.url, ACCOUNT)


@pytest.fixture
def chat(qtbot: QtBot, signed_in_client: ApiClient, queue: OfflineQueue) -> Iterator[ChatPresenter]:
    presenter = ChatPresenter(signed_in_client, queue=queue, device_details=lambda: {"os": "Linux"})
    try:
        yield presenter
    finally:
        presenter.shutdown()


def wait_for_state(qtbot: QtBot, chat: ChatPresenter, state: ChatState) -> None:
    qtbot.waitUntil(lambda: chat.state is state, timeout=WAIT_MS)


def ask_while_offline(qtbot: QtBot, chat: ChatPresenter, fake_server: FakeServer, text: str) -> QueuedQuestion:
    """Stop the server, ask, and wait until the question is queued on disk; returns the queued entry."""
    fake_server.stop()
    with qtbot.wait_signal(chat.queued, timeout=WAIT_MS) as queued:
        chat.send(text)
    wait_for_state(qtbot, chat, ChatState.FAILED)
    entry: QueuedQuestion = queued.args[0]
    return entry


def test_a_question_with_a_screenshot_becomes_a_ticket_and_the_answer_arrives(
    qtbot: QtBot, chat: ChatPresenter, fake_server: FakeServer
) -> None:
    # GIVEN a scripted answer with a seed citation and our own article
    fake_server.script_resolve(
        answer_script("Restart the **router** [1].", " Then reconnect.", citations=[SEED_CITATION, OWN_CITATION])
    )
    image = png()
    chat.attach(image, "image/png")

    # WHEN the user sends the question
    with qtbot.wait_signal(chat.draft_cleared, timeout=WAIT_MS):
        chat.send("My Wi-Fi keeps dropping")

    # THEN one ticket holds the text, the screenshot bytes and the device details
    (ticket,) = fake_server.tickets
    assert ticket.description == "My Wi-Fi keeps dropping"
    assert [(media, data) for _, media, data in ticket.screenshots] == [("image/png", image)]
    assert ticket.device == {"os": "Linux"}
    assert chat.state is ChatState.DONE
    assert chat.session.messages[-1].text == "Restart the **router** [1]. Then reconnect."
    html = chat.transcript_html()
    assert "<strong>router</strong>" in html
    assert html.index("My Wi-Fi keeps dropping") < html.index("router") < html.index("Fix Wi-Fi drops")
    assert f'href="{SEED_CITATION["source_url"]}"' in html
    assert html.count(SEED_ATTRIBUTION) == 1  # the seed article only, not our own one
    assert chat.attachments == []
    assert chat.feedback_state is FeedbackState.READY


def test_a_follow_up_goes_to_the_same_ticket(qtbot: QtBot, chat: ChatPresenter, fake_server: FakeServer) -> None:
    with qtbot.wait_signal(chat.draft_cleared, timeout=WAIT_MS):
        chat.send("Printer offline")
    assert chat.is_follow_up

    with qtbot.wait_signal(chat.draft_cleared, timeout=WAIT_MS):
        chat.send("It still is")

    (ticket,) = fake_server.tickets
    (follow_up,) = fake_server.requests_to("POST", "/messages")
    assert json.loads(follow_up.body) == {"content": "It still is"}
    assert follow_up.path == f"/api/v1/tickets/{ticket.id}/messages"
    assert [m.text for m in chat.session.messages] == [
        "Printer offline",
        "Restart the router.",
        "It still is",
        "Then check the cable.",
    ]


def test_an_error_event_is_a_notice_and_the_knowledge_base_answer_follows(
    qtbot: QtBot, chat: ChatPresenter, fake_server: FakeServer
) -> None:
    fake_server.script_resolve(answer_script("Try article [1].", notice="model down", citations=[SEED_CITATION]))

    with qtbot.wait_signal(chat.notice_changed, timeout=WAIT_MS) as notice:
        chat.send("Outlook crashes")
    wait_for_state(qtbot, chat, ChatState.DONE)

    assert notice.args == [NOTICE_TEXT]
    assert chat.error_text == ""
    assert chat.session.messages[-1].text == "Try article [1]."


def test_a_note_is_shown_and_the_answer_completes(qtbot: QtBot, chat: ChatPresenter, fake_server: FakeServer) -> None:
    from server.domain.resolution.services import AI_PROCESSING_OFF  # the note exactly as the server encodes it

    note = Sse("note", msgspec.to_builtins(AI_PROCESSING_OFF))
    fake_server.script_resolve([note, *answer_script("Restart the spooler.")])

    with qtbot.wait_signal(chat.notice_changed, timeout=WAIT_MS) as notice:
        chat.send("Printer offline")
    wait_for_state(qtbot, chat, ChatState.DONE)

    assert notice.args == [AI_PROCESSING_OFF.message]
    assert chat.notice_text == AI_PROCESSING_OFF.message
    assert chat.error_text == ""
    assert chat.session.messages[-1].text == "Restart the spooler."


def test_reading_your_screenshot_is_shown_while_the_answer_waits_and_goes_when_it_starts(
    qtbot: QtBot, chat: ChatPresenter, fake_server: FakeServer
) -> None:
    from server.domain.resolution.services import READING_SCREENSHOT  # the event exactly as the server encodes it

    started = threading.Event()
    progress = Sse("progress", msgspec.to_builtins(READING_SCREENSHOT))
    fake_server.script_resolve([progress, Gate(started), *answer_script("Reinstall the driver.")])

    with qtbot.wait_signal(chat.notice_changed, timeout=WAIT_MS) as shown:
        chat.send("Printer offline")
    waiting = chat.notice_text
    started.set()
    wait_for_state(qtbot, chat, ChatState.DONE)

    assert shown.args == ["Reading your screenshot…"]
    assert waiting == "Reading your screenshot…"
    assert chat.notice_text == ""
    assert chat.session.messages[-1].text == "Reinstall the driver."


def test_a_stream_that_stops_without_done_fails_and_keeps_the_question(
    qtbot: QtBot, chat: ChatPresenter, fake_server: FakeServer
) -> None:
    fake_server.script_resolve(answer_script("Half an ans", done=False))
    chat.attach(png(), "image/png")

    chat.send("VPN fails")
    wait_for_state(qtbot, chat, ChatState.FAILED)

    assert chat.error_text == "The answer stopped before it was complete. Try again."
    assert chat.session.draft_text == "VPN fails"
    assert len(chat.attachments) == 1


def test_an_exhausted_quota_shows_the_reset_date_keeps_the_text_and_offers_an_upgrade(
    qtbot: QtBot, chat: ChatPresenter, fake_server: FakeServer
) -> None:
    fake_server.fail(
        "resolve",
        402,
        "quota_exceeded",
        "Quota used",
        plan="free",
        quota=10,
        used=10,
        resets_at="2026-12-01T12:00:00Z",
        upgrade_plans=["pro"],
    )
    chat.attach(png(), "image/png")

    with qtbot.wait_signal(chat.quota_changed, timeout=WAIT_MS, check_params_cb=lambda q: q is not None) as shown:
        chat.send("Excel is slow")
    wait_for_state(qtbot, chat, ChatState.FAILED)

    quota = shown.args[0]
    assert isinstance(quota, QuotaExceeded)
    assert "You've used all 10 answers of the free plan" in chat.error_text
    assert "December 1, 2026" in chat.error_text
    assert chat.session.draft_text == "Excel is slow"
    assert len(chat.attachments) == 1
    with qtbot.wait_signal(chat.upgrade_requested, timeout=WAIT_MS) as upgrade:
        chat.request_upgrade()
    assert upgrade.args == ["pro"]

    # AND once the quota is fine again, Send asks for the answer of the same ticket (no second ticket)
    fake_server.heal("resolve")
    with qtbot.wait_signal(chat.draft_cleared, timeout=WAIT_MS):
        chat.send("Excel is slow")
    assert len(fake_server.tickets) == 1
    assert len(fake_server.requests_to("POST", "/resolve")) == 2


def test_a_validation_error_is_shown_next_to_the_field(
    qtbot: QtBot, chat: ChatPresenter, fake_server: FakeServer
) -> None:
    fake_server.fail(
        "create",
        422,
        "validation_error",
        "Invalid",
        errors=[{"field": "description", "message": "Use at most 5000 characters.", "source": "body"}],
    )

    with qtbot.wait_signal(chat.field_errors_changed, timeout=WAIT_MS, check_params_cb=bool) as errors:
        chat.send("x" * 10)
    wait_for_state(qtbot, chat, ChatState.FAILED)

    assert errors.args == [{"description": "Use at most 5000 characters."}]
    assert chat.session.draft_text == "x" * 10


def test_an_empty_question_is_refused_without_a_request(
    qtbot: QtBot, chat: ChatPresenter, fake_server: FakeServer
) -> None:
    with qtbot.wait_signal(chat.field_errors_changed, timeout=WAIT_MS) as errors:
        chat.send("   ")

    assert errors.args == [{"description": "Describe the problem first."}]
    assert fake_server.requests == []


def test_an_ended_session_asks_for_sign_in_and_keeps_the_question(
    qtbot: QtBot, fake_server: FakeServer, queue: OfflineQueue
) -> None:
    store = MemoryTokenStore()
    store.save(fake_server.url, ACCOUNT, StoredTokens("revoked", "revoked-refresh"))
    with ApiClient(fake_server.url, tokens=store, account=ACCOUNT) as api:
        chat = ChatPresenter(api, queue=queue)
        try:
            with qtbot.wait_signal(chat.sign_in_required, timeout=WAIT_MS):
                chat.send("Teams won't start")
            wait_for_state(qtbot, chat, ChatState.FAILED)
        finally:
            chat.shutdown()

    assert "sign in again" in chat.error_text
    assert chat.session.draft_text == "Teams won't start"
    assert len(queue) == 0  # a session problem is not an offline problem


def test_offline_question_is_queued_then_answered_when_the_server_is_back(
    qtbot: QtBot, chat: ChatPresenter, fake_server: FakeServer, queue: OfflineQueue, signed_in_client: ApiClient
) -> None:
    # GIVEN a screenshot attached; WHEN the user asks while the server is down
    image = png()
    chat.attach(image, "image/png")
    queued = ask_while_offline(qtbot, chat, fake_server, "Laptop won't connect")

    # THEN the question waits on disk with its key, and the window keeps text and screenshot
    assert chat.error_text == OFFLINE_QUEUED_TEXT
    (entry,) = queue.pending()
    assert entry.entry_id == queued.entry_id
    assert entry.question.description == "Laptop won't connect"
    assert [a.data for a in entry.question.attachments] == [image]
    assert entry.idempotency_key
    assert chat.session.draft_text == "Laptop won't connect"
    assert [a.data for a in chat.attachments] == [image]

    # WHEN the server is back and the sender drains the queue
    fake_server.start()
    sender = OfflineSender(queue, lambda q, key: signed_in_client.create_ticket(q, idempotency_key=key), interval_ms=0)
    sender.sent.connect(chat.on_queued_sent)
    try:
        with qtbot.wait_signal(chat.draft_cleared, timeout=WAIT_MS):
            sender.drain()
    finally:
        sender.stop()

    # THEN the ticket exists once, with the key it was queued with, and its answer streamed into the chat
    (ticket,) = fake_server.tickets
    assert ticket.idempotency_key == entry.idempotency_key
    assert chat.session.ticket_id == ticket.id
    assert chat.session.messages[-1].text == "Restart the router."
    assert len(queue) == 0


def test_a_queued_question_the_server_refuses_says_why_and_keeps_the_question(
    qtbot: QtBot, chat: ChatPresenter, fake_server: FakeServer, queue: OfflineQueue, signed_in_client: ApiClient
) -> None:
    # GIVEN a question with a screenshot queued while the server was down
    image = png()
    chat.attach(image, "image/png")
    refused = ask_while_offline(qtbot, chat, fake_server, "Printer jams on every page")

    # WHEN the server is back but refuses that question for good
    fake_server.start()
    fake_server.fail("create", 422, "description_rejected", "The description is not allowed.")
    sender = OfflineSender(queue, lambda q, key: signed_in_client.create_ticket(q, idempotency_key=key), interval_ms=0)
    sender.refused.connect(chat.on_queued_refused)
    try:
        with qtbot.wait_signal(chat.error_changed, timeout=WAIT_MS):
            sender.drain()
    finally:
        sender.stop()

    # THEN the chat says why instead of "will be sent", the text and screenshot stay in the draft, and the refused
    # copy (never to be sent again) leaves the outbox
    assert chat.error_text == "A question you asked while offline was not sent: The description is not allowed."
    assert chat.session.draft_text == "Printer jams on every page"
    assert [a.data for a in chat.attachments] == [image]
    assert chat.queued_entry is None
    qtbot.waitUntil(lambda: len(queue) == 0, timeout=WAIT_MS)

    # WHEN the user changes the question and sends it to a server that accepts it
    fake_server.heal("create")
    with qtbot.wait_signal(chat.draft_cleared, timeout=WAIT_MS):
        chat.send("Printer jams on every page since the update")

    # THEN one ticket, under a key of its own (not the refused question's)
    (ticket,) = fake_server.tickets
    assert ticket.idempotency_key != refused.idempotency_key


def test_sending_again_while_queued_reuses_the_queued_key_so_one_ticket_is_made(
    qtbot: QtBot, chat: ChatPresenter, fake_server: FakeServer, queue: OfflineQueue
) -> None:
    ask_while_offline(qtbot, chat, fake_server, "Disk full")
    (entry,) = queue.pending()

    fake_server.start()
    with qtbot.wait_signal(chat.draft_cleared, timeout=WAIT_MS):
        chat.send("Disk full")

    (ticket,) = fake_server.tickets
    assert ticket.idempotency_key == entry.idempotency_key
    qtbot.waitUntil(lambda: len(queue) == 0, timeout=WAIT_MS)  # the queued copy is gone


def test_feedback_buttons_call_the_api_and_update_the_state(
    qtbot: QtBot, chat: ChatPresenter, fake_server: FakeServer
) -> None:
    with qtbot.wait_signal(chat.draft_cleared, timeout=WAIT_MS):
        chat.send("Sound is gone")

    with qtbot.wait_signal(
        chat.feedback_changed, timeout=WAIT_MS, check_params_cb=lambda s: s == FeedbackState.ESCALATED
    ):
        chat.give_feedback(False)

    (ticket,) = fake_server.tickets
    assert ticket.feedback == [{"resolved": False}]
    assert ticket.status == "escalated"
    chat.give_feedback(True)  # a second answer is not sent: the row has moved on
    assert chat.feedback_state is FeedbackState.ESCALATED


def test_failed_feedback_says_so_and_lets_the_user_try_again(
    qtbot: QtBot, chat: ChatPresenter, fake_server: FakeServer
) -> None:
    with qtbot.wait_signal(chat.draft_cleared, timeout=WAIT_MS):
        chat.send("Sound is gone")
    fake_server.fail("feedback", 503, "service_unavailable")

    with qtbot.wait_signal(chat.error_changed, timeout=WAIT_MS, check_params_cb=bool) as error:
        chat.give_feedback(True)

    assert error.args[0].startswith("Your feedback was not sent:")
    assert chat.feedback_state is FeedbackState.READY


def test_open_ticket_loads_the_history_and_sends_follow_ups(
    qtbot: QtBot, chat: ChatPresenter, fake_server: FakeServer
) -> None:
    ticket_id = fake_server.add_ticket(
        "Old printer problem", [("user", "Old printer problem"), ("assistant", "Use **driver** 2.")]
    )

    with qtbot.wait_signal(chat.transcript_changed, timeout=WAIT_MS, check_params_cb=lambda h: "driver" in h):
        chat.open_ticket(ticket_id)
    assert chat.is_follow_up

    with qtbot.wait_signal(chat.draft_cleared, timeout=WAIT_MS):
        chat.send("Still jams")

    assert fake_server.requests_to("POST", f"/tickets/{ticket_id}/messages")
    assert fake_server.requests_to("POST", "/resolve") == []


def test_attachments_are_limited_and_removable(qtbot: QtBot, chat: ChatPresenter) -> None:
    for shade in range(5):
        chat.attach(png((shade, 0, 0)), "image/png")
    with qtbot.wait_signal(chat.field_errors_changed) as refused:
        chat.attach(png(), "image/png")
    assert "At most 5" in refused.args[0]["screenshots"]

    with qtbot.wait_signal(chat.attachments_changed) as changed:
        chat.remove_attachment(0)
    assert len(changed.args[0]) == 4
    chat.new_conversation()
    assert chat.attachments == []
    with qtbot.wait_signal(chat.field_errors_changed) as wrong_type:
        chat.attach(b"GIF89a", "image/gif")
    assert "PNG, JPEG or WebP" in wrong_type.args[0]["screenshots"]
