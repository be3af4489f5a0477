"""Parsers of ``TECHPAL_*`` values: each takes the raw string and returns the value or raises ``ValueError``."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from server.settings._sections import ProxyNetwork, Secret
from server.settings.plans import load_catalogue

Parser = Callable[[str], Any]


def _text(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


def _path(raw: str) -> Path:
    return Path(_text(raw)).expanduser()


def _existing_file(raw: str) -> Path:
    path = _path(raw)
    if not path.is_file():
        raise ValueError(f"no readable file at {path}")
    return path


def _int_between(low: int, high: int) -> Parser:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError(f"expected a whole number from {low} to {high}") from None
        if not low <= value <= high:
            raise ValueError(f"expected a whole number from {low} to {high}")
        return value

    return parse


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _choice(*choices: str) -> Parser:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return value

    return parse


def _http_url(raw: str) -> str:
    value = _text(raw).rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("expected an http:// or https:// URL")
    if parts.query or parts.fragment:
        raise ValueError("must not have a query or fragment")
    return value


def _blob_url(raw: str) -> str:
    value = _text(raw).rstrip("/")
    parts = urlsplit(value)
    if parts.scheme == "s3":
        if not parts.hostname or parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("expected s3://bucket or s3://bucket/prefix")
        return value
    if parts.scheme or not value.startswith("/"):
        raise ValueError("expected an absolute directory path or s3://bucket/prefix")
    return value


_LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1"})


def _database_url(raw: str) -> Secret:
    """An asyncpg URL; one to another machine must say how TLS is used (``sslmode``, e.g. ``verify-full``).

    libpq's ``sslmode`` is passed on as asyncpg's ``ssl`` (same values). Local hosts and Unix sockets (``?host=/…``)
    need none: nothing crosses a network.
    """
    value = _text(raw)
    parts = urlsplit(value)
    # One driver everywhere: accept the usual spellings and normalise them to asyncpg.
    prefix = next((p for p in ("postgresql+asyncpg://", "postgresql://", "postgres://") if value.startswith(p)), None)
    if prefix is None:
        raise ValueError(f"expected a postgresql:// URL, got scheme {parts.scheme or '(none)'!r}")
    query = dict(parse_qsl(parts.query))
    socket = query.get("host", "").startswith("/")
    if "sslmode" in query:
        query["ssl"] = query.pop("sslmode")
    if "ssl" not in query and not socket and (parts.hostname or "") not in _LOCAL_HOSTS:
        raise ValueError(
            f"connects to {parts.hostname} without TLS settings: add ?sslmode=verify-full (or another sslmode) so "
            "passwords and data are not sent in the clear"
        )
    rest = urlunsplit(("", parts.netloc, parts.path, urlencode(query), parts.fragment))
    return Secret("postgresql+asyncpg:" + rest)


def _secret_key(raw: str) -> Secret:
    value = raw.strip()
    if len(value) < 32:
        raise ValueError(
            "must be at least 32 characters (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
        )
    return Secret(value)


def _secret(raw: str) -> Secret:
    return Secret(_text(raw))


def _plans_file(raw: str) -> Path:
    path = _path(raw)
    load_catalogue(path)  # a wrong catalogue stops the start with the reason, not the first checkout
    return path


def _mail_address(raw: str) -> str:
    value = _text(raw)
    if "@" not in value or any(c in value for c in "\r\n"):
        raise ValueError("expected a mail address such as `Tech Pal <help@example.com>`")
    return value


def _networks(raw: str) -> tuple[ProxyNetwork, ...]:
    networks = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or CIDR network") from None
    return tuple(networks)


def _origins(raw: str) -> tuple[str, ...]:
    return tuple(_http_url(item) for item in filter(None, (part.strip() for part in raw.split(","))))
