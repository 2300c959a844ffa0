"""Unanswerable questions made from answerable ones, without writing them by hand.

A near miss keeps most of a question and changes what it asks: one content word becomes a word
its document never uses ("...infection in children?" -> "...infection in camels?"), or a number
becomes one the document never states. The rest of the question still matches the gold passage,
which is what makes such questions hard, and what the evidence model must learn to refuse.
"""

import random
import re
from collections.abc import Callable
from dataclasses import replace

from qa.learn.questions import LabelledQuestion
from qa.text import stopwords, terms

_WORD = re.compile(r"\b[A-Za-z][A-Za-z-]{3,}\b")
_NUMBER = re.compile(r"\b\d+(?:[.,]\d+)?\b")


def perturb(
    questions: list[LabelledQuestion], document_terms: Callable[[str], set[str]], replacements: list[str], seed: int
) -> list[LabelledQuestion]:
    """One near miss per answerable question where one can be made (ids end in `-swap`)."""
    rng = random.Random(seed)
    stop = stopwords()
    out = []
    for q in questions:
        if not q.answerable:
            continue
        own = document_terms(q.document)
        changed = _swap_number(q.text, own, rng) if _NUMBER.search(q.text) and rng.random() < 0.5 else None
        if changed is None:
            changed = _swap_word(q.text, own, replacements, stop, rng)
        if changed is not None:
            out.append(
                replace(
                    q,
                    id=f"{q.id}-swap",
                    text=changed,
                    spans=(),
                    evidence=None,
                    origin="perturbed",
                    meta={**q.meta, "from": q.text},
                )
            )
    return out


def _swap_word(
    text: str, own: set[str], replacements: list[str], stop: frozenset[str], rng: random.Random
) -> str | None:
    """Replace one content word the document uses by a word (same capitalisation) it never uses."""
    words = [m for m in _WORD.finditer(text) if m.group().lower() not in stop and set(terms(m.group())) & own]
    if not words:
        return None
    target = rng.choice(words)
    pool = [w for w in replacements if w.lower() != target.group().lower() and not set(terms(w)) & own]
    if not pool:
        return None
    new = rng.choice(pool)
    if target.group()[0].isupper():
        new = new[0].upper() + new[1:]
    return text[: target.start()] + new + text[target.end() :]


def _swap_number(text: str, own: set[str], rng: random.Random) -> str | None:
    """Replace one number by a nearby one the document never states."""
    found = list(_NUMBER.finditer(text))
    target = rng.choice(found)
    value = target.group().replace(",", "")
    try:
        number = float(value)
    except ValueError:
        return None
    for _ in range(20):
        delta = rng.choice([1, 2, 3, 5, 10]) * rng.choice([-1, 1])
        new = number + delta if "." not in value else round(number * rng.choice([0.5, 1.5, 2.0]), 1)
        shown = str(int(new)) if float(new).is_integer() and "." not in value else str(new)
        if new > 0 and shown not in own:
            return text[: target.start()] + shown + text[target.end() :]
    return None


def replacement_words(texts: list[str], stop: frozenset[str] | None = None) -> list[str]:
    """Distinct lower-case content words of some texts (e.g. other documents' questions)."""
    stop = stop or stopwords()
    seen = dict.fromkeys(w.lower() for t in texts for w in _WORD.findall(t) if w.lower() not in stop)
    return sorted(seen)
