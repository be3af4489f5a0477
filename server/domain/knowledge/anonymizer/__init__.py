r"""Scrub personal data from text a user wrote before it becomes knowledge-base content.

:func:`anonymize` replaces each personal or secret datum with a typed placeholder and leaves the troubleshooting
content alone: error codes (``0x80070005``, ``AADSTS50076``), KB numbers, event IDs, ports, commands
(``ipconfig /flushdns``), product names and versions, registry keys, system paths, GUIDs and well-known SIDs survive.

What goes, and what finds it:

- people: the names, usernames and e-mail addresses of every account the server has (:class:`Directory`), first
  names from a list of 80 locales, and cues around names it does not know (``my manager …``, ``ask … in HR``,
  ``Thanks, …``, ``cc …``, signatures) → ``[name]``; usernames by label and shape (``DOMAIN\user``,
  ``logged in as …``, ``flindqvist``) → ``[username]``; user folders (``C:\Users\…``, ``/home/…``) → ``[name]``;
- network: e-mail addresses (also spelled out, ``olga at acme dot com``) → ``[email]``, IP and MAC addresses, SIDs,
  host names (``ACME-LT-0423``, ``vpn-gw02.acme.com``, ``DESKTOP-…``), UNC paths, URLs off the vendors' domains;
- numbers: phones in any format (``phonenumbers``) and extensions, cards (Luhn), IBANs, SSNs and other national
  IDs (``python-stdnum``), employee IDs, serial numbers, service and asset tags, IMEIs;
- secrets: passwords and PINs in plain words (``pw …``, ``PIN 2544``, ``the wifi key is …``), product and recovery
  keys, API keys and tokens → ``[secret]``;
- places: companies (``[org]``: their domains, NetBIOS names, ``OneDrive - Acme``, ``Initech Ltd``) and postal
  addresses (``[address]``).

Every pattern is bounded (no unbounded repetition that could backtrack), so the time is linear in the input, and
the input is cut at :data:`MAX_CHARS`. The function is pure, CPU-bound and idempotent (placeholders never match
again): async callers run it in a worker thread (:func:`anonymize_async`). The text is strictly data.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from typing import TYPE_CHECKING

from server.domain.knowledge.anonymizer._accounts import Account, Directory, find_accounts
from server.domain.knowledge.anonymizer._names import find_names, find_usernames
from server.domain.knowledge.anonymizer._network import find_network
from server.domain.knowledge.anonymizer._numbers import find_numbers
from server.domain.knowledge.anonymizer._places import find_places
from server.domain.knowledge.anonymizer._secrets import find_secrets
from server.domain.knowledge.anonymizer._spans import Found, render
from server.domain.knowledge.anonymizer._vocabulary import vocabulary

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = ["MAX_CHARS", "Account", "Directory", "anonymize", "anonymize_async", "directory_of"]

# A ticket's description is at most 10,000 characters and an answer a few thousand: nothing a fix needs is longer,
# and the cap bounds the time of a call whatever it is given.
MAX_CHARS = 50_000
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def directory_of(accounts: Iterable[Account]) -> Directory:
    """The :class:`Directory` of ``accounts``, each ``(name, username, email)``."""
    return Directory.of(accounts, vocabulary())


def _known(known: Iterable[str]) -> Directory:
    """The directory of loose identifiers: e-mail addresses, full names, usernames."""
    accounts: list[Account] = []
    for raw in known:
        value = (raw or "").strip()
        if "@" in value:
            accounts.append((None, None, value))
        elif " " in value:
            accounts.append((value, None, None))
        elif value:
            accounts.append((value, value, None))
    return directory_of(accounts)


def _prepare(text: str) -> str:
    """The text in compatibility form (full-width digits are digits), without invisible characters, capped."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text[: MAX_CHARS * 2]))
    if len(text) > MAX_CHARS:
        cut = text.rfind(" ", MAX_CHARS - 200, MAX_CHARS)
        text = text[: cut if cut > 0 else MAX_CHARS] + " …"
    return text


def anonymize(text: str, *, known: Iterable[str] = (), directory: Directory | None = None) -> str:
    """``text`` with personal data and secrets replaced by typed placeholders.

    ``known`` are loose identifiers of people (the author's name, username and e-mail); ``directory`` holds every
    account's (:func:`directory_of`). Both are removed wherever they stand as whole words, case-insensitively.
    """
    words = vocabulary()
    accounts = _known(known) | (directory or Directory())
    found = Found(_prepare(text))
    find_secrets(found, words)
    find_network(found, words)
    find_numbers(found, words)
    find_accounts(found, accounts)
    find_usernames(found, words)
    find_names(found, words)
    find_places(found, words, accounts)
    return render(found)


async def anonymize_async(
    texts: Sequence[str], *, known: Iterable[str] = (), accounts: Iterable[Account] = ()
) -> list[str]:
    """Each of ``texts`` anonymized in one worker thread, off the event loop, with ``accounts`` as the directory."""
    known = tuple(known)
    rows = tuple(accounts)

    def run() -> list[str]:
        directory = directory_of(rows)
        return [anonymize(text, known=known, directory=directory) for text in texts]

    return await asyncio.to_thread(run)
