"""The chat state machine: streaming, completion, and every failure keeping the user's draft."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

import pytest

from desktop.core.api.errors import QuotaExceeded, ServerUnreachable
from desktop.core.api.models import Citation, DeltaEvent, DoneEvent, ErrorEvent, TriageEvent
from desktop.core.chat import ChatSession, ChatState, InvalidTransition
from desktop.core.question import Attachment

if TYPE_CHECKING:
    from collections.abc import Iterator

    from desktop.core.api.client import StreamEvent

SHOT = Attachment("shot.png", b"\x89PNG...", "image/png")
CITE_1 = Citation(number=1, title="Printer offline", article_id="a1", source_url="https://kb.example.com/1")
CITE_2 = Citation(number=2, title="Spooler", article_id="a2")
ANSWER: list[StreamEvent] = [
    TriageEvent(category="printer", priority="normal", category_by_ai=True, priority_by_ai=True),
    CITE_2,
    CITE_1,
    DeltaEvent(text="Restart the "),
    DeltaEvent(text="spooler [2]."),
    DoneEvent(message_id="m1"),
]


def test_a_full_answer_goes_idle_sending_streaming_done() -> None:
    assert ChatSession().state is ChatState.IDLE
    chat = ChatSession()

    chat.send("Printer offline", [SHOT])
    assert _state(chat) is ChatState.SENDING
    assert chat.busy
    chat.ticket_created("t1")

    chat.apply(ANSWER[0])
    assert _state(chat) is ChatState.STREAMING
    for event in ANSWER[1:-1]:
        chat.apply(event)
    assert chat.answer == "Restart the spooler [2]."
    chat.apply(ANSWER[-1])

    assert _state(chat) is ChatState.DONE
    assert not _busy(chat)
    assert chat.ticket_id == "t1"
    assert chat.message_id == "m1"
    assert chat.triage == ANSWER[0]
    assert chat.citations == [CITE_1, CITE_2]  # by number, whatever the arrival order
    assert [(m.role, m.text) for m in chat.messages] == [
        ("user", "Printer offline"),
        ("assistant", "Restart the spooler [2]."),
    ]
    assert chat.messages[0].attachments == (SHOT,)
    assert chat.messages[1].citations == (CITE_1, CITE_2)
    assert chat.draft_text == ""
    assert chat.draft_attachments == ()


def test_a_follow_up_starts_a_fresh_answer_and_keeps_the_transcript() -> None:
    chat = ChatSession()
    chat.send("Printer offline")
    chat.run(ANSWER)

    chat.send("Still offline after restart")
    assert chat.answer == ""
    assert chat.citations == []
    chat.run([DeltaEvent(text="Check the cable."), DoneEvent(message_id="m2")])

    assert [m.text for m in chat.messages][-2:] == ["Still offline after restart", "Check the cable."]
    assert len(chat.messages) == 4


def test_an_error_event_followed_by_a_fallback_answer_is_a_notice_not_a_failure() -> None:
    chat = ChatSession()
    chat.send("Printer offline")

    notice = ErrorEvent(code="ai_unavailable", message="No AI model answered; here is what the KB says.")
    state = chat.run([notice, CITE_1, DeltaEvent(text="See [1]."), DoneEvent(message_id="m1")])

    assert state is ChatState.DONE
    assert chat.notice == "No AI model answered; here is what the KB says."
    assert chat.notice_code == "ai_unavailable"
    assert chat.error is None
    assert chat.messages[-1].text == "See [1]."


def test_an_error_event_that_ends_the_stream_fails_and_keeps_the_draft_for_a_retry() -> None:
    chat = ChatSession()
    chat.send("Printer offline", [SHOT])

    state = chat.run([DeltaEvent(text="Half"), ErrorEvent(code="ai_unavailable", message="The AI is busy.")])

    assert state is ChatState.FAILED
    assert chat.error == "The AI is busy."  # and the draft stays:
    assert chat.error_code == "ai_unavailable"
    assert chat.draft_text == "Printer offline"
    assert chat.draft_attachments == (SHOT,)
    assert chat.messages == []

    chat.retry()
    assert _state(chat) is ChatState.SENDING
    assert chat.answer == ""
    assert _error(chat) is None
    assert chat.notice is None
    chat.run(ANSWER)
    assert _state(chat) is ChatState.DONE


def test_offline_keeps_text_and_images() -> None:
    chat = ChatSession()
    chat.send("Wi-Fi is gone", [SHOT])

    chat.fail(ServerUnreachable())

    assert _state(chat) is ChatState.FAILED
    assert chat.error_code == "server_unreachable"
    assert "Can't reach" in (chat.error or "")
    assert (chat.draft_text, chat.draft_attachments) == ("Wi-Fi is gone", (SHOT,))


def test_quota_exceeded_exposes_reset_date_for_the_upgrade_prompt() -> None:
    chat = ChatSession()
    chat.send("Help")
    resets = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)

    chat.fail(QuotaExceeded(plan="free", resets_at=resets))

    assert chat.quota is not None
    assert chat.quota.resets_at == resets
    assert chat.draft_text == "Help"
    chat.retry()
    assert chat.quota is None


def test_an_exception_in_the_middle_of_the_stream_fails_the_session() -> None:
    def events() -> Iterator[StreamEvent]:
        yield DeltaEvent(text="Half")
        raise ServerUnreachable(message="The connection dropped while the answer was arriving.")

    chat = ChatSession()
    chat.send("Help")

    assert chat.run(events()) is ChatState.FAILED
    assert chat.error == "The connection dropped while the answer was arriving."
    assert chat.answer == "Half"  # shown greyed out next to the error, if the UI wants


def test_a_stream_that_just_ends_fails() -> None:
    chat = ChatSession()
    chat.send("Help")

    assert chat.run([DeltaEvent(text="Half")]) is ChatState.FAILED
    assert chat.error_code == "stream_incomplete"


def test_a_repeated_citation_number_replaces_the_earlier_one() -> None:
    chat = ChatSession()
    chat.send("Help")
    chat.apply(CITE_1)
    updated = Citation(number=1, title="Printer offline (v2)")
    chat.apply(updated)

    assert chat.citations == [updated]


@pytest.mark.parametrize("text", ["", "   \n"])
def test_an_empty_question_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="question"):
        ChatSession().send(text)


def test_transitions_that_make_no_sense_are_bugs() -> None:
    chat = ChatSession()
    with pytest.raises(InvalidTransition):
        chat.apply(DeltaEvent(text="x"))
    with pytest.raises(InvalidTransition):
        chat.retry()
    with pytest.raises(InvalidTransition):
        chat.fail("x")
    chat.send("Help")
    with pytest.raises(InvalidTransition):
        chat.send("again")
    chat.run(ANSWER)
    chat.end_of_stream()  # harmless after done
    assert _state(chat) is ChatState.DONE
    with pytest.raises(InvalidTransition):
        chat.apply(DeltaEvent(text="late"))
    with pytest.raises(InvalidTransition):
        chat.ticket_created("t2")


def _state(chat: ChatSession) -> ChatState:
    """The state, read through a call so the type checker does not narrow it across transitions."""
    return chat.state


def _busy(chat: ChatSession) -> bool:
    return chat.busy


def _error(chat: ChatSession) -> str | None:
    return chat.error
