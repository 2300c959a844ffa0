"""What kind of fact a question asks for, and whether a text holds a fact of that kind.

These are features of the learned evidence model (`qa/query/features.py`), not rules: "When did
Xiaomi go public?" asks for a time, and a sentence with no date or year in it is unlikely to answer,
but how much that counts is fitted on data. Nothing here names a particular attribute.
"""

import re
from dataclasses import dataclass, field
from functools import lru_cache

from qa.text import QUESTION_WORDS, is_mostly_non_latin, stopwords, terms, words

KINDS = ("time", "money", "count", "number", "person", "place", "reason", "yes_no")

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
_PERSON_Q = re.compile(r"^\s*(and\s+)?(who|whom|whose)\b|谁", re.IGNORECASE)
_PLACE_Q = re.compile(r"^\s*(and\s+)?(where|in which (city|country|place))\b|哪里|在哪", re.IGNORECASE)
_REASON_Q = re.compile(r"^\s*(and\s+)?(why|how come|for what reason)\b|为什么", re.IGNORECASE)
_YES_NO_Q = re.compile(
    r"^\s*(and\s+)?(is|are|was|were|do|does|did|has|have|had|can|could|will|would|should)\b", re.IGNORECASE
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
_NAME_A = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")
_PLACE_A = re.compile(r"\b(in|at|from|near|to)\s+(the\s+)?[A-Z][a-z]+")
_REASON_A = re.compile(
    r"\b(because|due to|since|as a result|owing to|so that|thanks to|reason|caused by)\b", re.IGNORECASE
)
_NUMBER_WORD = _NUMBER_A.pattern
_AUXILIARY = r"(?:is|was|are|were|do|does|did|has|have|had|can|could|will|would|should|may|might|must)"
# A leading condition or time clause set off by a comma before the question proper: "When tqdm is used in a
# pipe, which stream ...?", "Once appeared, when do ...?". The kind of fact asked for is read from what
# follows it. "When did ..." is itself the question, so the clause may not open with an auxiliary.
_LEADING_CLAUSE = re.compile(
    rf"^\s*(?:when|if|once|after|before|while|as|since|where|although|given)\s+(?!{_AUXILIARY}\b)[^,?]+,\s*"
    rf"(?=(?:what|which|who|whom|whose|when|where|why|how|{_AUXILIARY})\b)",
    re.IGNORECASE,
)
_ATTRIBUTE_Q = re.compile(
    rf"\b(?:what|which|how many|how much)\s+(?!{_AUXILIARY}\b)((?:[a-z-]+\s+){{0,1}}[a-z-]+)|"
    r"\bwhat\s+(?:is|was|are|were)\s+(?:(?:the|his|her|its|their|a|an)\s+)?(.+?)"
    r"(?:\s+(?:of|in|for|at|on|that|did|does|when|with|to)\b|\?|$)",
    re.IGNORECASE,
)


# Each kind of fact: how a question asks for it, and how a text that holds one reads (None: any text may).
# A count with its noun known is read by `_counts` instead.
_PATTERNS: dict[str, tuple[re.Pattern[str], re.Pattern[str] | None]] = {
    "time": (_TIME_Q, _TIME_A),
    "money": (_MONEY_Q, _MONEY_A),
    "count": (_COUNT_Q, _NUMBER_A),
    "number": (_NUMBER_Q, _NUMBER_A),
    "person": (_PERSON_Q, _NAME_A),
    "place": (_PLACE_Q, _PLACE_A),
    "reason": (_REASON_Q, _REASON_A),
    "yes_no": (_YES_NO_Q, None),
}


@dataclass(frozen=True)
class Profile:
    """What the question needs from an answer: its kinds of fact, the noun it counts, its names."""

    kinds: frozenset[str] = frozenset()
    count_noun: str | None = None
    names: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    attribute: list[str] = field(default_factory=list)
    non_latin: bool = False


def profile(question: str) -> Profile:
    """Read the question's needs from its wording (English patterns; a few Chinese ones)."""
    main = _LEADING_CLAUSE.sub("", question, count=1)
    kinds = frozenset(k for k, (asked, _) in _PATTERNS.items() if asked.search(main))
    if "count" in kinds:
        kinds = kinds | {"number"}
    if "money" in kinds:
        kinds = kinds - {"number"}
    if is_mostly_non_latin(question):
        return Profile(kinds=kinds, non_latin=True, numbers=_numbers(question))
    count = _COUNT_Q.search(question)
    count_noun = terms(count.group(1)) if count else []
    return Profile(
        kinds=kinds,
        count_noun=count_noun[0] if count_noun else None,
        names=_names(question),
        numbers=_numbers(question),
        attribute=_attribute(question),
    )


def _attribute(question: str) -> list[str]:
    """The terms of what is asked about: "What was Xiaomi's revenue in 2023?" -> ['revenu'], "Which
    university did he attend?" -> ['univers'], "How many employees...?" -> ['employe']. A feature
    of the evidence model (is it in the run? anywhere in the corpus?), whatever the attribute is."""
    found = _ATTRIBUTE_Q.search(question)
    if not found:
        return []
    phrase = found.group(1) or found.group(2) or ""
    return terms(phrase.split("'s ")[-1])


def _names(question: str) -> list[str]:
    """Capitalised words past the first (names of people, companies, products), lower-cased."""
    tokens = re.findall(r"[A-Za-z][\w.$-]*", question)
    stop = stopwords()
    return [
        t.lower().rstrip(".")
        for t in tokens[1:]
        if t[0].isupper() and t.lower() not in stop and t.lower() not in QUESTION_WORDS
    ]


def _numbers(text: str) -> list[str]:
    return [n.replace(",", "") for n in re.findall(r"\d+(?:[.,]\d+)*", text)]


def holds(text: str, kind: str, need: Profile) -> bool:
    """Does the text hold a fact of this kind?"""
    if kind == "count" and need.count_noun:
        return _counts(text, need.count_noun)
    return _holds(text, kind)


@lru_cache(maxsize=65536)
def _holds(text: str, kind: str) -> bool:
    """`holds` for the kinds that depend on the text alone (cached: candidate sentences recur)."""
    _, stated = _PATTERNS[kind]
    return stated is None or bool(stated.search(text))


def satisfies(text: str, need: Profile) -> bool:
    """Does the text hold every kind of fact the question asks for?"""
    return all(holds(text, kind, need) for kind in need.kinds)


@lru_cache(maxsize=65536)
def _counts(text: str, noun: str) -> bool:
    """A number followed within three words by the counted noun ("135,000 vehicles"); cached as `_holds`."""
    tokens = words(text)
    for i, token in enumerate(tokens):
        if re.search(r"\d", token) or re.fullmatch(_NUMBER_WORD, token, re.IGNORECASE):
            if any(t.startswith(noun[:5]) for t in terms(" ".join(tokens[i + 1 : i + 4]))):
                return True
    return False


def names_present(text: str, names: list[str]) -> float:
    """The share of the question's names that appear in the text (1.0 when it names none)."""
    if not names:
        return 1.0
    lowered = text.lower()
    return sum(name in lowered for name in names) / len(names)


def numbers_present(text: str, numbers: list[str]) -> float:
    """The share of the question's numbers that the text states (1.0 when it states none)."""
    if not numbers:
        return 1.0
    stated = set(_numbers(text))
    return sum(n in stated for n in numbers) / len(numbers)
