"""What the user does records the right usage events, through the presenters as the windows drive them.

The chat runs against the fake server over real sockets; capture and redaction on fake views and real workers.
Every event is checked by name and number only, and the batch that would be sent holds nothing of the question,
the ticket or the screenshot.
"""

from __future__ import annotations

import datetime
import json
from typing import TYPE_CHECKING

import pytest
from PIL import Image
from PySide6.QtCore import QObject, Signal

from desktop.core.analytics import AnalyticsRecorder, EventName
from desktop.core.capture import MonitorArea, Screenshot
from desktop.core.chat import ChatState
from desktop.core.geometry import Rect
from desktop.core.offline_queue import OfflineQueue
from desktop.presenters.capture_presenter import CapturePresenter
from desktop.presenters.chat_presenter import ChatPresenter, FeedbackState
from desktop.presenters.redaction_presenter import RedactionPresenter
from desktop.services.capture.workers import ImageEncoder
from tests.fixtures.fake_server import ACCOUNT, FakeServer, Pause, answer_script

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pytestqt.qtbot import QtBot

    from desktop.core.api import ApiClient

WAIT_MS = 5000
QUESTION = "My printer at 10.0.0.7 says offline"


def recorded(recorder: AnalyticsRecorder) -> list[tuple[str, int | None]]:
    return [(event.name.value, event.value) for event in recorder.pending]


def sent_json(recorder: AnalyticsRecorder) -> str:
    """The body a sender would post now (the recorder stays as it was)."""
    batch = recorder.take_batch()
    assert batch is not None
    recorder.put_back(batch)
    return json.dumps(batch.as_json())


@pytest.fixture
def recorder() -> AnalyticsRecorder:
    made = AnalyticsRecorder()
    made.set_allowed(True)
    return made


# ---------------------------------------------------------------------------------------------- chat
@pytest.fixture
def chat(
    qtbot: QtBot, signed_in_client: ApiClient, tmp_path: Path, fake_server: FakeServer, recorder: AnalyticsRecorder
) -> Iterator[ChatPresenter]:
    queue = OfflineQueue(tmp_path / "outbox", fake_server.url, ACCOUNT)
    presenter = ChatPresenter(signed_in_client, queue=queue, analytics=recorder)
    try:
        yield presenter
    finally:
        presenter.shutdown()


def ask(qtbot: QtBot, chat: ChatPresenter, text: str = QUESTION) -> None:
    with qtbot.wait_signal(chat.draft_cleared, timeout=WAIT_MS):
        chat.send(text)


def test_a_question_records_asked_then_answered_with_the_latency_from_send_to_the_last_word(
    qtbot: QtBot, chat: ChatPresenter, fake_server: FakeServer, recorder: AnalyticsRecorder
) -> None:
    fake_server.script_resolve([Pause(0.3), *answer_script("Restart the printer.")])

    ask(qtbot, chat)

    (asked, answered) = recorded(recorder)
    assert asked == ("question_asked", None)
    assert answered[0] == "answer_received"
    assert answered[1] is not None
    assert 300 <= answered[1] < WAIT_MS
    body = sent_json(recorder)
    (ticket,) = fake_server.tickets
    assert QUESTION not in body
    assert "10.0.0.7" not in body
    assert ticket.id not in body
    assert "Restart" not in body


def test_a_follow_up_is_recorded_with_its_own_answer(
    qtbot: QtBot, chat: ChatPresenter, recorder: AnalyticsRecorder
) -> None:
    ask(qtbot, chat)

    ask(qtbot, chat, "It still is")

    assert [name for name, _ in recorded(recorder)] == [
        "question_asked",
        "answer_received",
        "follow_up",
        "answer_received",
    ]


@pytest.mark.parametrize("feedback", [(True, "fixed"), (False, "still_broken")], ids=["fixed", "still_broken"])
def test_feedback_is_recorded_once_the_server_took_it(
    qtbot: QtBot, chat: ChatPresenter, fake_server: FakeServer, recorder: AnalyticsRecorder, feedback: tuple[bool, str]
) -> None:
    resolved, event = feedback
    ask(qtbot, chat)
    fake_server.fail("feedback", 503, "service_unavailable")
    with qtbot.wait_signal(chat.error_changed, timeout=WAIT_MS):
        chat.give_feedback(resolved)
    assert event not in [name for name, _ in recorded(recorder)]  # a failed click is no feedback
    fake_server.heal("feedback")

    with qtbot.wait_signal(chat.feedback_changed, timeout=WAIT_MS, check_params_cb=lambda s: s != "sending"):
        chat.give_feedback(resolved)

    assert chat.feedback_state is (FeedbackState.RESOLVED if resolved else FeedbackState.ESCALATED)
    assert recorded(recorder)[-1] == (event, None)
    assert [name for name, _ in recorded(recorder)].count(event) == 1


def test_a_question_asked_offline_is_recorded_once_and_queued(
    qtbot: QtBot, chat: ChatPresenter, fake_server: FakeServer, recorder: AnalyticsRecorder
) -> None:
    fake_server.stop()
    with qtbot.wait_signal(chat.queued, timeout=WAIT_MS):
        chat.send(QUESTION)
    qtbot.waitUntil(lambda: chat.state is ChatState.FAILED, timeout=WAIT_MS)

    chat.send(QUESTION)  # Send again while still offline: the same queued question, not a new one
    qtbot.waitUntil(lambda: chat.state is ChatState.FAILED and not chat.busy, timeout=WAIT_MS)

    assert recorded(recorder) == [("question_asked", None), ("offline_queued", None)]
    assert "screenshot" not in sent_json(recorder)


def test_a_retry_after_a_failure_counts_no_second_question(
    qtbot: QtBot, chat: ChatPresenter, fake_server: FakeServer, recorder: AnalyticsRecorder
) -> None:
    fake_server.fail("create", 503, "service_unavailable")
    chat.send(QUESTION)
    qtbot.waitUntil(lambda: chat.state is ChatState.FAILED, timeout=WAIT_MS)
    fake_server.heal("create")

    ask(qtbot, chat)

    assert [name for name, _ in recorded(recorder)] == ["question_asked", "answer_received"]


def test_with_the_switch_off_the_chat_records_nothing(
    qtbot: QtBot, chat: ChatPresenter, recorder: AnalyticsRecorder
) -> None:
    recorder.set_allowed(False)

    ask(qtbot, chat)
    with qtbot.wait_signal(chat.feedback_changed, timeout=WAIT_MS, check_params_cb=lambda s: s != "sending"):
        chat.give_feedback(True)

    assert recorder.pending == []


# ---------------------------------------------------------------------------------------------- capture, redaction
class FakeCapturer:
    def capture(self) -> Screenshot:
        return Screenshot(Image.new("RGB", (200, 100), (90, 90, 90)), MonitorArea("fake-1", 0, 0, 100, 50, 2.0))


class FakeView(QObject):
    """The overlay (``selected``/``cancelled``) and the redaction window (``accepted``/``cancelled``) in one."""

    selected = Signal(object)
    accepted = Signal(bytes, str, object)
    cancelled = Signal()

    def present(self) -> None:
        """Shown (nothing to draw offscreen)."""


@pytest.fixture
def capture(qapp: object, recorder: AnalyticsRecorder) -> Iterator[tuple[CapturePresenter, list[FakeView]]]:
    views: list[FakeView] = []

    def view(_what: object) -> FakeView:
        views.append(FakeView())
        return views[-1]

    presenter = CapturePresenter(
        FakeCapturer(),
        overlay_factory=view,
        redaction_factory=view,
        hide_windows=list,
        show_windows=lambda _windows: None,
        settle_ms=1,
        analytics=recorder,
    )
    yield presenter, views
    presenter.deleteLater()


def test_a_screen_capture_is_recorded_once_it_reaches_the_chat(
    qtbot: QtBot, capture: tuple[CapturePresenter, list[FakeView]], recorder: AnalyticsRecorder
) -> None:
    presenter, views = capture
    presenter.capture_screen()
    qtbot.waitUntil(lambda: len(views) == 1, timeout=WAIT_MS)
    assert recorder.pending == []  # grabbed, not yet attached

    with qtbot.wait_signal(presenter.captured, timeout=WAIT_MS):
        views[0].accepted.emit(b"webp", "image/webp", None)

    assert recorded(recorder) == [("screen_captured", None)]


def test_a_region_capture_is_recorded_and_a_cancelled_one_is_not(
    qtbot: QtBot, capture: tuple[CapturePresenter, list[FakeView]], recorder: AnalyticsRecorder
) -> None:
    presenter, views = capture
    presenter.capture_region()
    qtbot.waitUntil(lambda: len(views) == 1, timeout=WAIT_MS)
    views[0].cancelled.emit()
    presenter.capture_region()
    qtbot.waitUntil(lambda: len(views) == 2, timeout=WAIT_MS)
    views[1].selected.emit(Rect(10, 10, 80, 40))
    qtbot.waitUntil(lambda: len(views) == 3, timeout=WAIT_MS)

    with qtbot.wait_signal(presenter.captured, timeout=WAIT_MS):
        views[2].accepted.emit(b"webp", "image/webp", None)

    assert recorded(recorder) == [("region_captured", None)]


@pytest.fixture
def encoder(qapp: object) -> Iterator[ImageEncoder]:
    made = ImageEncoder()
    yield made
    made.shutdown()


def test_attaching_a_screenshot_records_how_many_boxes_hid_something(
    qtbot: QtBot, encoder: ImageEncoder, recorder: AnalyticsRecorder
) -> None:
    presenter = RedactionPresenter(Image.new("RGB", (200, 150), (236, 236, 236)), encoder, analytics=recorder)
    presenter.start()
    for box in (Rect(10, 10, 20, 10), Rect(50, 50, 20, 10), Rect(90, 90, 20, 10)):
        presenter.add_box(box)
    presenter.remove(next(iter(presenter.boxes)).id)  # a box taken away again hides nothing
    qtbot.waitUntil(lambda: presenter.can_attach, timeout=WAIT_MS)

    with qtbot.wait_signal(presenter.accepted, timeout=WAIT_MS):
        presenter.accept()

    assert recorded(recorder) == [("boxes_redacted", 2)]
    presenter.cancel()


def test_a_screenshot_attached_without_boxes_records_no_redaction(
    qtbot: QtBot, encoder: ImageEncoder, recorder: AnalyticsRecorder
) -> None:
    presenter = RedactionPresenter(Image.new("RGB", (200, 150), (236, 236, 236)), encoder, analytics=recorder)
    presenter.start()
    qtbot.waitUntil(lambda: presenter.can_attach, timeout=WAIT_MS)

    with qtbot.wait_signal(presenter.accepted, timeout=WAIT_MS):
        presenter.accept()

    assert recorder.pending == []
    presenter.cancel()


def test_every_recorded_day_is_today_and_never_a_time(recorder: AnalyticsRecorder) -> None:
    recorder.record(EventName.SCREEN_CAPTURED)

    (event,) = json.loads(sent_json(recorder))["events"]

    assert event["day"] == datetime.date.today().isoformat()
