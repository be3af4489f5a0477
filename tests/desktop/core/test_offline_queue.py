"""The offline outbox: durable, per account, each question sent once, refused ones kept for the user."""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING

import msgspec
import pytest

from desktop.core.api.errors import ApiError, QuotaExceeded, ServerUnreachable, SessionExpired
from desktop.core.geometry import Rect
from desktop.core.ocr_text import OcrUpload
from desktop.core.offline_queue import OfflineQueue, default_queue_root
from desktop.core.question import Attachment, Question
from desktop.core.redaction import OcrLine

if TYPE_CHECKING:
    from pathlib import Path

SERVER = "https://help.example.com"
SHOT = Attachment("screen-1.webp", b"RIFF\x00\x00\x00\x00WEBP" + bytes(range(256)) * 10, "image/webp")


def question(text: str = "Printer offline", *, shots: tuple[Attachment, ...] = (SHOT,)) -> Question:
    return Question(text, shots, priority="high", category="printer", device={"os": "Linux"})


@pytest.fixture
def queue(tmp_path: Path) -> OfflineQueue:
    return OfflineQueue(tmp_path / "outbox", SERVER, "user-1")


class Recorder:
    """A ``send`` that records what it was given and answers from a script."""

    def __init__(self, *outcomes: Exception | str) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[Question, str]] = []

    def __call__(self, q: Question, key: str) -> str:
        self.calls.append((q, key))
        outcome = self.outcomes.pop(0) if self.outcomes else f"ticket-{len(self.calls)}"
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def test_a_queued_question_survives_a_restart_with_its_bytes_and_key(queue: OfflineQueue, tmp_path: Path) -> None:
    entry = queue.enqueue(question())

    reopened = OfflineQueue(tmp_path / "outbox", SERVER, "user-1").entries()

    assert len(reopened) == 1
    assert reopened[0].question == question()
    assert reopened[0].question.attachments[0].data == SHOT.data
    assert reopened[0].idempotency_key == entry.idempotency_key
    assert reopened[0].entry_id == entry.entry_id
    assert not reopened[0].failed


def test_the_text_read_on_a_screenshot_is_queued_with_it(queue: OfflineQueue, tmp_path: Path) -> None:
    text = OcrUpload("rapidocr", "3.4.0", (OcrLine("Access is denied.", Rect(4, 4, 120, 16)),))
    shots = (Attachment("a.webp", SHOT.data, "image/webp", text), SHOT)
    queue.enqueue(question(shots=shots))

    (entry,) = OfflineQueue(tmp_path / "outbox", SERVER, "user-1").entries()

    assert entry.question == question(shots=shots)  # equal, so a resend is the same request under the same key
    assert [a.ocr for a in entry.question.attachments] == [text, None]


def test_an_entry_written_without_screenshot_text_still_reads(queue: OfflineQueue) -> None:
    queue.enqueue(question())
    (path,) = queue.directory.glob("*.question")
    stored = msgspec.msgpack.decode(path.read_bytes())
    for attachment in stored["attachments"]:
        del attachment["ocr"]  # as entries were stored before the text went with screenshots
    path.write_bytes(msgspec.msgpack.encode(stored))

    (entry,) = queue.entries()

    assert entry.question == question()


def test_drain_sends_oldest_first_with_the_enqueue_time_key_and_deletes_after_success(queue: OfflineQueue) -> None:
    first = queue.enqueue(question("first"))
    second = queue.enqueue(question("second"))
    send = Recorder()

    result = queue.drain(send)

    assert [q.description for q, _ in send.calls] == ["first", "second"]
    assert [key for _, key in send.calls] == [first.idempotency_key, second.idempotency_key]
    assert [(e.entry_id, answer) for e, answer in result.sent] == [
        (first.entry_id, "ticket-1"),
        (second.entry_id, "ticket-2"),
    ]
    assert queue.entries() == []


def test_a_resend_after_a_lost_answer_reuses_the_same_key(queue: OfflineQueue) -> None:
    queue.enqueue(question())
    send = Recorder(ServerUnreachable(), "ticket-1")

    first = queue.drain(send)
    second = queue.drain(send)

    assert isinstance(first.stopped_by, ServerUnreachable)
    assert first.sent == []
    assert [e.question.description for e, _ in second.sent] == ["Printer offline"]
    assert send.calls[0][1] == send.calls[1][1]
    assert queue.entries() == []


@pytest.mark.parametrize(
    "error",
    [
        ServerUnreachable(),
        ApiError(503, "service_unavailable", "busy", retry_after=5),
        ApiError(500, "internal_error", "oops"),
        ApiError(429, "rate_limited", "slow down"),
        ApiError(408, "timeout", "slow"),
    ],
)
def test_transient_failures_stop_the_drain_and_keep_everything(queue: OfflineQueue, error: ApiError) -> None:
    queue.enqueue(question("first"))
    queue.enqueue(question("second"))
    send = Recorder(error)

    result = queue.drain(send)

    assert result.stopped_by is error
    assert len(send.calls) == 1  # the server is down: don't hammer it with the rest
    assert [e.question.description for e in queue.pending()] == ["first", "second"]


@pytest.mark.parametrize(
    "error",
    [
        ApiError(422, "validation_error", "Description too long."),
        ApiError(413, "body_too_large", "Too big."),
        QuotaExceeded(plan="free"),
    ],
)
def test_a_refused_question_is_kept_as_failed_and_not_retried(queue: OfflineQueue, error: ApiError) -> None:
    refused = queue.enqueue(question("refused"))
    queue.enqueue(question("fine"))
    send = Recorder(error)

    result = queue.drain(send)
    again = queue.drain(send)

    assert [e.entry_id for e in result.failed] == [refused.entry_id]
    assert [e.question.description for e, _ in result.sent] == ["fine"]
    assert again.sent == []
    assert again.failed == []
    assert len(send.calls) == 2
    (kept,) = queue.entries()
    assert kept.failed
    assert kept.failed_code == error.code
    assert kept.failed_message == error.message
    assert queue.pending() == []


def test_a_failed_entry_can_be_retried_or_discarded_by_the_user(queue: OfflineQueue) -> None:
    entry = queue.enqueue(question())
    queue.drain(Recorder(ApiError(422, "validation_error", "bad")))

    queue.retry(entry.entry_id)
    assert [e.entry_id for e in queue.pending()] == [entry.entry_id]
    assert queue.pending()[0].idempotency_key == entry.idempotency_key

    queue.discard(entry.entry_id)
    assert queue.entries() == []


def test_an_expired_session_propagates_and_keeps_the_entry(queue: OfflineQueue) -> None:
    queue.enqueue(question())

    with pytest.raises(SessionExpired):
        queue.drain(Recorder(SessionExpired()))

    assert len(queue.pending()) == 1


def test_a_bug_in_send_propagates_and_deletes_nothing(queue: OfflineQueue) -> None:
    queue.enqueue(question())

    with pytest.raises(ZeroDivisionError):
        queue.drain(Recorder(ZeroDivisionError()))

    assert len(queue.pending()) == 1


def test_queues_are_per_account_and_server(tmp_path: Path) -> None:
    root = tmp_path / "outbox"
    OfflineQueue(root, SERVER, "user-1").enqueue(question())

    assert OfflineQueue(root, SERVER, "user-2").entries() == []
    assert OfflineQueue(root, "https://other.example.com", "user-1").entries() == []
    assert len(OfflineQueue(root, SERVER + "/", "user-1").entries()) == 1


def test_clear_removes_the_accounts_queue_only(tmp_path: Path) -> None:
    root = tmp_path / "outbox"
    mine = OfflineQueue(root, SERVER, "user-1")
    theirs = OfflineQueue(root, SERVER, "user-2")
    mine.enqueue(question())
    theirs.enqueue(question())

    mine.clear()

    assert mine.entries() == []
    assert not mine.directory.exists()
    assert len(theirs.entries()) == 1


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_files_are_private(queue: OfflineQueue) -> None:
    old_umask = os.umask(0o022)
    try:
        queue.enqueue(question())
    finally:
        os.umask(old_umask)

    assert stat.S_IMODE(queue.directory.stat().st_mode) == 0o700
    (entry_file,) = queue.directory.iterdir()
    assert stat.S_IMODE(entry_file.stat().st_mode) == 0o600


def test_a_write_that_crashes_leaves_no_entry(queue: OfflineQueue, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(src: str, dst: str) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        queue.enqueue(question())
    monkeypatch.undo()

    assert queue.entries() == []
    assert list(queue.directory.iterdir()) == []


def test_leftover_temp_files_and_garbage_are_never_entries(queue: OfflineQueue, tmp_path: Path) -> None:
    queue.enqueue(question("real"))
    (queue.directory / ".incoming-abc123").write_bytes(b"half a question")  # a write a crash interrupted
    (queue.directory / "00000000000000000001-dead.question").write_bytes(b"\x00not msgpack")

    assert [e.question.description for e in queue.entries()] == ["real"]
    # The app's next run sweeps interrupted temp files at its first write (never during a write of its own).
    restarted = OfflineQueue(tmp_path / "outbox", SERVER, "user-1")
    restarted.enqueue(question("second"))
    assert not (queue.directory / ".incoming-abc123").exists()


def test_entry_ids_cannot_reach_outside_the_queue(queue: OfflineQueue, tmp_path: Path) -> None:
    victim = tmp_path / "victim.question"
    victim.write_text("keep me")

    with pytest.raises(ValueError, match="entry id"):
        queue.discard("../../victim")

    assert victim.exists()


def test_default_root_is_under_the_platform_data_dir() -> None:
    root = default_queue_root()

    assert root.name == "outbox"
    assert root.parent.name == "techpal"
