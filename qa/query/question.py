"""What a question asks for, read off its wording: the kind of fact, the names, the attribute.

These decide whether a sentence can answer at all: "How much did Amazon pay?" needs an amount
of money, "How many employees?" a count of employees, "When did Xiaomi go public?" a time and
the name Xiaomi, "What was Xiaomi's revenue?" a corpus that ever speaks of revenue.
"""

import re
from dataclasses import dataclass, field

from qa.text import QUESTION_WORDS, is_mostly_non_latin, stopwords, terms, words

_TIME_Q = re.compile(
    r"^\s*(and\s+)?(when|since when|until when|what (year|date|day|month|time)|which (year|date|day|month)|"
    r"in (what|which) (year|month)|on (what|which) (date|day))\b|哪一?[天年月]|什么时候|何时|哪年",
    re.IGNORECASE,
)
_MONEY_Q = re.compile(
    r"\bhow much\b.*\b(cost|costs|pay|paid|spend|spent|charge|charged|earn|earned|worth|sell for|sold for)\b|"
    r"\bwhat (was|is|were|are) (the )?(price|cost)\b|\bwhat price\b|\bfor how much\b",
    re.IGNORECASE,
)
_COUNT_Q = re.compile(r"\bhow many ([a-z-]+)", re.IGNORECASE)
_NUMBER_Q = re.compile(
    r"\bhow (much|big|large|long|old|far|tall|high|fast)\b|"
    r"\bwhat (percentage|percent|share|number|amount|area|size|volume|count)\b|多少|几",
    re.IGNORECASE,
)
_ATTRIBUTE_Q = re.compile(
    r"\bwhat (?:is|was|are|were) (?:the |his |her |its |their |a |an )?(.+?)"
    r"(?: of\b| in\b| for\b| at\b| on\b| last\b| this\b|\?|$)",
    re.IGNORECASE,
)

_TIME_A = re.compile(
    r"\b(1[89]\d\d|20\d\d)\b|\b(january|february|march|april|may|june|july|august|september|october|"
    r"november|december|yesterday|today|ago|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
    re.IGNORECASE,
)
_NUMBER_A = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|billion|trillion|half|dozen|several|few)\b",
    re.IGNORECASE,
)
_MONEY_A = re.compile(
    r"(\$|€|£|¥)\s?\d|\d[\d,.]*\s*(million |billion |trillion )?(yuan|rmb|dollars?|usd|euros?|pounds?|hk\$)",
    re.IGNORECASE,
)
_NUMBER_WORD = _NUMBER_A.pattern


@dataclass(frozen=True)
class Profile:
    """What the question needs from an answer."""

    kind: str | None = None
    count_noun: str | None = None
    names: list[str] = field(default_factory=list)
    attribute: list[str] = field(default_factory=list)
    non_latin: bool = False


def profile(question: str) -> Profile:
    """Read the question's needs from its wording (English patterns; a few Chinese ones)."""
    if is_mostly_non_latin(question):
        return Profile(kind=_kind(question), non_latin=True)
    count = _COUNT_Q.search(question)
    count_noun = terms(count.group(1)) if count else []
    return Profile(
        kind=_kind(question),
        count_noun=count_noun[0] if count_noun else None,
        names=_names(question),
        attribute=_attribute(question),
    )


def _attribute(question: str) -> list[str]:
    """The thing asked about in "What was Xiaomi's revenue in 2023?": ['revenu']."""
    found = _ATTRIBUTE_Q.search(question)
    if not found:
        return []
    phrase = found.group(1).split("'s ")[-1]
    return terms(" ".join(phrase.split()[-3:]))


def _kind(question: str) -> str | None:
    if _TIME_Q.search(question):
        return "time"
    if _MONEY_Q.search(question):
        return "money"
    if _COUNT_Q.search(question) or _NUMBER_Q.search(question):
        return "number"
    return None


def _names(question: str) -> list[str]:
    """Capitalised words past the first (names of people, companies, products), lower-cased."""
    tokens = re.findall(r"[A-Za-z][\w.$-]*", question)
    stop = stopwords()
    return [t.lower().rstrip(".") for t in tokens[1:] if t[0].isupper() and t.lower() not in stop
            and t.lower() not in QUESTION_WORDS]


def satisfies(text: str, need: Profile) -> bool:
    """Does the text hold the kind of fact the question asks for?"""
    if need.kind == "time":
        return bool(_TIME_A.search(text))
    if need.kind == "money":
        return bool(_MONEY_A.search(text))
    if need.kind == "number":
        if need.count_noun:
            return _counts(text, need.count_noun)
        return bool(_NUMBER_A.search(text))
    return True


def _counts(text: str, noun: str) -> bool:
    """A number followed within three words by the counted noun ("135,000 vehicles")."""
    tokens = words(text)
    for i, token in enumerate(tokens):
        if re.search(r"\d", token) or re.fullmatch(_NUMBER_WORD, token, re.IGNORECASE):
            if any(t.startswith(noun[:5]) for t in terms(" ".join(tokens[i + 1:i + 4]))):
                return True
    return False


def names_present(text: str, names: list[str]) -> bool:
    """Every one of these names appears in the text."""
    lowered = text.lower()
    return all(name in lowered for name in names)
