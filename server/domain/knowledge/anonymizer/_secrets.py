"""Secrets: passwords and PINs in ordinary words, keys of known formats, product keys, and random-looking tokens.

A label (``password``, ``pw``, ``PIN``, ``the wifi key``, ``passcode``) followed by a value hides the value, unless
the value is an ordinary word (``my password is expired``, ``PIN reset``). Registry keys are not secrets: a bare
``key`` is a label only after ``wifi``, ``network``, ``product``, ``recovery`` and the like.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import TYPE_CHECKING

from server.domain.knowledge.anonymizer._lists import word_set

if TYPE_CHECKING:
    from server.domain.knowledge.anonymizer._spans import Found
    from server.domain.knowledge.anonymizer._vocabulary import Vocabulary

__all__ = ["find_secrets"]

# Labels a value may follow after a plain space ("PIN 2544", "pw hunter2") as well as after ":", "=" or "is".
_LOOSE_LABELS = (
    r"passwords?|passwd|passphrase|passcode|pass\s{0,2}code|pwd|pw|pin(?:\s{0,2}(?:code|number))?|puk|"
    r"(?:wi-?fi|wlan|wireless|network|security|wpa2?|wep|router|hotspot|guest)\s{0,2}(?:key|password|passphrase|code|pass|pw)|"
    r"(?:door|alarm|gate|lock|safe|entry|building|voicemail)\s{0,2}(?:code|pin)|"
    r"psk|pre-?shared\s{1,2}key|(?:bitlocker\s{1,2})?recovery\s{1,2}(?:key|password)|unlock\s{1,2}code|"
    r"(?:one-?time|verification|mfa|2fa|otp|sms|auth(?:entication)?|security|access)\s{0,2}code|otp"
)
# Labels a value follows only after ":", "=" or "is": these words have other uses ("pass the test", "token expired").
_STRICT_LABELS = (
    r"secret|client[_-]?secret|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|private[_-]?key|"
    r"access[_-]?token|auth[_-]?token|refresh[_-]?token|token|credentials?|"
    r"licen[cs]e\s{0,2}key|product\s{0,2}key|activation\s{0,2}key|cd\s{0,2}key|encryption\s{0,2}key"
)
_VALUE = r"(?!\[)(\"[^\"\n]{1,80}\"|'[^'\n]{1,80}'|“[^”\n]{1,80}”|[^\s\"'“]{1,80})"
# Separators stay on the label's line: a label ending a line ("Problem signature:") has no value.
_ASSIGN = (
    r"(?:[ \t]{0,3}[:=][ \t]{0,3}|[ \t]{1,3}is:[ \t]{0,3}|"
    r"[ \t]{1,3}(?:is|was|now|to|of|set[ \t]{1,3}to|changed[ \t]{1,3}to|reads?)(?:[ \t]{1,3}now)?[ \t]{1,3})"
)
_SPACE = r"[ \t]{1,3}(?:(?:is|was)[ \t]{1,3}(?:still|now)[ \t]{1,3})?|[ \t]{0,3}-[ \t]{0,3}"
_LOOSE = re.compile(rf"(?i)\b({_LOOSE_LABELS})(?:{_ASSIGN}|{_SPACE}){_VALUE}")
_STRICT = re.compile(rf"(?i)\b({_STRICT_LABELS})(?:{_ASSIGN}){_VALUE}")
_BEARER = re.compile(r"\b(?:Bearer|Basic|bearer|BEARER)[ \t]{1,3}(?!\[)([A-Za-z0-9._~+/=-]{8,4096})")
_KEY_PREFIXED = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{16,256}|gh[pousr]_[A-Za-z0-9]{20,256}|github_pat_[A-Za-z0-9_]{20,256}|"
    r"AKIA[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9-]{10,256}|AIza[0-9A-Za-z_-]{30,256}|glpat-[A-Za-z0-9_-]{20,256}|"
    r"eyJ[A-Za-z0-9_-]{1,4096}\.[A-Za-z0-9_-]{1,4096}\.[A-Za-z0-9_-]{1,4096})"
)
# Windows and Office product keys, BitLocker recovery keys.
_PRODUCT_KEY = re.compile(r"(?<![\w-])[A-Z0-9]{5}(?:-[A-Z0-9]{5}){4}(?![\w-])|(?<![\w-])\d{6}(?:-\d{6}){7}(?![\w-])")
# A password written without a label: letters, digits and a symbol in one word ("Spring#2025", "Tr0ub4dor&3").
_PASSWORD_SHAPE = re.compile(
    r"(?<![\w!#$%^&*@.:/\\-])[A-Za-z][A-Za-z0-9!#$%^&*@-]{4,38}[A-Za-z0-9!#$*](?![\w@:/\\&]|\.\w)"
)
_TOKEN = re.compile(r"(?<![\w/\\.-])[A-Za-z0-9+/_-]{24,512}={0,2}(?![\w/\\])")
_GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
# Identifiers made of words (Microsoft-Windows-SpoolerWin32SPL, entry_SYSCALL_64_fastpath) have long lower-case runs;
# random tokens rarely do.
_WORDY = re.compile(r"[a-z]{6}")
# Words after a label that say something about the secret instead of being it.
_NOT_VALUES = word_set(
    """
    a an the my your his her our their this that it its is was not no none nothing never still now again also just
    expired wrong incorrect invalid correct right same different new old changed reset required needed missing
    empty blank locked accepted rejected working ok fine saved stored forgotten lost being been too very hidden
    prompt prompts field box dialog manager policy policies change changes for from with when and or but in on at
    to of by as after before since until while because so then if which who whom what where how
    """
)


def _entropy(token: str) -> float:
    counts = Counter(token)
    return -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())


def _value_span(found: Found, match: re.Match[str], vocabulary: Vocabulary) -> None:
    value = match.group(2)
    start = match.start(2)
    if value[0] in "\"'“":
        found.add(start, start + len(value), "[secret]")
        return
    value = value.rstrip(".,;:)")
    word = value.lower()
    assigned = bool(re.search(r"[:=]|\b(?:is|was|to|of|reads?)\s*$", match.group(0)[: start - match.start()], re.I))
    if not assigned and value.replace("-", "").isalpha():
        return  # "password vault", "PIN reset": a plain space before a word is no assignment
    if not any(c.isalnum() for c in value) or value[0] in "$%(<{|=&" or word in _NOT_VALUES:
        return  # a variable, a placeholder or punctuation, not a secret
    if all(part in vocabulary.ordinary or part in vocabulary.proper for part in word.split("-")):
        return  # "password prompt", "password for Outlook", "password sign-in"
    found.add(start, start + len(value), "[secret]")


def find_secrets(found: Found, vocabulary: Vocabulary) -> None:
    """Add the spans of every secret in ``found.text``."""
    text = found.text
    for match in _KEY_PREFIXED.finditer(text):
        found.add(match.start(), match.end(), "[secret]")
    for match in _BEARER.finditer(text):
        if not _WORDY.search(match.group(1)):  # "Basic Authentication" is a scheme, not a credential
            found.add(match.start(1), match.end(1), "[secret]")
    for match in _PRODUCT_KEY.finditer(text):
        found.add(match.start(), match.end(), "[secret]")
    for pattern in (_LOOSE, _STRICT):
        for match in pattern.finditer(text):
            _value_span(found, match, vocabulary)
    for match in _PASSWORD_SHAPE.finditer(text):
        value = match.group(0)
        symbols = sum(c in "!#$%^&*@" for c in value)
        if re.search(r"%[0-9A-Fa-f]{2}", value):
            continue  # URL-encoded text, "SCEP%20Authority"
        if symbols and any(c.isdigit() for c in value) and any(c.isalpha() for c in value) and symbols < len(value) / 3:
            found.add(match.start(), match.end(), "[secret]")
    for match in _TOKEN.finditer(text):
        value = match.group(0)
        if _GUID.search(value) or _WORDY.search(value):
            continue
        classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"\d"))
        if classes == 3 and _entropy(value) >= 3.5:
            found.add(match.start(), match.end(), "[secret]")
