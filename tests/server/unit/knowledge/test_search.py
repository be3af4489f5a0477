"""Query classification, literal-string extraction, fusion and chunking of the knowledge base."""

from __future__ import annotations

import uuid

import pytest

from server.domain.knowledge.chunking import WINDOW_WORDS, chunk_article
from server.domain.knowledge.search import Candidates, classify, clean_query, exact_phrases, fuse


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("0x80070005", "error"),
        ("AADSTS50076", "error"),
        ('"The trust relationship between this workstation and the primary domain failed"', "error"),
        ("my computer is really slow and the fan is loud", "plain"),
    ],
)
def test_queries_are_classified(query: str, kind: str) -> None:
    assert classify(query) == kind


def test_codes_and_quoted_strings_are_extracted_for_exact_matching() -> None:
    phrases = exact_phrases('Sign-in fails with AADSTS50076 and "access is denied" (0x80070005)')
    assert phrases == ["access is denied", "AADSTS50076", "0x80070005"]
    assert exact_phrases("printer does not print") == []


def test_queries_are_cleaned_of_controls_and_capped() -> None:
    assert clean_query("  a\x00b\tc\n ") == "a b c"
    assert len(clean_query("x" * 10_000)) == 2000


def test_fusion_weights_exact_matches_for_error_queries() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    # a query found almost word for word (high BM25 coverage) trusts BM25 ...
    literal = Candidates(kind="plain", bm25=[a, b], bm25_scores=[9.0, 1.0], idf_sum=4.0, dense=[b, a])
    assert fuse(literal)[0][0] == a
    # ... plain language (low coverage) trusts the vectors ...
    plain = Candidates(kind="plain", bm25=[a, b], bm25_scores=[2.0, 1.0], idf_sum=4.0, dense=[b, a])
    assert fuse(plain)[0][0] == b
    # ... and an exact match of an error code counts on top.
    coded = Candidates(kind="error", bm25=[b, a], bm25_scores=[2.0, 1.0], idf_sum=4.0, exact=[a])
    assert fuse(coded)[0][0] == a


def test_articles_are_chunked_summary_first_with_stable_hashes() -> None:
    body = " ".join(f"w{i}" for i in range(WINDOW_WORDS * 2 + 10))
    chunks = chunk_article("Title", "It breaks.", body)
    assert chunks[0].text == "Title. It breaks."
    assert [c.ordinal for c in chunks] == [0, 1, 2]  # the 10-word tail joins no chunk of its own
    assert all(c.text.startswith("Title") for c in chunks)
    assert chunk_article("Title", "It breaks.", body) == chunks
    assert chunk_article("Title", "It broke.", body)[0].content_hash != chunks[0].content_hash
