"""Query building from OCR text: the error dialog's lines win over desktop furniture and unrelated sentences."""

from __future__ import annotations

from server.domain.resolution.query import MAX_QUERY_CHARS, build_query, error_lines

DESKTOP = """Meeting notes - Notepad
Recycle Bin
File Edit Format View Help
Please review the budget figures before the Friday meeting.
Parking spaces
Warning
×
Retrieving the COM class factory for remote
Minutes of the
component with CSLID {... } from machine ... failed
due to the following error: 80070005
Our office will
OK
Start
Outlook
10:42 AM
27/11/2026"""


def test_error_dialog_lines_are_kept_with_their_wrapped_sentence() -> None:
    assert error_lines(DESKTOP) == [
        "Retrieving the COM class factory for remote",
        "component with CSLID {... } from machine ... failed",
        "due to the following error: 80070005",
    ]


def test_without_error_text_sentences_are_kept_and_labels_dropped() -> None:
    text = "Recycle Bin\nThis PC\nThe sync client stopped syncing my files yesterday evening\n10:42 AM\n75%"
    assert error_lines(text) == ["The sync client stopped syncing my files yesterday evening"]


def test_error_codes_count_even_in_short_lines() -> None:
    assert error_lines("Settings\nAADSTS50076\nHelp") == ["AADSTS50076"]


def test_query_puts_question_and_error_text_before_the_description_and_is_bounded() -> None:
    query = build_query("my app broke", [DESKTOP, DESKTOP], question="what does 80070005 mean?")
    lines = query.splitlines()
    assert lines[0] == "what does 80070005 mean?"
    assert lines[1] == "Retrieving the COM class factory for remote"
    assert lines[-1] == "my app broke"
    assert query.count("Retrieving") == 1  # the same dialog on two screenshots counts once
    assert len(build_query("x " * 5000, [])) == MAX_QUERY_CHARS
