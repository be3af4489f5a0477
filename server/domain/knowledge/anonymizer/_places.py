"""Companies and postal addresses.

A company is named by its domain and NetBIOS name (learnt by the other detectors and from the accounts' e-mail
domains), by OneDrive's folder name (``OneDrive - Hooli``), and by a legal suffix (``Initech Ltd``); each of its
names goes wherever it stands. Postal addresses are found by their shape: a house number and a street type
(``350 Fifth Avenue``, ``12 Grimmauld Place``), a German street (``Musterstraße 12``), a PO box, then the town,
state and postcode that follow; and by a label (``my address is …``) for the rest.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from server.domain.knowledge.anonymizer._lists import VENDOR_DOMAINS, word_set

if TYPE_CHECKING:
    from server.domain.knowledge.anonymizer._accounts import Directory
    from server.domain.knowledge.anonymizer._spans import Found
    from server.domain.knowledge.anonymizer._vocabulary import Vocabulary

__all__ = ["find_places"]

_WORD = re.compile(r"[^\W_]{3,40}")
_ONEDRIVE = re.compile(r"\bOneDrive\s{0,2}[-–—]\s{0,2}([A-Z][\w&.'-]{0,40}(?: [A-Z][\w&.'-]{0,40}){0,3})")
_SUFFIX = re.compile(
    r"\b((?:[A-Z][\w&'-]{1,30} ){1,3})(?:Inc|Ltd|LLC|L\.L\.C|GmbH|AG|plc|PLC|Corp|Corporation|Limited|Holdings|"
    r"S\.A|SA|SAS|SARL|BV|B\.V|NV|N\.V|Pty|KG|SE|S\.r\.l|Srl|Oy|AB|ApS|AS)\b\.?"
)
_WORKPLACE = re.compile(
    r"(?i:\b(?:(?:i|we)\s{1,2}work\s{1,2}(?:at|for)|employed\s{1,2}(?:at|by)|my\s{1,2}(?:employer|company)\s{0,2}"
    r"(?:is\s{1,2}|:\s{0,2})?))\s{0,3}([A-Z][a-z&'-]{1,30}(?: [A-Z][a-z&'-]{1,30}){0,2})"
)
_STREET_TYPES = (
    r"Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd|Place|Pl|Court|Ct|Close|Way|Square|Sq|"
    r"Terrace|Crescent|Parkway|Pkwy|Highway|Hwy|Row|Walk|Gardens|Grove|Hill|Mews|Circle|Cir|Trail|Plaza|Alley|"
    r"Park|Green|Rise|View|Yard|Wharf|Quay|Ridge|Broadway|Embankment|Parade|Promenade"
)
# Street types that are also ordinary words ("9 Compatibility View"): an address only with a town or postcode after.
_WEAK_STREET_TYPES = word_set(
    "Place Pl Court Ct Way Square Row Walk Gardens Grove Hill Circle Park Green Rise View Yard"
)
_CITY = r"[A-Z][A-Za-zÀ-ÿ'.-]{1,30}(?: [A-Z][A-Za-zÀ-ÿ'.-]{1,30}){0,2}"
_POSTCODE = (
    r"(?:[A-Z]{2} \d{5}(?:-\d{4})?|\d{5}(?:-\d{4})?|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}|[A-Z]\d[A-Z] ?\d[A-Z]\d|"
    r"[A-Z]{2,3} \d{4}|[A-Z]\d{2} ?[A-Z0-9]{4}|\d{4}\b)"
)
_UNIT = r"(?:,? (?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Fl|#)\.? ?[\w-]{1,8})?"
_TAIL = rf"{_UNIT}(?:,? {_CITY}){{0,3}}(?:,? {_POSTCODE})?"
_STREET = re.compile(
    rf"(?<![\w.-])(?:(?:Flat|Apt|Apartment|Unit|Suite) [\w-]{{1,6}},? )?\d{{1,5}}[A-Za-z]?(?:[-–]\d{{1,5}})?,? "
    rf"(?:[A-Z][a-zA-Z'.-]{{1,25}} ){{1,4}}(?P<type>{_STREET_TYPES})\b\.?{_TAIL}"
)
_GERMAN_STREET = re.compile(
    rf"\b[A-ZÄÖÜ][a-zäöüß-]{{2,30}}(?:straße|strasse|str\.|weg|platz|allee|gasse|ring|damm|ufer|chaussee|steig)"
    rf" \d{{1,4}}[a-z]?(?:,? (?:\d{{5}} )?{_CITY})?"
)
_PO_BOX = re.compile(rf"(?i:\bP\.? ?O\.? ?Box|Postfach)\s{{1,2}}\d{{1,8}}{_TAIL}")
# "SW1A 1AA", "EC1V 9HX": a UK postcode standing alone is still an address.
_UK_POSTCODE = re.compile(r"(?<![\w-])[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}(?![\w-])")
_ADDRESS_LABEL = re.compile(
    r"(?i:\b(?:(?:my|home|postal|mailing|shipping|street|delivery|billing|office|work|new)\s{1,2}address(?:\s{1,2}is)?|live[sd]?\s{1,2}(?:at|in)|living\s{1,2}at|ship(?:ped)?(?:\s{1,2}it)?\s{1,2}to|"
    r"deliver(?:ed)?(?:\s{1,2}it)?\s{1,2}to|send\s{1,2}it\s{1,2}to))\s{0,3}:?\s{0,3}"
    r"(?!\[|0x)((?:[\w'.-]{1,30}(?:, ?| )){0,9}[\w'.-]{1,30})"
)
_ADDRESS_STOP = word_set("in if for because so and but please thanks when as since to until or which that")


def _organisations(found: Found, vocabulary: Vocabulary, directory: Directory) -> None:
    text = found.text
    names = set(found.organisations | directory.organisations)
    for pattern in (_ONEDRIVE, _SUFFIX, _WORKPLACE):
        for match in pattern.finditer(text):
            words = match.group(1).split()
            if vocabulary.is_plain(words[0].lower()) or f"{words[0].lower()}.com" in VENDOR_DOMAINS:
                continue  # Microsoft Corporation
            found.add(match.start(1), match.end(1), "[org]")
            names.update(w.lower() for w in words if len(w) >= 3 and not vocabulary.is_plain(w.lower()))
    names = {n for n in names if n not in vocabulary.ordinary and f"{n}.com" not in VENDOR_DOMAINS}
    if names:
        for match in _WORD.finditer(text):
            if match.group(0).lower() in names:
                found.add(match.start(), match.end(), "[org]")


def _labelled_address(found: Found, match: re.Match[str]) -> None:
    """The words after "my address is" up to the first lower-case word that is not part of an address."""
    value = match.group(1)
    end = 0
    for word in re.finditer(r"[\w'.-]+", value):
        token = word.group(0)
        if token.lower() in _ADDRESS_STOP or (token.islower() and not any(c.isdigit() for c in value[: word.end()])):
            break
        end = word.end()
    if end and any(c.isdigit() for c in value[:end]):
        found.add(match.start(1), match.start(1) + end, "[address]")


def find_places(found: Found, vocabulary: Vocabulary, directory: Directory) -> None:
    """Add the spans of every company name and postal address in ``found.text``."""
    text = found.text
    for match in _STREET.finditer(text):
        if match.group("type") not in _WEAK_STREET_TYPES or match.end() > match.end("type") + 1:
            found.add(match.start(), match.end(), "[address]")
    for pattern in (_GERMAN_STREET, _PO_BOX, _UK_POSTCODE):
        for match in pattern.finditer(text):
            found.add(match.start(), match.end(), "[address]")
    for match in _ADDRESS_LABEL.finditer(text):
        _labelled_address(found, match)
    _organisations(found, vocabulary, directory)
