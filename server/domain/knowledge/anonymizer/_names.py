"""People the server does not know: names told apart by a list of first names and by the words around them.

The text is read as runs of capitalized words (``Sarah Ivanova``, ``Kowalski, David``, ``Ludwig van Beethoven``).
A run is a person's name when it holds a first name that is nothing else (``Sarah``; not ``Will`` or ``Dell``), when
an ambiguous first name has a surname after it, or when a cue says so: before it (``my manager``, ``cc``, ``Hi``,
``Thanks,``, ``I'm``, ``--``), or after it (``in HR``, ``from finance``, ``here``; ``said``, ``'s`` for a known first
name or surname). Products and ordinary words (``Microsoft Teams``, ``Credential Manager``, ``Excel says``) are
never names on their own. Usernames the server does not know are found by their labels (``logged in as``) and their
shape: an initial and a surname (``flindqvist``), or a first name and a surname (``olga.becker``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from server.domain.knowledge.anonymizer._lists import DEPARTMENTS, FILE_EXTENSIONS, WELL_KNOWN_PRINCIPALS, word_set

if TYPE_CHECKING:
    from server.domain.knowledge.anonymizer._spans import Found
    from server.domain.knowledge.anonymizer._vocabulary import Vocabulary

__all__ = ["find_names", "find_usernames"]

_WORD = re.compile(r"[^\W\d_]{1,40}(?:-[^\W\d_]{1,20})?(?:['’][^\W\d_]{1,20})?")
_PARTICLES = word_set("van von de der den da di del della le la du bin binti al el ten ter dos das mac")
_MAX_RUN = 4
_PREFIXES = word_set("pre post re non co sub multi auto self cross de un in out over under")
_PRONOUNS = word_set("i i'm i've i'll i'd we we're you you're he she they it's")
# Lower-case words that end like an English word are not "initial + surname" usernames ("paying", "bankers").
_ENGLISH_ENDINGS = ("ing", "ed", "ly", "tion", "sion", "ness", "ment", "ers", "ies", "able", "ible", "ful", "less")
# Departments as people write them after a name: "in HR", "from Finance", "from finance"; "in it" is no cue.
_DEPARTMENT = "|".join(
    re.escape(d.upper()) if len(d) <= 3 else f"[{d[0].upper()}{d[0]}]{re.escape(d[1:])}"
    for d in sorted(DEPARTMENTS, key=len, reverse=True)
)
# Cues before a run that make any capitalized word a name: relations, titles, greetings, sign-offs, introductions.
_PERSON_BEFORE = re.compile(
    r"(?:\b(?:manager|boss|colleague|co-?worker|supervisor|team\s{1,2}lead|tech\s{1,2}lead|director|assistant|"
    r"teammate|deputy|secretary|partner|wife|husband|son|daughter|mum|mom|dad|father|mother|brother|sister|friend|"
    r"intern|contractor|technician|herr|frau|cc|bcc|attn|signed|sincerely|regards|"
    r"thanks|thank\s{1,2}you|thx|cheers|hi|hello|hey|dear|i'?m|i\s{1,2}am|my\s{1,2}name\s{1,2}is|this\s{1,2}is)\b\.?|"
    r"(?-i:\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\b\.?)|--|—)[ \t]{0,2}[:,]?\s{0,3}$",
    re.IGNORECASE,
)
# Cues before a run that need a known first name or surname in it: verbs and prepositions.
_WEAK_BEFORE = re.compile(
    r"\b(?:tell|told|ask|asked|asking|contact|contacted|call|called|email|emailed|e-mailed|mail|mailed|message|"
    r"messaged|ping|pinged|text|texted|phone|phoned|meet|met|with|from|by|to|for|and|or|per|via|help|helped|thank|"
    r"according\s{1,2}to|on\s{1,2}behalf\s{1,2}of|forwarded\s{1,2}to|loop\s{1,2}in|cc'?d|approved\s{1,2}by|"
    r"assigned\s{1,2}to|sent\s{1,2}by|reported\s{1,2}by|replaced|see|saw|like|except|including|user|owner)\s{1,3}$",
    re.IGNORECASE,
)
_STRONG_AFTER = re.compile(
    rf"^\s{{0,2}}(?:(?:,\s{{0,2}})?(?i:in|from|at|of|with)\s{{1,3}}(?i:the\s{{1,3}}|our\s{{1,3}})?(?:{_DEPARTMENT})\b|"
    rf"(?i:here|speaking)\b|\(\s{{0,2}}(?:{_DEPARTMENT})\s{{0,2}}\)|,\s{{0,2}}(?:{_DEPARTMENT})\b)"
)
_WEAK_AFTER = re.compile(
    r"^\s{0,2}(?:said|says|told|asked|sent|wrote|mentioned|suggested|recommended|confirmed|reported|called|"
    r"emailed|thinks|thought|noticed|tried|helped|approved|agreed|replied|explained|fixed|has|had|is|was|will|"
    r"can|could|would|should|did|does|and\s{1,2}(?:i|me)\b|['’]s\b)\b",
    re.IGNORECASE,
)
_MENTION = re.compile(r"(?<![\w.@])@([A-Za-z][\w.-]{0,40}[A-Za-z0-9])(?![\w@.-])")
_USERNAME_LABEL = re.compile(
    r"(?i)\b(?:log(?:ged)?\s{0,2}(?:in|on)\s{1,3}as|sign(?:ed)?\s{0,2}in\s{1,3}as|connect(?:ed)?\s{1,3}as|"
    r"run(?:ning)?\s{1,3}as|user\s{0,2}(?:name|id)|login(?:\s{0,2}name)?|logon(?:\s{0,2}name)?|account(?:\s{0,2}name)?|"
    r"upn|sam\s{0,2}account\s{0,2}name|user|alias|handle)"
    r"(?:\s{0,3}[:=]\s{0,3}|\s{1,3}(?:is\s{1,3}|was\s{1,3})?)(?!\[)([A-Za-z0-9][\w.\\-]{0,62}[A-Za-z0-9])(?![\w@])"
)
_STRONG_USER_LABEL = re.compile(r"as$|name$|id$|login|logon|upn", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w.@\\/-])([a-z]{4,32})(?:([._])([a-z]{2,30}))?\d{0,4}(?![\w@\\/-]|\.\w)")


# Double names: "Mary-Jane", "Al-Farsi", and Korean given names "Ji-woo" (a short syllable after a short one).
_NAME_CASE = re.compile(
    r"(?:Mc|Mac|O['’]|D['’]|De|Di|La|Le|Van|Von)?(?:[A-ZÀ-ÞĀ-Ž][a-zß-ÿā-ž]{1,3}-[a-z]{2,4}|"
    r"[A-ZÀ-ÞĀ-Ž][a-zß-ÿā-ž]+(?:-[A-ZÀ-ÞĀ-Ž][a-zß-ÿā-ž]+)?)(?:['’][a-z]{1,2})?"
)


def _title(word: str) -> bool:
    """Written like a name: ``Sarah``, ``McDonald``, ``O'Brien``; not ``OneDrive``, ``VPN`` or ``iPhone``."""
    return bool(_NAME_CASE.fullmatch(word))


def _runs(text: str, vocabulary: Vocabulary) -> list[list[re.Match[str]]]:
    """Runs of name-like words joined by a space, a particle, an initial's dot, or a hyphen between two names.

    A word glued to another by a hyphen or a dot (``Add-MailboxPermission``, ``System.IO``) is no name unless both
    halves are names (``Mary-Jane``).
    """
    runs: list[list[re.Match[str]]] = []
    current: list[re.Match[str]] = []
    matches = list(_WORD.finditer(text))
    for i, match in enumerate(matches):
        word = match.group(0)
        initial = len(word) == 1 and word.isupper() and text[match.end() : match.end() + 2] == ". "
        particle = word.lower() in _PARTICLES and word.islower() and bool(current)
        glued = _glued(text, matches, i, vocabulary)
        if glued or not (_title(word) or initial or particle):
            if current:
                runs.append(current)
            current = []
            continue
        if current:
            gap = text[current[-1].end() : match.start()]
            joined = gap in {" ", "-"} or (gap == ". " and len(current[-1].group(0)) == 1)
            if not joined or len(current) >= _MAX_RUN:
                runs.append(current)
                current = []
        current.append(match)
    if current:
        runs.append(current)
    return runs


def _glued(text: str, matches: list[re.Match[str]], i: int, vocabulary: Vocabulary) -> bool:
    r"""Whether word ``i`` is glued to a neighbour by ``-``, ``.``, ``_`` or ``\`` other than as a double name."""
    match = matches[i]
    before = text[match.start() - 1] if match.start() else " "
    after = text[match.end()] if match.end() < len(text) else " "
    if before in "._\\/@" or after in "_\\/@" or (after == "." and text[match.end() + 1 : match.end() + 2].isalnum()):
        return True
    for j in (i - 1, i + 1):
        if (before == "-" and j == i - 1) or (after == "-" and j == i + 1):
            if not 0 <= j < len(matches):
                return True
            pair = (matches[j].group(0).lower(), match.group(0).lower())
            if not all(vocabulary.is_first(w) or w in vocabulary.surnames for w in pair):
                return True
    return False


def _plain(word: str, vocabulary: Vocabulary) -> bool:
    return vocabulary.is_plain(word) or word in _PARTICLES or word in _PRONOUNS or word.endswith("'t")


def _trim(run: list[re.Match[str]], vocabulary: Vocabulary) -> list[re.Match[str]]:
    while run and _plain(_word(run[0]), vocabulary):
        if vocabulary.is_first(_word(run[0])) and len(run) > 1:
            break
        run = run[1:]
    while run and run[-1].group(0).lower() in _PARTICLES | vocabulary.proper | vocabulary.greetings:
        run = run[:-1]
    return run


def _word(match: re.Match[str]) -> str:
    """The lower-cased word without a possessive or a contraction ("Sarah's" → "sarah"; "Don't" → "don't")."""
    word = match.group(0).lower().replace("’", "'")
    stem, _, suffix = word.partition("'")
    return stem if suffix in {"s", "ll", "d", "ve", "re", "m"} else word


def _is_name(text: str, run: list[re.Match[str]], vocabulary: Vocabulary) -> bool:
    words = [_word(m) for m in run]
    others = [w for w in words if w not in vocabulary.strong_first]
    if len(others) >= 2 and all(w in vocabulary.ordinary for w in others):
        return False  # "Roman Alphabet Language", "Sam Logon Response": a first name heading words
    if any(w in vocabulary.strong_first and (len(w) > 2 or len(words) > 1) for w in words):
        return True
    unknown = [w for w in words if not _plain(w, vocabulary) and len(w) > 1]
    if any(w in vocabulary.weak_first for w in words[:-1]) and words[-1] in vocabulary.surnames:
        return True  # "Will Kowalski", "Grace Hopper"
    surname = any(w in vocabulary.surnames for w in words)
    before = text[max(0, run[0].start() - 40) : run[0].start()]
    after = text[run[-1].end() : run[-1].end() + 40]
    if unknown and (_PERSON_BEFORE.search(before) or _STRONG_AFTER.match(after)):
        return True  # "my manager Zoltan", "Zoltan in HR"
    if len(unknown) >= 2 and len(unknown) == len(words) and _WEAK_BEFORE.search(before):
        return True  # "steps from Fatou Diop": two unknown capitalized words after "from", "ask", "with"
    return surname and bool(_WEAK_BEFORE.search(before) or _WEAK_AFTER.match(after))


def _last_first(text: str, runs: list[list[re.Match[str]]], vocabulary: Vocabulary) -> set[int]:
    """Indexes of runs that are a surname before ", First name" (``Kowalski, David from finance``)."""
    joined: set[int] = set()
    for i in range(len(runs) - 1):
        this, following = runs[i], runs[i + 1]
        first = following[0].group(0).lower()
        surname = this[-1].group(0).lower()
        gap = text[this[-1].end() : following[0].start()]
        if gap in {", ", ","} and vocabulary.is_first(first) and not vocabulary.is_plain(surname):
            joined.add(i)
    return joined


def _initial_and_name(handle: str, vocabulary: Vocabulary) -> bool:
    """Whether ``handle`` is an initial and a surname or first name: ``jsmith``, ``aokafor``, ``pnovak``."""
    body = handle[1:]
    return len(body) >= 4 and (body in vocabulary.surnames or body in vocabulary.strong_first)


def _wordish(value: str, vocabulary: Vocabulary) -> bool:
    """Whether ``value`` is an ordinary word or words joined by hyphens ("pre-populated", "sign-in")."""
    return all(vocabulary.is_plain(part) or part in _PREFIXES for part in value.split("-"))


def find_names(found: Found, vocabulary: Vocabulary) -> None:
    """Add a ``[name]`` span for every person's name in ``found.text`` that the words tell apart."""
    text = found.text
    runs = [run for run in (_trim(r, vocabulary) for r in _runs(text, vocabulary)) if run]
    surnames_first = _last_first(text, runs, vocabulary)
    named: set[int] = set()
    for i, run in enumerate(runs):
        if _is_name(text, run, vocabulary):
            named.add(i)
            found.add(run[0].start(), run[-1].end(), "[name]")
    for i in surnames_first:
        if i + 1 in named:
            found.add(runs[i][0].start(), runs[i][-1].end(), "[name]")


def _not_a_username(value: str, vocabulary: Vocabulary) -> bool:
    """Whether a labelled value is a word, a principal, a registry key, a version, a file or an identifier."""
    lower = value.lower()
    return (
        lower.rsplit("\\", 1)[-1] in WELL_KNOWN_PRINCIPALS
        or _wordish(lower, vocabulary)
        or lower.startswith(("hkey", "hklm", "hkcu"))
        or bool(re.fullmatch(r"v?[\d.]+", lower))  # a version
        or ("." in value and value.rsplit(".", 1)[1].lower() in FILE_EXTENSIONS)
        or value.count(".") > 2  # com.microsoft.workplacejoin.thumbprint
        or bool(re.search(r"%[0-9A-Fa-f]{2}", value))  # URL-encoded text
    )


def find_usernames(found: Found, vocabulary: Vocabulary) -> None:
    """Add a ``[username]`` span for every username the server does not know, by its label or its shape."""
    text = found.text
    for match in _USERNAME_LABEL.finditer(text):
        value = match.group(1)
        lower = value.lower()
        label = text[match.start() : match.start(1)].strip(" :=").lower()
        if _not_a_username(value, vocabulary):
            continue
        strong = bool(_STRONG_USER_LABEL.search(label.removesuffix(" is").removesuffix(" was")))
        handle = value.isalpha() and _initial_and_name(lower, vocabulary)  # "the user jsmith"
        shaped = handle or any(c.isdigit() or c in "._\\" for c in value)
        if (strong and not value[0].isupper()) or (shaped and value[0].islower()):
            found.add(match.start(1), match.end(1), "[username]")  # "logged in as aokafor", "user jdoe2"
    for match in _MENTION.finditer(text):
        handle = match.group(1).lower()
        dotted = "." in handle or "_" in handle
        if (dotted or vocabulary.is_first(handle)) and not vocabulary.is_plain(handle) and handle.count(".") <= 1:
            found.add(match.start(), match.end(), "[username]")  # "@dmitri.volkov", "@sarah"; not "@echo", "@errmsg"
    for match in _HANDLE.finditer(text):
        body, separator, second = match.groups()
        if vocabulary.is_plain(body) or body in vocabulary.strong_first:
            continue
        if separator:
            if vocabulary.is_first(body) and second not in vocabulary.ordinary and second not in FILE_EXTENSIONS:
                found.add(match.start(), match.end(), "[username]")  # olga.becker, olga_becker
        elif body.endswith(_ENGLISH_ENDINGS) or len(body) < 7:
            continue
        elif body[1:] in vocabulary.surnames:
            found.add(match.start(), match.end(), "[username]")  # flindqvist, jsmith2
