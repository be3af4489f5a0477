"""Triage: a ticket's category and priority when the user did not choose them.

With a chat model: one structured-output call (JSON schema, strict) that runs beside the answer stream. Without one,
or when that call fails: rules over keywords and the product groups of the matched articles. Priority is ``normal``
unless the text says otherwise. The user's own choice always wins over both.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from server.db.models import CATEGORIES, PRIORITIES
from server.domain.resolution.prompt import SYSTEM_PROMPT, escape
from server.domain.resolution.schemas import Triage

if TYPE_CHECKING:
    from collections.abc import Sequence

    from server.integrations.openai import ChatModel, Message, TokenUsage

__all__ = ["CATEGORIES", "PRIORITIES", "TRIAGE_SCHEMA", "ai_triage", "decide", "rule_category", "rule_priority"]

TRIAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "category": {"type": "string", "enum": list(CATEGORIES)},
        "priority": {"type": "string", "enum": list(PRIORITIES)},
    },
    "required": ["category", "priority"],
    "additionalProperties": False,
}

# The seed KB's product groups, as the category a ticket matching them most likely has.
PRODUCT_GROUP_CATEGORY = {
    "exchange-email": "email",
    "outlook": "email",
    "windows-auth-ad-gpo": "account_access",
    "azure-ad-signin": "account_access",
    "networking": "network",
    "remote-desktop": "network",
    "printing": "printer",
    "office-apps": "software",
    "sharepoint": "software",
    "onedrive": "software",
    "teams": "software",
    "skype": "software",
    "browser": "software",
    "intune-configmgr": "software",
    "windows-client": "software",
    "windows-server": "software",
    "m365-admin": "software",
    "azure-vm": "software",
}


def _words(*words: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(words) + r")\b", re.IGNORECASE)


# Keyword rules: each hit counts 2, each of the top matched articles' product group counts 1 (the best 1.5).
CATEGORY_WORDS: dict[str, re.Pattern[str]] = {
    "security": _words(
        r"phish\w*",
        r"malware",
        r"virus(?:es)?",
        r"ransomware",
        r"hack(?:ed|er)?",
        r"suspicious",
        r"compromised",
        r"spam",
        r"scam",
        r"breach",
        r"trojan",
        r"antivirus",
        r"defender",
        r"stolen",
        r"encrypted my files",
    ),
    "printer": _words(r"print(?:er|ers|ing|s)?", r"spooler", r"toner", r"paper jam", r"scanner", r"scan(?:ning)?"),
    "email": _words(
        r"e-?mails?",
        r"outlook",
        r"inbox",
        r"mailbox(?:es)?",
        r"exchange",
        r"calendar",
        r"smtp",
        r"imap",
        r"attachments?",
        r"distribution list",
        r"shared mailbox",
        r"out of office",
    ),
    "account_access": _words(
        r"password",
        r"passwords",
        r"log ?in",
        r"log ?on",
        r"sign ?in",
        r"signin",
        r"locked out",
        r"account",
        r"mfa",
        r"2fa",
        r"authenticator",
        r"credentials?",
        r"aadsts\w*",
        r"permissions?",
        r"access denied",
        r"username",
        r"reset my",
        r"expired",
    ),
    "network": _words(
        r"wi-?fi",
        r"wireless",
        r"vpn",
        r"internet",
        r"network",
        r"ethernet",
        r"dns",
        r"dhcp",
        r"ip address",
        r"proxy",
        r"router",
        r"connection",
        r"connectivity",
        r"offline",
        r"remote desktop",
        r"rdp",
        r"firewall",
        r"no connection",
        r"bandwidth",
        r"latency",
    ),
    "hardware": _words(
        r"laptop",
        r"monitor",
        r"screen (?:is )?(?:black|flicker\w*|cracked)",
        r"keyboard",
        r"mouse",
        r"battery",
        r"charger",
        r"dock(?:ing station)?",
        r"usb",
        r"webcam",
        r"camera",
        r"headset",
        r"speakers?",
        r"microphone",
        r"won't turn on",
        r"doesn't turn on",
        r"does not turn on",
        r"overheat\w*",
        r"fan",
        r"hard drive",
        r"ssd",
        r"disk (?:is )?(?:full|failing)",
        r"blue screen",
        r"bsod",
        r"beep\w*",
        r"hdmi",
    ),
    "software": _words(
        r"install\w*",
        r"update\w*",
        r"excel",
        r"word",
        r"powerpoint",
        r"teams",
        r"onedrive",
        r"sharepoint",
        r"app",
        r"application",
        r"program",
        r"crash\w*",
        r"freez\w*",
        r"not responding",
        r"license",
        r"activate",
        r"browser",
        r"chrome",
        r"edge",
        r"firefox",
        r"office",
        r"software",
        r"windows update",
    ),
}

_NOT_URGENT = _words(
    r"not urgent",
    r"no rush",
    r"whenever",
    r"when you (?:have|get) (?:a chance|time)",
    r"low priority",
    r"minor",
    r"cosmetic",
    r"nice to have",
    r"no hurry",
)
_URGENT = _words(
    r"outage",
    r"everyone",
    r"every(?:body| user)",
    r"all (?:users|staff|employees|of us)",
    r"whole (?:team|office|"
    r"company|department|floor)",
    r"entire (?:team|office|company|department)",
    r"emergency",
    r"critical",
    r"production (?:is )?down",
    r"site is down",
    r"ransomware",
    r"data breach",
    r"nobody can",
)
_HIGH = _words(
    r"urgent(?:ly)?",
    r"asap",
    r"immediately",
    r"right now",
    r"can't work",
    r"cannot work",
    r"unable to work",
    r"blocked",
    r"deadline",
    r"today",
    r"client meeting",
    r"presentation in",
    r"ceo",
    r"important",
)


def rule_priority(text: str) -> str:
    """``normal`` unless the text says otherwise: outages and "everyone" are urgent, "asap" high, "no rush" low."""
    if _URGENT.search(text):
        return "urgent"
    if _NOT_URGENT.search(text):
        return "low"
    if _HIGH.search(text):
        return "high"
    return "normal"


def rule_category(text: str, product_groups: Sequence[str | None] = ()) -> str:
    """Keyword hits (2 each) plus the matched articles' product groups (the best 1.5, then 1 each); else ``other``."""
    scores: dict[str, float] = dict.fromkeys(CATEGORIES, 0.0)
    for category, pattern in CATEGORY_WORDS.items():
        scores[category] += 2 * len(pattern.findall(text))
    for rank, group in enumerate(product_groups[:3]):
        if group and (mapped := PRODUCT_GROUP_CATEGORY.get(group)):
            scores[mapped] += 1.5 if rank == 0 else 1.0
    if scores.get("security", 0) >= 2:  # a security scare outranks whatever app it happened in
        return "security"
    best = max(CATEGORIES, key=lambda c: (scores.get(c, 0), -CATEGORIES.index(c)))
    return best if scores.get(best, 0) > 0 else "other"


def decide(
    user_category: str | None,
    user_priority: str | None,
    suggested_category: str,
    suggested_priority: str,
    *,
    by_ai: bool = True,
) -> Triage:
    """The triage to keep: the user's own choice wins; the suggestion fills only what they left empty.

    The suggestion is the model's, or with ``by_ai=False`` the rules'; ``*_by_ai`` says which fields the model chose.
    """
    return Triage(
        category=user_category or suggested_category,
        priority=user_priority or suggested_priority,
        category_by_ai=by_ai and user_category is None,
        priority_by_ai=by_ai and user_priority is None,
    )


def triage_messages(description: str, ocr_text: str, titles: Sequence[str]) -> list[Message]:
    """The structured triage call's prompt: the ticket and the matched articles' titles, fenced as data."""
    articles = "\n".join(f"- {escape(t)}" for t in titles[:5]) or "(none)"
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {
            "role": "user",
            "content": (
                "Classify this helpdesk ticket. Categories: "
                + ", ".join(CATEGORIES)
                + ". Priority: low, normal (the default), high (one person blocked, deadline), urgent (outage, many "
                "people, security incident).\n\n"
                f'<ticket_description trust="untrusted">\n{escape(description)}\n</ticket_description>\n'
                f'<ocr_text trust="untrusted">\n{escape(ocr_text[:2000])}\n</ocr_text>\n'
                f"Matching knowledge-base articles:\n{articles}"
            ),
        },
    ]


async def ai_triage(
    chat: ChatModel, description: str, ocr_text: str, titles: Sequence[str], usage: TokenUsage | None = None
) -> tuple[str, str] | None:
    """The model's (category, priority), or ``None`` when it answered something outside the schema."""
    answer = await chat.structured(triage_messages(description, ocr_text, titles), TRIAGE_SCHEMA, "triage", usage=usage)
    category, priority = answer.get("category"), answer.get("priority")
    if category in CATEGORIES and priority in PRIORITIES:
        return str(category), str(priority)
    return None
