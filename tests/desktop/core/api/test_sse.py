"""The SSE parser: every field, every line ending, and chunks split anywhere give the same events."""

from __future__ import annotations

import pytest

from desktop.core.api.sse import SseEvent, SseParser, iter_sse

STREAM = (
    b": keep-alive comment\n"
    b"event: triage\n"
    b'data: {"category": "printer"}\n'
    b"\n"
    b"id: 7\n"
    b"event: delta\n"
    b"data: first line\n"
    b"data: second line\n"
    b"\n"
    b"retry: 2500\n"
    b"data:no space after colon\n"
    b"\n"
    b"event: done\n"
    b"data:  two spaces keep one\n"
    b"\n"
)

EXPECTED = [
    SseEvent("triage", '{"category": "printer"}'),
    SseEvent("delta", "first line\nsecond line", id="7"),
    SseEvent("message", "no space after colon", id="7", retry=2500),
    SseEvent("done", " two spaces keep one", id="7"),
]


def _parse_in_chunks(data: bytes, size: int) -> list[SseEvent]:
    return list(iter_sse(data[i : i + size] for i in range(0, len(data), size)))


def test_a_whole_stream_yields_its_events_with_fields_and_sticky_id() -> None:
    assert list(iter_sse([STREAM])) == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 11, 64])
def test_splitting_the_stream_anywhere_changes_nothing(size: int) -> None:
    assert _parse_in_chunks(STREAM, size) == EXPECTED


@pytest.mark.parametrize("ending", ["\r\n", "\r", "\n"])
@pytest.mark.parametrize("size", [1, 2, 4, 1000])
def test_crlf_cr_and_lf_line_endings_are_equivalent(ending: str, size: int) -> None:
    data = STREAM.decode().replace("\n", ending).encode()

    assert _parse_in_chunks(data, size) == EXPECTED


def test_crlf_split_between_chunks_is_one_line_ending_not_two() -> None:
    parser = SseParser()

    assert parser.feed(b"data: a\r") == []
    # If the LF were taken for a second line ending, it would dispatch "a" here as an empty line would.
    assert parser.feed(b"\ndata: b\r") == []
    assert parser.feed(b"\n\r\n") == [SseEvent("message", "a\nb")]


def test_multibyte_utf8_split_across_chunks_is_decoded_whole() -> None:
    data = "data: Grüße — 你好 🖨\n\n".encode()

    assert _parse_in_chunks(data, 1) == [SseEvent("message", "Grüße — 你好 🖨")]


def test_comments_and_blocks_without_data_dispatch_nothing() -> None:
    data = b":ping\n\n: another\n\nevent: lonely\n\nid: 3\n\n"

    assert list(iter_sse([data])) == []


def test_an_event_without_the_final_blank_line_is_discarded_at_the_end() -> None:
    assert list(iter_sse([b"data: complete\n\ndata: cut off"])) == [SseEvent("message", "complete")]


def test_empty_data_lines_make_empty_or_newline_data() -> None:
    assert list(iter_sse([b"data\n\ndata:\ndata:\n\n"])) == [SseEvent("message", ""), SseEvent("message", "\n")]


def test_unknown_fields_and_invalid_retry_are_ignored() -> None:
    parser = SseParser()

    events = parser.feed(b"foo: bar\nretry: 12a\nretry: -1\ndata: x\n\n")

    assert events == [SseEvent("message", "x")]
    assert parser.reconnection_ms is None


def test_retry_without_data_still_sets_the_reconnection_time() -> None:
    parser = SseParser()

    assert parser.feed(b"retry: 900\n\n") == []
    assert parser.reconnection_ms == 900


def test_id_with_nul_is_ignored_and_an_empty_id_resets_it() -> None:
    data = b"id: 1\ndata: a\n\nid: x\x00y\ndata: b\n\nid\ndata: c\n\n"

    assert [e.id for e in iter_sse([data])] == ["1", "1", ""]


def test_a_leading_byte_order_mark_is_dropped_once() -> None:
    data = "\ufeffdata: a\n\n".encode()

    assert list(iter_sse([data[:1], data[1:]])) == [SseEvent("message", "a")]


def test_a_field_name_without_colon_is_the_whole_line() -> None:
    assert list(iter_sse([b"event\ndata\n\n"])) == [SseEvent("message", "")]


def test_events_arrive_as_soon_as_their_blank_line_does() -> None:
    parser = SseParser()

    assert parser.feed(b"event: delta\ndata: Hel") == []
    assert parser.feed(b"lo\n") == []
    assert parser.feed(b"\n") == [SseEvent("delta", "Hello")]
