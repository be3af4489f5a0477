"""End to end with the real server app (uvicorn, embedded PostgreSQL, the fake OpenAI-compatible model).

The desktop side is the real ``ApiClient`` in real worker threads behind ``ChatPresenter``: sign in through the
register/verify/login flow, ask with a screenshot, read the streamed answer, give feedback, ask a follow-up.
"""

from __future__ import annotations

import contextlib
import io
import threading
import time
from typing import TYPE_CHECKING

import httpx
import pytest
import uvicorn
from PIL import Image

from desktop.core.api import ApiClient
from desktop.core.auth import MemoryTokenStore
from desktop.core.chat import ChatState
from desktop.core.offline_queue import OfflineQueue
from desktop.presenters.chat_presenter import OFFLINE_QUEUED_TEXT, ChatPresenter, FeedbackState
from desktop.services.offline_sender import OfflineSender
from server.app import create_app
from server.settings import AISettings, Secret, Settings
from tests.fixtures.auth import TEST_PASSWORD
from tests.fixtures.mail import Mailbox, link_token
from tests.fixtures.server import LiveServer, serve

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pytestqt.qtbot import QtBot

    from tests.fixtures.openai_api import FakeOpenAI

# The server fixtures (database, mail) are async; anyio runs them for this synchronous Qt test.
pytestmark = pytest.mark.usefixtures("anyio_backend")

WAIT_MS = 20_000


@pytest.fixture
def ai_settings(settings: Settings, openai_server: FakeOpenAI) -> Settings:
    """The test's server settings with a chat model (the fake)."""
    ai = AISettings(base_url=openai_server.base_url, api_key=Secret("sk-test"), model="gpt-test", timeout=5)
    return settings.replace(ai=ai)


@pytest.fixture
def live(ai_settings: Settings) -> Iterator[LiveServer]:
    """The server app on a real socket."""
    with serve(ai_settings) as server:
        yield server


@pytest.fixture
def api(live: LiveServer, mailbox: Mailbox) -> Iterator[ApiClient]:
    """Signed in the way the app signs in: register, open the mailed link, log in (tokens in memory)."""
    with ApiClient(live.url, tokens=MemoryTokenStore()) as client:
        email = "desk@example.com"
        client.register(name="Desk Top", email=email, username="desk", password=TEST_PASSWORD, age_confirmed=True)
        mail = [m for m in mailbox.messages() if m["To"] == email][-1]
        client.verify_email(link_token(mail, "verify-email"))
        client.login(email, TEST_PASSWORD, device_name="pytest desktop")
        yield client


@contextlib.contextmanager
def serve_on(settings: Settings, port: int) -> Iterator[None]:
    """The app served again on a known port: the server coming back where the desktop expects it."""
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the server did not start again"
        assert time.monotonic() < deadline, "the server did not start again in time"
        time.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def screenshot() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 200), (30, 60, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_ask_with_a_screenshot_stream_the_answer_give_feedback_and_follow_up(
    qtbot: QtBot, api: ApiClient, live: LiveServer, openai_server: FakeOpenAI, tmp_path: Path
) -> None:
    assert api.account is not None
    chat = ChatPresenter(api, queue=OfflineQueue(tmp_path / "outbox", api.server_url, api.account))
    try:
        # GIVEN a model that answers with Markdown
        openai_server.reply = "Turn **Wi-Fi power saving** off, then reconnect."
        chat.attach(screenshot(), "image/png")

        # WHEN the user asks
        with qtbot.wait_signal(chat.draft_cleared, timeout=WAIT_MS):
            chat.send("My Wi-Fi drops every few minutes")

        # THEN the ticket exists on the server with the screenshot, and the answer is the model's
        assert chat.state is ChatState.DONE
        ticket_id = chat.session.ticket_id
        assert ticket_id is not None
        stored = api.get_ticket(ticket_id)
        assert stored.screenshot_count == 1
        assert stored.messages[-1].content == openai_server.reply
        assert chat.session.messages[-1].text == openai_server.reply
        assert "<strong>Wi-Fi power saving</strong>" in chat.transcript_html()

        # WHEN the user asks a follow-up THEN it lands in the same ticket
        openai_server.reply = "Then update the adapter driver."
        with qtbot.wait_signal(chat.draft_cleared, timeout=WAIT_MS):
            chat.send("It still drops")
        assert [m.role for m in api.get_ticket(ticket_id).messages][-2:] == ["user", "assistant"]

        # WHEN they say "Still broken" THEN the server escalates the ticket
        with qtbot.wait_signal(
            chat.feedback_changed, timeout=WAIT_MS, check_params_cb=lambda s: s == FeedbackState.ESCALATED
        ):
            chat.give_feedback(False)
        assert api.get_ticket(ticket_id).status == "escalated"
    finally:
        chat.shutdown()
    assert httpx.get(f"{live.url}/health").status_code == 200


def test_a_question_asked_while_the_server_is_down_arrives_once_when_it_is_back(
    qtbot: QtBot, ai_settings: Settings, mailbox: Mailbox, openai_server: FakeOpenAI, tmp_path: Path
) -> None:
    with contextlib.ExitStack() as stack:
        # GIVEN a signed-in app whose server then stops
        with serve(ai_settings) as first_run:
            api = stack.enter_context(ApiClient(first_run.url, tokens=MemoryTokenStore()))
            email = "off@example.com"
            api.register(name="Off Line", email=email, username="off", password=TEST_PASSWORD, age_confirmed=True)
            api.verify_email(link_token([m for m in mailbox.messages() if m["To"] == email][-1], "verify-email"))
            api.login("off", TEST_PASSWORD)
        assert api.account is not None
        queue = OfflineQueue(tmp_path / "outbox", api.server_url, api.account)
        chat = ChatPresenter(api, queue=queue)
        stack.callback(chat.shutdown)

        # WHEN the user asks while it is down
        with qtbot.wait_signal(chat.queued, timeout=WAIT_MS):
            chat.send("Nothing loads")
        assert chat.error_text == OFFLINE_QUEUED_TEXT
        (entry,) = queue.pending()

        # AND the server comes back on its address, and the sender drains (twice: timer and health at once)
        openai_server.reply = "Restart the router."
        stack.enter_context(serve_on(ai_settings, int(api.server_url.rsplit(":", 1)[1])))
        sender = OfflineSender(queue, lambda q, key: api.create_ticket(q, idempotency_key=key), interval_ms=0)
        stack.callback(sender.stop)
        sender.sent.connect(chat.on_queued_sent)
        with qtbot.wait_signal(chat.draft_cleared, timeout=WAIT_MS):
            sender.drain()
            sender.drain()
        qtbot.waitUntil(lambda: not sender.busy, timeout=WAIT_MS)

        # THEN exactly one ticket arrived, and its answer streamed into the chat that asked
        page = api.list_tickets()
        assert [t.description for t in page.items] == ["Nothing loads"]
        assert chat.session.ticket_id == str(page.items[0].id)
        assert chat.session.messages[-1].text == "Restart the router."
        assert len(queue) == 0
        assert entry.idempotency_key
