"""Scrub personal data from text a user wrote before it becomes knowledge-base content.

:func:`anonymize` replaces each kind of personal or secret datum with a typed placeholder (``[email]``, ``[phone]``,
``[ip]``, ``[mac]``, ``[host]``, ``[unc-path]``, ``[sid]``, ``[url]``, ``[secret]``, ``[name]``) and leaves the
troubleshooting content alone: error codes (``0x80070005``, ``AADSTS50076``), version numbers (``16.0.1234.5678``),
KB numbers, GUIDs, well-known SIDs (``S-1-5-18``) and ordinary paths survive. It is pure and idempotent (placeholders
never match a rule again), and it treats the text strictly as data.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = ["anonymize"]

_SENSITIVE_LABELS = (
    r"password|passwd|passphrase|pwd|pass|secret|client[_-]?secret|api[_-]?key|apikey|access[_-]?key|"
    r"access[_-]?token|auth[_-]?token|refresh[_-]?token|token|sas|sig|signature|private[_-]?key|pin"
)
_SECRET_QUERY = re.compile(
    rf"^(?:{_SENSITIVE_LABELS}|key|code|auth|session|sessionid|sid|jwt|credential|x-amz-[a-z-]+|sv|se|sp)$",
    re.IGNORECASE,
)

_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>\"'\[\]]+", re.IGNORECASE)
_BEARER = re.compile(r"\b(Bearer|Basic)\s+(?!\[)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)
_LABELLED_SECRET = re.compile(
    rf"\b({_SENSITIVE_LABELS})(\s*[:=]\s*|\s+(?:is|was)\s+)(?![\[\s])(\"[^\"]*\"|'[^']*'|\S+)", re.IGNORECASE
)
_KEY_PREFIXED = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|AKIA[0-9A-Z]{16}|"
    r"xox[abprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{30,}|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)"
)
_TOKEN = re.compile(r"(?<![\w/\\.-])[A-Za-z0-9+/_-]{24,}={0,2}(?![\w/\\])")
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_UNC = re.compile(r"(?<!\\)\\\\(?!\[)[^\s\\/]+(?:\\[^\s\\]*)*")
_USER_DIR = re.compile(
    r"(?i)(\b[A-Z]:\\Users\\|(?<![\w/])/home/|(?<![\w/])/Users/)(?!\[name\])"
    r"((?:[^\\/\r\n\[:;,.]{1,40}?(?=[\\/]))|[^\s\\/\[]+)"
)
_SHARED_PROFILES = {"public", "default", "all users", "default user", "shared"}
_SID = re.compile(r"\bS-1-(?:5-21|12-1|5-5)(?:-\d+){2,}\b", re.IGNORECASE)
_MAC = re.compile(
    r"(?<![\w:-])(?:[0-9A-Fa-f]{2}([:-]))(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}(?![\w:-])"
    r"|\b[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\b"
)
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(
    rf"(?<![\w.])(?<!version )(?<!v){_OCTET}(?:\.{_OCTET}){{3}}(?:/\d{{1,2}})?(?![\w]|\.\d)", re.IGNORECASE
)
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|:)?(?:%\w+)?(?![\w:])")
_INTERNAL_HOST = re.compile(
    r"\b(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?:local|lan|corp|internal|intranet|home|localdomain|ad|private|priv)\b",
    re.IGNORECASE,
)
_DEFAULT_HOST = re.compile(r"\b(?:DESKTOP|LAPTOP|WIN|PC)-[A-Z0-9]{5,15}\b", re.IGNORECASE)
_LABELLED_HOST = re.compile(
    r"\b(computer name|hostname|host name|machine name|device name|server name|server|host|computer)"
    r"(\s*[:=]\s*)(?!\[)([A-Za-z0-9][A-Za-z0-9.-]{1,62})",
    re.IGNORECASE,
)
_PHONE = re.compile(
    r"(?<![\w.+/-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]\d{2,4}){1,4}(?![\w-]|\.\d)"
)
_PHONE_CONTEXT = re.compile(r"(?:phone|tel|telephone|mobile|cell|call|fax|number)\W{0,3}$", re.IGNORECASE)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _entropy(token: str) -> float:
    counts = Counter(token)
    return -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())


def _token(match: re.Match[str]) -> str:
    value = match.group(0)
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"\d"))
    return "[secret]" if classes == 3 and _entropy(value) >= 3.5 else value


def _url(match: re.Match[str]) -> str:
    raw = match.group(0)
    trail = ""
    while raw and raw[-1] in ".,;:!?)":
        raw, trail = raw[:-1], raw[-1] + trail
    try:
        parts = urlsplit(raw)
        host = parts.hostname or ""
    except ValueError:
        return "[url]" + trail
    query = parse_qsl(parts.query, keep_blank_values=True) + parse_qsl(parts.fragment, keep_blank_values=True)
    secret = parts.username or parts.password or any(_SECRET_QUERY.match(key) for key, _ in query)
    if secret or not host or _is_ip(host) or _INTERNAL_HOST.fullmatch(host):
        return "[url]" + trail
    base = f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
    if parts.path in {"", "/"} and not parts.query and not parts.fragment:
        return base + parts.path + trail
    return base + "/[url]" + trail


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value.split("%", maxsplit=1)[0])
    except ValueError:
        return False
    return True


def _ipv6(match: re.Match[str]) -> str:
    value = match.group(0)
    return "[ip]" if ":" in value and any(c.isalnum() for c in value) and _is_ip(value) else value


def _phone(text: str) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        value = match.group(0)
        digits = sum(c.isdigit() for c in value)
        if _DATE.match(value) or digits > 15:
            return value
        context = bool(_PHONE_CONTEXT.search(text[max(0, match.start() - 24) : match.start()]))
        international = value.startswith("+") or "(" in value
        dashed = set(re.findall(r"[\s.-]", value)) == {"-"} and value.count("-") >= 2
        if (context and digits >= 7) or (international and digits >= 8) or (dashed and digits >= 10):
            return "[phone]"
        return value

    return replace


def _user_dir(match: re.Match[str]) -> str:
    prefix, user = match.group(1), match.group(2)
    return match.group(0) if user.strip().lower() in _SHARED_PROFILES else f"{prefix}[name]"


def _known_patterns(known: Iterable[str]) -> list[re.Pattern[str]]:
    tokens: set[str] = set()
    for raw in known:
        value = (raw or "").strip()
        if len(value) >= 3:
            tokens.add(value)
        local = value.split("@", 1)[0]  # an email's domain is shared with colleagues, not personal
        tokens.update(part for part in re.split(r"[\s._+-]+", local) if len(part) >= 3)
    ordered = sorted(tokens, key=lambda t: (-len(t), t.lower()))
    return [re.compile(rf"(?<![\w\[]){re.escape(t)}(?![\w\]])", re.IGNORECASE) for t in ordered]


def anonymize(text: str, *, known: Iterable[str] = ()) -> str:
    """``text`` with personal data and secrets replaced by typed placeholders.

    ``known`` are the author's own identifiers (name, username, email); they and their parts of three characters or
    more are replaced as ``[name]`` wherever they stand as whole words, case-insensitively.
    """
    text = _URL.sub(_url, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} [secret]", text)
    text = _KEY_PREFIXED.sub("[secret]", text)
    text = _LABELLED_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}[secret]", text)
    text = _EMAIL.sub("[email]", text)
    text = _UNC.sub("[unc-path]", text)
    text = _USER_DIR.sub(_user_dir, text)
    text = _SID.sub("[sid]", text)
    text = _MAC.sub("[mac]", text)
    text = _IPV4.sub("[ip]", text)
    text = _IPV6.sub(_ipv6, text)
    text = _INTERNAL_HOST.sub("[host]", text)
    text = _DEFAULT_HOST.sub("[host]", text)
    text = _LABELLED_HOST.sub(lambda m: f"{m.group(1)}{m.group(2)}[host]", text)
    text = _PHONE.sub(_phone(text), text)
    text = _TOKEN.sub(_token, text)
    for pattern in _known_patterns(known):
        text = pattern.sub("[name]", text)
    return text
