"""What the server knows about people: the names, usernames and e-mail addresses of its accounts.

A colleague who has an account is removed wherever the text mentions them, even by first name only, case
regardless: every part of an account's name, its username, and the parts of its e-mail's local part. A part that is
also an ordinary word or a product (an account named ``Will Page``) is removed only as part of the whole name, so
the word ``page`` survives elsewhere. The e-mail domains of the accounts (``globex.com``) name the company, unless
they are a mail provider anyone can use.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from server.domain.knowledge.anonymizer._lists import FREE_MAIL, VENDOR_DOMAINS
from server.domain.knowledge.anonymizer._network import registrable

if TYPE_CHECKING:
    from collections.abc import Iterable

    from server.domain.knowledge.anonymizer._spans import Found
    from server.domain.knowledge.anonymizer._vocabulary import Vocabulary

__all__ = ["Account", "Directory", "find_accounts"]

Account = tuple[str | None, str | None, str | None]  # name, username, e-mail

_PARTS = re.compile(r"[\s._+'’-]+|\d+")
_HANDLE = re.compile(r"(?<![\w.'’-])\w(?:[\w.'’-]{0,62}\w)?")
_MIN_PART = 3


@dataclass(frozen=True, slots=True)
class Directory:
    """Lower-cased identifiers to remove: single words, consecutive name parts, and company names from domains."""

    words: frozenset[str] = frozenset()
    pairs: frozenset[tuple[str, str]] = frozenset()
    organisations: frozenset[str] = frozenset()

    @classmethod
    def of(cls, accounts: Iterable[Account], vocabulary: Vocabulary) -> Directory:
        """The directory of ``accounts``: ``(name, username, email)`` each, any of them empty."""
        words: set[str] = set()
        pairs: set[tuple[str, str]] = set()
        organisations: set[str] = set()

        def plain(word: str) -> bool:
            return vocabulary.is_plain(word) and word not in vocabulary.strong_first

        for name, username, email in accounts:
            parts = [p.lower() for p in (name or "").split() if p]
            pairs.update(itertools.pairwise(parts))
            for part in parts:
                for piece in {part, *_PARTS.split(part)}:
                    if len(piece) >= _MIN_PART and not plain(piece):
                        words.add(piece)
            login = (username or "").strip().lower()
            if len(login) >= _MIN_PART and not plain(login):
                words.add(login)
            local, _, domain = (email or "").strip().lower().partition("@")
            for piece in {local, *_PARTS.split(local)}:
                if len(piece) >= _MIN_PART and not plain(piece):
                    words.add(piece)
            if domain and domain not in FREE_MAIL and domain not in VENDOR_DOMAINS:
                label = registrable(domain).split(".", 1)[0]
                if len(label) >= _MIN_PART and label not in vocabulary.ordinary:
                    organisations.add(label)  # a product-like name too: "Northwind" is a company here
        return cls(frozenset(words), frozenset(pairs), frozenset(organisations))

    def __or__(self, other: Directory) -> Directory:
        return Directory(self.words | other.words, self.pairs | other.pairs, self.organisations | other.organisations)


def find_accounts(found: Found, directory: Directory) -> None:
    """Add a ``[name]`` span for every account identifier in ``found.text``."""
    if not (directory.words or directory.pairs):
        return
    previous: tuple[int, int, str] | None = None
    for match in _HANDLE.finditer(found.text):
        handle = match.group(0)
        lower = handle.lower()
        if lower in directory.words:
            found.add(match.start(), match.end(), "[name]")
        else:
            position = match.start()
            for piece in _PARTS.split(handle):
                at = found.text.find(piece, position, match.end()) if piece else -1
                if at >= 0:
                    position = at + len(piece)
                    if piece.lower() in directory.words:
                        found.add(at, at + len(piece), "[name]")
        if previous is not None and (previous[2], lower) in directory.pairs:
            gap = found.text[previous[1] : match.start()]
            if gap.isspace() and len(gap) <= 3:
                found.add(previous[0], match.end(), "[name]")
        previous = (match.start(), match.end(), lower)
