"""The words the anonymizer needs to tell people from troubleshooting prose.

Two lists ship in ``words.txt``, both made from the seed corpus (3,130 Microsoft support articles) by
:func:`build_word_list`: *ordinary* words (seen in lower case at least :data:`ORDINARY_MIN` times: ``will``, ``page``,
``grant``, ``server``) and *proper* terms (capitalized at least :data:`PROPER_MIN` times and almost never in lower
case: ``Outlook``, ``Safari``, ``Viva``). A capitalized word that is an ordinary word or a proper term is only taken
for a name in a name's company (a surname after it, a cue such as ``my manager`` before it).

First names and surnames come from Faker's person lists for every locale (the Latin-script ones); Faker is used as a
maintained list of names only, nothing is generated. The lists load once, on first use, in the calling thread.
"""

from __future__ import annotations

import functools
import importlib
import json
import lzma
import pkgutil
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from server.domain.knowledge.anonymizer._lists import word_set

__all__ = ["Vocabulary", "build_word_list", "vocabulary"]

ORDINARY_MIN = 5
PROPER_MIN = 10
WORDS_FILE = Path(__file__).with_name("words.txt")

# Names Microsoft's articles use for their example people: names, not product words, whatever the corpus says.
_NAMES_DESPITE_CORPUS = frozenset({"john", "warren", "zakir", "smith", "anderson"})
# Products, places and calendar words that are also first names in some locale.
_NOT_NAMES = word_set(
    """
    alexa siri cortana dell ruby julia opera vista azure aurora nova sage mint fedora kali arch java jenkins swift
    rust chrome edge sonos canon brother xerox ricoh epson nokia tesla ford mercedes jaguar apple amazon google
    oracle adobe cisco juniper aruba meraki ubiquiti citrix vmware okta duo zoom slack webex jabber bose logitech
    lenovo asus acer razer corsair kingston sandisk samsung sony philips siemens bosch miele harmony echo alpha beta
    gamma delta sigma omega monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december spring summer autumn winter christmas easter london paris
    berlin madrid rome vienna dublin sydney victoria florence georgia virginia carolina austin dallas houston phoenix
    jordan chad india china israel america columbia france german french english dutch irish welsh scottish
    american british european asia africa europe india teams word excel outlook windows office surface pixel galaxy
    android linux ubuntu debian unix hello guest admin root user support service helpdesk desk team manager payroll
    finance sales legal security network wifi printer norton mcafee avast kaspersky sophos eset jan feb mar apr jun
    jul aug sep sept oct nov dec mon tue wed thu fri sat sun
    """
)
_GREETINGS = word_set(
    """
    hi hello hey dear thanks thank thx cheers regards best kind sincerely yours morning afternoon evening greetings
    please sorry yes no ok okay note update urgent fyi ps
    """
)
_LATIN = re.compile(r"^[^\W\d_]{2,30}$")
_WORD = re.compile(r"(?<![\w@\\/.-])([A-Za-z][a-z]{1,30})(?![\w@\\/-])")


def _latin(name: str) -> bool:
    if name.isascii():
        return name.isalpha() and len(name) >= 2
    return bool(_LATIN.match(name)) and all(c.isascii() or "LATIN" in unicodedata.name(c, "") for c in name)


def _faker_names() -> tuple[frozenset[str], frozenset[str]]:
    import faker.providers.person as people  # noqa: PLC0415 — 80 locale modules, loaded on first use only

    first: set[str] = set()
    last: set[str] = set()
    for module in pkgutil.iter_modules(people.__path__):
        provider = importlib.import_module(f"{people.__name__}.{module.name}").Provider
        for attribute in dir(provider):
            if attribute.startswith(("first_name", "first_romanized")):
                target = first
            elif attribute.startswith(("last_name", "last_romanized")):
                target = last
            else:
                continue
            values = getattr(provider, attribute)
            if isinstance(values, dict):
                values = list(values)
            if isinstance(values, list | tuple):
                target.update(v.lower() for v in values if isinstance(v, str) and _latin(v))
    return frozenset(first), frozenset(last)


def _lorem_words() -> frozenset[str]:
    from faker.providers.lorem.en_US import Provider  # noqa: PLC0415 — the 1,000 commonest English words

    return frozenset(w.lower() for w in Provider.word_list)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Lower-cased word sets: ordinary words, proper terms, greetings, strong and weak first names, surnames.

    A *strong* first name is a name and nothing else; a *weak* one is also an ordinary word or a product (``Will``,
    ``Grace``, ``Dell``) and counts only next to a surname or after a cue.
    """

    ordinary: frozenset[str]
    proper: frozenset[str]
    greetings: frozenset[str]
    strong_first: frozenset[str]
    weak_first: frozenset[str]
    surnames: frozenset[str]

    def is_first(self, word: str) -> bool:
        """Whether ``word`` (lower case) is a first name, strong or weak."""
        return word in self.strong_first or word in self.weak_first

    def is_plain(self, word: str) -> bool:
        """Whether ``word`` (lower case) is an ordinary word, a proper term or a greeting rather than a name."""
        return word in self.ordinary or word in self.proper or word in self.greetings


def _read_word_list() -> tuple[frozenset[str], frozenset[str]]:
    ordinary: set[str] = set()
    proper: set[str] = set()
    target = ordinary
    for line in WORDS_FILE.read_text(encoding="utf-8").splitlines():
        if line == "[proper]":
            target = proper
        elif line and not line.startswith(("#", "[")):
            target.add(line)
    return frozenset(ordinary), frozenset(proper)


@functools.cache
def vocabulary() -> Vocabulary:
    """The word sets, loaded once."""
    ordinary, proper = _read_word_list()
    ordinary = ordinary | _lorem_words()
    proper = (proper - _NAMES_DESPITE_CORPUS) | _NOT_NAMES
    first, last = _faker_names()
    plain = ordinary | proper | _GREETINGS
    return Vocabulary(
        ordinary=ordinary,
        proper=proper,
        greetings=_GREETINGS,
        strong_first=first - plain,
        weak_first=first & plain,
        surnames=(last - plain) - first,
    )


def build_word_list(corpus: Path) -> str:
    """``words.txt`` made from the seed corpus (``kb_articles.jsonl.xz``): ordinary words, then ``[proper]`` terms."""
    lower: Counter[str] = Counter()
    capital: Counter[str] = Counter()
    with lzma.open(corpus, "rt", encoding="utf-8") as lines:
        for line in lines:
            article = json.loads(line)
            text = " ".join(article.get(k) or "" for k in ("title", "symptoms", "cause", "resolution", "body"))
            for match in _WORD.finditer(text):
                word = match.group(1)
                (capital if word[0].isupper() else lower)[word.lower()] += 1
    ordinary = sorted(w for w, n in lower.items() if n >= ORDINARY_MIN)
    proper = sorted(w for w, n in capital.items() if n >= PROPER_MIN and lower[w] < ORDINARY_MIN)
    header = "# Made by server.domain.knowledge.anonymizer._vocabulary.build_word_list from the seed corpus.\n"
    return header + "\n".join(ordinary) + "\n[proper]\n" + "\n".join(proper) + "\n"


if __name__ == "__main__":  # python -m server.domain.knowledge.anonymizer._vocabulary
    from server.domain.knowledge.seed import SEED_CORPUS

    WORDS_FILE.write_text(build_word_list(SEED_CORPUS), encoding="utf-8")
