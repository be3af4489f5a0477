"""Numbers that identify a person or a device: phones, cards, IBANs, national IDs, employee IDs, serials and tags.

Phone numbers are checked with ``phonenumbers`` (Google's libphonenumber) in the regions a helpdesk ticket is
likely to come from, cards with the Luhn check, IBANs, SSNs and IMEIs with ``python-stdnum``. A number that only a
label tells apart (``employee ID 447509``, ``Serial number RKH24RN0Y7``, ``asset tag ACM-737067``) goes when the
label is there; error codes, KB numbers, event IDs, ports and versions carry no such label and stay.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import phonenumbers
from stdnum import iban, luhn
from stdnum.us import ssn

from server.domain.knowledge.anonymizer._lists import STANDARD_PREFIXES

if TYPE_CHECKING:
    from server.domain.knowledge.anonymizer._spans import Found
    from server.domain.knowledge.anonymizer._vocabulary import Vocabulary

__all__ = ["find_numbers"]

# National formats are tried in these regions; a number written with + or 00 needs none.
REGIONS = ("GB", "US", "DE", "FR", "NL", "IE", "AT", "CH", "BE", "IT", "ES", "SE", "DK", "PL", "AU", "IN", "CA")

_PHONE = re.compile(r"(?<![\w+/.,-])(?:\+|00)?(?:\(\d{1,5}\)|\d)[\d ().\-/]{5,24}\d(?![\w-]|[.,]\d)")
_PHONE_CUE = re.compile(
    r"\b(?:phone|tel|telephone|mobile|cell|call|fax|number|reach|text|whatsapp|signal|handy|ring|dial|contact|"
    r"direct|desk|landline|mob|ph)\b\W{0,12}(?:\w{1,12}\W{1,3}){0,3}$",
    re.IGNORECASE,
)
_EXTENSION = re.compile(
    r"(?i:\b(?:ext|extn|extension|durchwahl|dw)\b\.?\s{0,3}(?:no\.?\s{0,2}|number\s{0,2}|is\s{1,3}|[:#]\s{0,2})?)"
    r"(?!\[)(\d{2,6})\b|(?<![\w.-])x(\d{4,5})\b"
)
_CARD = re.compile(r"(?<![\w.+-])\d(?:[ -]?\d){12,18}(?![\w-]|[.,]\d)")
_CARD_CUE = re.compile(r"(?:card|visa|mastercard|amex|credit|debit|cc)\W{1,20}$", re.IGNORECASE)
_IBAN = re.compile(r"(?<![\w])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![\w])")
_SSN = re.compile(r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])")
_NINO = re.compile(r"(?<![\w])[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![\w])")  # a UK National Insurance number
_LUHN_15 = re.compile(r"(?<![\w.-])\d{15}(?![\w-])")

_SEP = r"(?:\s{0,3}[:#=]\s{0,3}|\s{1,3}(?:is|was|of)\s{1,3}|\s{1,3}|\s{0,2}-\s{0,2})"
_NUMBER_WORD = r"(?:\s{0,2}(?:number|numbers|no\.?|nr\.?|num|#|id|code|tag))?"
_LABELS = {
    "[employee-id]": r"(?:employee|staff|personnel|payroll|badge|worker|emp\.?|member|personal|mitarbeiter)"
    r"(?:\s{0,2}(?:id|number|no\.?|nr\.?|num|#|code))|personalnummer|mitarbeiternummer|badge",
    "[national-id]": r"ssn|social\s{1,2}security(?:\s{1,2}number)?|national\s{1,2}insurance(?:\s{1,2}number)?|"
    r"ni\s{1,2}number|nino|national\s{1,2}id(?:entity)?(?:\s{1,2}number)?|id\s{1,2}card(?:\s{1,2}number)?|"
    r"passport(?:\s{1,2}(?:number|no\.?))?|tax\s{1,2}(?:id|number|identification\s{1,2}number)|tin|steuer-?id|"
    r"steuernummer|sozialversicherungsnummer|(?:driver'?s?|driving)\s{1,2}licen[cs]e(?:\s{1,2}(?:number|no\.?))?|"
    r"sin|bsn|personnummer|pesel|dni|nie|nif|codice\s{1,2}fiscale|ahv",
    "[serial]": r"serial(?:\s{0,2}(?:number|no\.?|nr\.?|#))?|s/n|sn(?=\s{0,2}[:#])|service\s{1,2}tag|"
    r"express\s{1,2}service\s{1,2}code|imei|meid|iccid|sim(?:\s{1,2}card)?\s{1,2}number|hardware\s{1,2}id",
    "[asset-tag]": r"asset(?:\s{0,2}(?:tag|number|no\.?|id|#))?|inventory(?:\s{0,2}(?:number|tag|no\.?|#))?|"
    r"property\s{1,2}tag",
    "[birth-date]": r"dob|d\.o\.b|date\s{1,2}of\s{1,2}birth|birth\s{0,2}date|birthday|born(?:\s{1,2}on)?",
    "[account-number]": r"account\s{1,2}(?:number|no\.?)|sort\s{1,2}code|routing\s{1,2}number|bic|swift"
    r"(?:\s{1,2}code)?|iban|card\s{1,2}number|credit\s{1,2}card|bank\s{1,2}account",
}
_LABELLED = [
    (
        placeholder,
        re.compile(rf"(?i)\b(?:{cue})(?!\w){_SEP}(?!\[)([A-Z0-9](?:[A-Z0-9/-]|\s(?=\d)){{2,40}}[A-Z0-9])(?![\w-])"),
    )
    for placeholder, cue in _LABELS.items()
]


def _grouped_like_phone(value: str) -> bool:
    groups = [g for g in re.split(r"[ ().\-/]+", value.lstrip("+")) if g]
    if len(groups) == 1:
        return True
    first = 2 if value.startswith(("+", "00")) else 0  # the country code, then +33 6 … may have one digit
    return all(len(g) >= 2 for g in groups[first:])


def _date_like(value: str) -> bool:
    return bool(re.fullmatch(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}(?:[ T]\d{1,2}[:.]\d{2})?", value))


def _possible(value: str, regions: tuple[str, ...]) -> bool:
    for region in regions:
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            return True
    return False


def _phones(found: Found) -> None:
    text = found.text
    for match in _PHONE.finditer(text):
        value = match.group(0).rstrip(" ().-/")
        end = match.start() + len(value)
        value = value.replace("(0)", "")  # +44 (0)20 …: the trunk prefix written beside the country code
        digits = sum(c.isdigit() for c in value)
        if not 7 <= digits <= 15 or _date_like(value) or not _grouped_like_phone(value):
            continue
        if re.fullmatch(r"[\d.]+", value) and value.count(".") in {1, 3}:
            continue  # a decimal number, an IPv4 address or a version, never a phone
        if re.search(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}", value):
            continue  # holds a date
        international = value.startswith(("+", "00"))
        if international:
            accepted = _possible("+" + value.removeprefix("+").removeprefix("00"), ("ZZ",))
        elif value.startswith("("):
            accepted = _possible(value, REGIONS)
        elif value.startswith("0"):
            accepted = _possible(value, REGIONS) and bool(re.search(r"[ ./-]", value) or digits >= 10)
        elif re.fullmatch(r"\d{3}[-. ]\d{3}[-. ]\d{4}", value):
            accepted = True  # the North American shape, 555-867-5309 or 555.867.5309
        else:
            cue = _PHONE_CUE.search(text[max(0, match.start() - 40) : match.start()])
            accepted = bool(cue) and _possible(value, REGIONS)
        if accepted:
            found.add(match.start(), end, "[phone]")
    for match in _EXTENSION.finditer(text):
        found.add(match.start(), match.end(), "[phone]")


def _cards_and_accounts(found: Found) -> None:
    text = found.text
    for match in _CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if len(set(digits)) == 1:
            continue  # 0000 0000 0000 0000 is a placeholder in a manual
        cue = _CARD_CUE.search(text[max(0, match.start() - 30) : match.start()])
        if luhn.is_valid(digits) or cue:
            found.add(match.start(), match.end(), "[card]")
    for match in _LUHN_15.finditer(text):
        if luhn.is_valid(match.group(0)):  # an IMEI (or a card written without spaces)
            found.add(match.start(), match.end(), "[serial]")
    for match in _IBAN.finditer(text):
        value = match.group(0)
        labelled = text[max(0, match.start() - 8) : match.start()].lower().rstrip(" :").endswith("iban")
        while value and not iban.is_valid(value) and " " in value:
            value = value.rsplit(" ", 1)[0]  # a word after the IBAN may have been taken for its last group
        if iban.is_valid(value) or labelled:
            found.add(match.start(), match.start() + len(value if iban.is_valid(value) else match.group(0)), "[iban]")
    for match in _SSN.finditer(text):
        cue = re.search(r"ssn|social", text[max(0, match.start() - 30) : match.start()], re.IGNORECASE)
        if ssn.is_valid(match.group(0)) or cue:
            found.add(match.start(), match.end(), "[national-id]")
    for match in _NINO.finditer(text):
        found.add(match.start(), match.end(), "[national-id]")


def _labelled(found: Found, vocabulary: Vocabulary) -> None:
    for placeholder, pattern in _LABELLED:
        for match in pattern.finditer(found.text):
            value = match.group(1)
            if not any(c.isdigit() for c in value) and (len(value) < 5 or not value.isupper()):
                continue  # "serial number is missing", "asset tag on the base": a value has digits or is a code
            if value.lower() in vocabulary.ordinary or value.split("-", 1)[0] in STANDARD_PREFIXES:
                continue
            found.add(match.start(1), match.end(1), placeholder)


def find_numbers(found: Found, vocabulary: Vocabulary) -> None:
    """Add the spans of every identifying number in ``found.text``."""
    _phones(found)
    _cards_and_accounts(found)
    _labelled(found, vocabulary)
