"""Evidence selection: which sentences inside the retrieved chunks answer the question.

Each candidate sentence gets three signals: dense similarity to the user's own words, the
share of the question's key terms it contains (weighted by rarity), and its chunk's retrieval
score; a sentence of the wrong kind for the question (no date for "when", no number for
"how many") is held back. The same signals decide whether there is support at all.
"""

import re
from dataclasses import dataclass

import numpy as np

from qa.corpus import Corpus
from qa.retrieval import Retrieval
from qa.text import is_statement, terms

_TIME_Q = re.compile(
    r"^\s*(and\s+)?(when|since when|until when|what (year|date|day|month|time)|which (year|date|day|month)|"
    r"in (what|which) (year|month)|on (what|which) (date|day))\b|哪一?[天年月]|什么时候|何时|哪年",
    re.IGNORECASE,
)
_NUMBER_Q = re.compile(
    r"\bhow (many|much|big|large|long|old|far|tall|high|fast)\b|"
    r"\bwhat (percentage|percent|share|price|number|amount|area|size|volume|count)\b|多少|几",
    re.IGNORECASE,
)
_TIME_A = re.compile(
    r"\b(1[89]\d\d|20\d\d)\b|\b(january|february|march|april|may|june|july|august|september|october|"
    r"november|december|yesterday|today|ago|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
    re.IGNORECASE,
)
_NUMBER_A = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|billion|trillion|half|dozen)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Weights:
    """How the signals mix; measured on the dev golden set (see README)."""

    dense: float = 0.45
    coverage: float = 0.40
    chunk: float = 0.15
    wrong_type: float = 0.30


@dataclass(frozen=True)
class Evidence:
    """A candidate sentence with its signals; `score` ranks, the rest explain."""

    sentence: int
    passage_rank: int
    dense: float
    coverage: float
    type_ok: bool
    score: float


def answer_type(question: str) -> str | None:
    """'time', 'number' or None: the kind of fact the question asks for."""
    if _TIME_Q.search(question):
        return "time"
    if _NUMBER_Q.search(question):
        return "number"
    return None


def has_type(text: str, kind: str | None) -> bool:
    """Does the text hold a fact of that kind?"""
    if kind == "time":
        return bool(_TIME_A.search(text))
    if kind == "number":
        return bool(_NUMBER_A.search(text))
    return True


def coverage(question_terms: list[str], sentence_terms: set[str], corpus: Corpus) -> float:
    """Rarity-weighted share of the question's terms that the sentence contains (0..1)."""
    unique = list(dict.fromkeys(question_terms))
    if not unique:
        return 0.0
    weights = [corpus.idf(t) for t in unique]
    hit = sum(w for t, w in zip(unique, weights) if _covered(t, sentence_terms))
    return hit / sum(weights)


def _covered(term: str, sentence_terms: set[str]) -> bool:
    if term in sentence_terms:
        return True
    if len(term) < 4:
        return False
    return any(len(s) >= 4 and (s.startswith(term) or term.startswith(s)) for s in sentence_terms)


class EvidenceSelector:
    """Ranks the sentences of the retrieved chunks for one question."""

    def __init__(self, corpus: Corpus, weights: Weights = Weights()):
        self._corpus = corpus
        self._weights = weights

    def rank(self, retrieval: Retrieval) -> list[Evidence]:
        focus = retrieval.query.focus
        kind = answer_type(focus)
        focus_terms = terms(focus)
        candidates = self._candidates(retrieval)
        if not candidates:
            return []
        ids = [c[0] for c in candidates]
        dense = self._corpus.sentence_vectors[ids] @ retrieval.focus_vector
        cover = [coverage(focus_terms, self._corpus.sentence_terms[i], self._corpus) for i in ids]
        chunk = np.array([retrieval.passages[rank].score for _, rank in candidates])
        typed = [has_type(self._corpus.sentences[i].text, kind) for i in ids]
        w = self._weights
        scores = (w.dense * _relative(dense) + w.coverage * np.asarray(cover) + w.chunk * chunk
                  - w.wrong_type * (1 - np.asarray(typed, dtype=float)))
        found = [Evidence(i, rank, float(d), c, t, float(s))
                 for (i, rank), d, c, t, s in zip(candidates, dense, cover, typed, scores)]
        return sorted(found, key=lambda e: -e.score)

    def _candidates(self, retrieval: Retrieval) -> list[tuple[int, int]]:
        """(sentence index, rank of the best passage holding it) for answer-like sentences."""
        seen: dict[int, int] = {}
        for rank, ranked in enumerate(retrieval.passages):
            for i in self._corpus.sentences_in(ranked.passage.chunk):
                if i not in seen and is_statement(self._corpus.sentences[i].text):
                    seen[i] = rank
        return list(seen.items())


def _relative(values: np.ndarray) -> np.ndarray:
    """Scale similarities to 0..1 within the candidates (e5 similarities sit in a narrow band)."""
    lo, hi = float(values.min()), float(values.max())
    return (values - lo) / (hi - lo) if hi - lo > 1e-9 else np.ones_like(values)
