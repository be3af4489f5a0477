r"""Network identities: URLs, e-mail addresses, IP and MAC addresses, SIDs, host names, UNC and user paths, DOMAIN\user.

Public names of vendors (``support.microsoft.com``, ``login.microsoftonline.com``) are troubleshooting content and
stay; every other domain in a ticket is the company's own or a person's, and goes. Each organisation name seen in a
domain or a NetBIOS name is remembered, so the same word elsewhere in the text goes too.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from server.domain.knowledge.anonymizer._lists import (
    FILE_EXTENSIONS,
    FREE_MAIL,
    GENERIC_SUBDOMAINS,
    KEPT_IPS,
    REGISTRY_ROOTS,
    SECOND_LEVEL,
    SHARED_PROFILES,
    STANDARD_PREFIXES,
    TENANT_DOMAINS,
    TLDS,
    VENDOR_DOMAINS,
    WELL_KNOWN_DOMAINS,
    WELL_KNOWN_PRINCIPALS,
    WINDOWS_FOLDERS,
)

if TYPE_CHECKING:
    from server.domain.knowledge.anonymizer._spans import Found
    from server.domain.knowledge.anonymizer._vocabulary import Vocabulary

__all__ = ["find_network", "registrable", "vendor_host"]

_SECRET_QUERY = re.compile(
    r"^(?:password|passwd|pwd|pass|secret|client[_-]?secret|api[_-]?key|apikey|access[_-]?key|access[_-]?token|"
    r"auth[_-]?token|refresh[_-]?token|token|sas|sig|signature|private[_-]?key|pin|key|code|auth|session|"
    r"sessionid|sid|jwt|credential|x-amz-[a-z-]{1,40}|sv|se|sp|user|username|email|login)$",
    re.IGNORECASE,
)
_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>\"'\[\]]{1,2000}", re.IGNORECASE)
_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9._%+-]{1,64}@([A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24})\b"
)
# "olga at acme dot com", "olga(at)acme.com", "olga [at] acme [dot] com"
_AT = r"(?:\s{0,3}[(\[{]\s{0,2}at\s{0,2}[)\]}]\s{0,3}|\s{1,3}at\s{1,3})"
_DOT = r"(?:\s{0,3}[(\[{]\s{0,2}dot\s{0,2}[)\]}]\s{0,3}|\s{1,3}dot\s{1,3}|\.)"
_SPELLED_EMAIL = re.compile(
    rf"(?<![\w.+-])[A-Za-z0-9._+-]{{1,64}}{_AT}([A-Za-z0-9-]{{1,63}}(?:{_DOT}[A-Za-z0-9-]{{1,63}}){{1,4}})(?![\w-])",
    re.IGNORECASE,
)
_SPELLED_DOT = re.compile(_DOT, re.IGNORECASE)
_UNC = re.compile(r"(?<!\\)\\\\(?!\[)[^\s\\/\"'<>|]{1,255}(?:\\[^\s\\\"'<>|]{0,255}){0,32}")
_USER_DIR = re.compile(
    r"(?i)(\b[A-Z]:\\(?:Users|Documents and Settings)\\|(?<![\w/])/home/|(?<![\w/])/Users/)(?!\[)"
    r"((?:[^\\/\r\n\[:;,.\"']{1,40}?(?=[\\/]))|[^\s\\/\[\"']{1,64})"
)
_SID = re.compile(r"\bS-1-(?:5-21|12-1|5-5)(?:-\d{1,10}){2,8}\b", re.IGNORECASE)
_MAC = re.compile(
    r"(?<![\w:-])(?:[0-9A-Fa-f]{2}([:-]))(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}(?![\w:-])"
    r"|\b[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\b"
)
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(
    rf"(?<![\w.])(?<!version )(?<!v){_OCTET}(?:\.{_OCTET}){{3}}(?:/\d{{1,2}})?(?![\w]|\.\d)", re.IGNORECASE
)
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|:)?(?:%\w{1,16})?(?![\w:])")
# A dotted name whose last label is a top-level domain: host names, and bare domains in running text.
_FQDN = re.compile(
    r"(?<![\w.@/\\-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}([A-Za-z]{2,24})(?![\w-]|\.\w)"
)
# ACME-LT-0423, NYC-PRN-04: upper-case segments, the last one with a digit; DESKTOP-7H2K9QX and friends.
_CORPORATE_HOST = re.compile(r"(?<![\w.-])[A-Z][A-Z0-9]{1,14}(?:-[A-Z0-9]{1,15}){2,4}(?![\w-])")
_DEFAULT_HOST = re.compile(r"\b(?:DESKTOP|LAPTOP|WIN|PC|NB|MBP|MACBOOK|IPHONE|IPAD)-[A-Z0-9]{4,15}\b", re.IGNORECASE)
_LABELLED_HOST = re.compile(
    r"\b(?:computer|host|machine|device|server|pc|workstation|laptop|printer|notebook|desktop|node|vm)"
    r"(?:\s{0,2}name)?(?:\s{0,3}[:=]\s{0,3}|\s{1,3}(?:is\s{1,3}|called\s{1,3}|named\s{1,3})?)"
    r"(?!\[)([A-Za-z0-9][A-Za-z0-9.-]{1,62}[A-Za-z0-9])",
    re.IGNORECASE,
)
_STRONG_HOST_LABEL = re.compile(r"name|host", re.IGNORECASE)
_DOMAIN_USER = re.compile(r"(?<![\w\\:/.$%-])([A-Za-z][A-Za-z0-9-]{1,14})\\([A-Za-z0-9][\w.-]{0,63})(?![\w\\])")
_TRAILING = ".,;:!?)'\""


def registrable(host: str) -> str:
    """The registrable part of ``host``: ``acme.com`` of ``vpn.acme.com``, ``acme.co.uk`` of ``www.acme.co.uk``."""
    labels = host.lower().rstrip(".").split(".")
    if len(labels) >= 3 and f"{labels[-2]}.{labels[-1]}" in SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def vendor_host(host: str) -> bool:
    """Whether ``host`` is a public vendor's name (kept), tenant names aside."""
    return registrable(host) in VENDOR_DOMAINS


def _organisation_of(host: str, vocabulary: Vocabulary) -> str | None:
    if "." not in host:
        return None
    domain = registrable(host)
    if domain in VENDOR_DOMAINS or domain in FREE_MAIL:
        return None
    label = domain.split(".", 1)[0]
    return label if len(label) >= 3 and label not in vocabulary.ordinary else None


def _tenant_span(found: Found, start: int, host: str, vocabulary: Vocabulary) -> bool:
    """``acme.sharepoint.com`` → ``[org].sharepoint.com``; True when ``host`` was a tenant name."""
    domain = registrable(host)
    if domain not in TENANT_DOMAINS:
        return False
    labels = host.lower().split(".")
    below = labels[-len(domain.split(".")) - 1] if len(labels) > len(domain.split(".")) else ""
    if below and below not in GENERIC_SUBDOMAINS:
        offset = start + host.lower().rfind(below + "." + domain)
        found.add(offset, offset + len(below), "[org]")
        name = below.split("-", 1)[0]
        if len(name) >= 3 and name.isalpha() and name not in vocabulary.ordinary:
            found.organisations.add(name)
    return True


def _url(found: Found, match: re.Match[str], vocabulary: Vocabulary) -> None:
    raw = match.group(0).rstrip(_TRAILING)
    start, end = match.start(), match.start() + len(raw)
    try:
        parts = urlsplit(raw)
        host = parts.hostname or ""
    except ValueError:
        found.add(start, end, "[url]")
        return
    query = parse_qsl(parts.query, keep_blank_values=True) + parse_qsl(parts.fragment, keep_blank_values=True)
    secret = parts.username or parts.password or any(_SECRET_QUERY.match(key) for key, _ in query)
    if secret or not host or _is_ip(host) or not vendor_host(host):
        found.add(start, end, "[url]")
        if host and (organisation := _organisation_of(host, vocabulary)):
            found.organisations.add(organisation)
        return
    _tenant_span(found, start + raw.lower().find(host), host, vocabulary)
    base = len(f"{parts.scheme}://{parts.netloc}")
    if raw[base:] not in {"", "/"}:
        found.add(start + base, end, "/[url]")


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value.split("%", maxsplit=1)[0])
    except ValueError:
        return False
    return True


def _kept_ip(value: str) -> bool:
    address = value.split("/", 1)[0]
    if address in KEPT_IPS or ("/" in value and address.endswith(".0")):
        return True  # well-known resolvers, and networks written with a prefix length
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    # IPv4 link-local (APIPA) is a symptom, not an address anyone owns; IPv6 link-local embeds the MAC address.
    link_local = ip.is_link_local and ip.version == 4
    return ip.is_loopback or ip.is_unspecified or link_local or ip.is_multicast or address.startswith("255.")


def _emails(found: Found, vocabulary: Vocabulary) -> None:
    for match in _EMAIL.finditer(found.text):
        found.add(match.start(), match.end(), "[email]")
        if organisation := _organisation_of(match.group(1), vocabulary):
            found.organisations.add(organisation)
    for match in _SPELLED_EMAIL.finditer(found.text):
        labels = [label.lower() for label in _SPELLED_DOT.split(match.group(1))]
        if labels[-1] in TLDS:
            found.add(match.start(), match.end(), "[email]")
            if (organisation := labels[-2]) not in vocabulary.ordinary and len(organisation) >= 3:
                found.organisations.add(organisation)


def _hosts(found: Found, vocabulary: Vocabulary) -> None:
    text = found.text
    for match in _FQDN.finditer(text):
        host, tld = match.group(0), match.group(1)
        if tld.lower() not in TLDS or (tld.isupper() and len(host.split(".")) == 2) or vendor_host(host):
            if vendor_host(host):
                _tenant_span(found, match.start(), host, vocabulary)
            continue
        if host.split(".", 1)[0].lower() in FILE_EXTENSIONS or host.lower().endswith(tuple(FILE_EXTENSIONS)):
            continue
        found.add(match.start(), match.end(), "[host]")
        if organisation := _organisation_of(host, vocabulary):
            found.organisations.add(organisation)


def _named_hosts(found: Found, vocabulary: Vocabulary) -> None:
    text = found.text
    for match in _CORPORATE_HOST.finditer(text):
        segments = match.group(0).split("-")
        if all(re.fullmatch(r"[0-9A-F]{4,12}", s) for s in segments):
            continue  # a GUID or a hex dump, not a host
        if sum(c.isdigit() for c in segments[-1]) >= 2 and segments[0] not in STANDARD_PREFIXES:
            found.add(match.start(), match.end(), "[host]")
            if len(segments[0]) >= 3 and segments[0].isalpha() and not vocabulary.is_plain(segments[0].lower()):
                found.organisations.add(segments[0].lower())
    for match in _DEFAULT_HOST.finditer(text):
        found.add(match.start(), match.end(), "[host]")
    for match in _LABELLED_HOST.finditer(text):
        value = match.group(1)
        strong = bool(_STRONG_HOST_LABEL.search(text[match.start() : match.start(1)]))
        lower_alnum = value.isalnum() and value.islower() and value[0].isalpha() and any(c.isdigit() for c in value)
        if vocabulary.is_plain(value.lower()) or value.isdigit() or vendor_host(value) or value.startswith("0x"):
            continue
        tail = value.rsplit("-", 1)[-1]
        numbered = "-" in value and any(c.isdigit() for c in tail)  # srv-print02, LT-0423; not 2019-based
        if strong or numbered or (lower_alnum and len(value) >= 4):
            found.add(match.start(1), match.end(1), "[host]")


def _not_an_account(domain: str, user: str, preceding: str, vocabulary: Vocabulary) -> bool:
    r"""Whether ``domain\user`` is a path, a registry key, a well-known principal or an escape, not an account."""
    lower_domain, lower_user = domain.lower(), user.lower()
    return (
        lower_domain in REGISTRY_ROOTS
        or lower_domain in WINDOWS_FOLDERS
        or lower_domain.startswith("hk")
        or lower_domain in WELL_KNOWN_DOMAINS
        or any(preceding.endswith(w + " ") for w in WELL_KNOWN_DOMAINS)  # NT AUTHORITY\SYSTEM
        or bool(re.match(r"[ntr][A-Z]", user))  # "US\nIssuer" is an escaped line break in a log
        or lower_user in WELL_KNOWN_PRINCIPALS  # BUILTIN\Administrators
        or lower_user in WINDOWS_FOLDERS  # "OneDrive - Acme\Documents" is handled as a company
        or ("." in user and user.rsplit(".", 1)[1].lower() in FILE_EXTENSIONS)
        or vocabulary.is_plain(lower_user)  # a folder named by a word ("ENTER\computer")
    )


def _domain_users(found: Found, vocabulary: Vocabulary) -> None:
    for match in _DOMAIN_USER.finditer(found.text):
        domain, user = match.group(1), match.group(2).rstrip(".-")
        lower_domain = domain.lower()
        preceding = found.text[max(0, match.start() - 12) : match.start()].lower()
        if _not_an_account(domain, user, preceding, vocabulary):
            continue
        upper = domain.isupper() and len(domain) >= 2 and not user.isupper()
        named = domain[0].isupper() and not vocabulary.is_plain(lower_domain) and user[0].islower()
        if upper or named or lower_domain in found.organisations:
            found.add(match.start(), match.start() + len(domain) + 1 + len(user), "[username]")
            if len(domain) >= 3 and domain.isalpha() and not vocabulary.is_plain(lower_domain) and user.islower():
                found.organisations.add(lower_domain)  # GLOBEX\flindqvist: the company's NetBIOS name


def find_network(found: Found, vocabulary: Vocabulary) -> None:
    """Add the spans of every network identity in ``found.text``."""
    text = found.text
    for match in _URL.finditer(text):
        _url(found, match, vocabulary)
    _emails(found, vocabulary)
    for match in _UNC.finditer(text):
        found.add(match.start(), match.end(), "[unc-path]")
    for match in _USER_DIR.finditer(text):
        if match.group(2).strip().lower() not in SHARED_PROFILES:
            found.add(match.start(2), match.end(2), "[name]")
    for match in _SID.finditer(text):
        found.add(match.start(), match.end(), "[sid]")
    for match in _MAC.finditer(text):
        if match.group(1) or any(c.isalpha() for c in match.group(0)):  # 1605.1606.6002 is a version
            found.add(match.start(), match.end(), "[mac]")
    for match in _IPV4.finditer(text):
        if not _kept_ip(match.group(0)):
            found.add(match.start(), match.end(), "[ip]")
    for match in _IPV6.finditer(text):
        value = match.group(0)
        if ":" in value and any(c.isalnum() for c in value) and _is_ip(value) and not _kept_ip(value):
            found.add(match.start(), match.end(), "[ip]")
    _hosts(found, vocabulary)
    _named_hosts(found, vocabulary)
    _domain_users(found, vocabulary)
