"""Evidence selection: which sentences inside the retrieved chunks answer the question.

Candidates are sentence runs (a sentence plus the ones that continue it with "He...", "This...")
inside the retrieved chunks. Each gets three signals: dense similarity to the user's own words,
the share of the question's terms it contains (weighted by rarity), and its chunk's retrieval
score. A run that lacks the kind of fact asked for (a date for "when", an amount for "how much
did it cost") or a name the question uses is marked, so the answer model can refuse.
"""

from dataclasses import dataclass

import numpy as np

from qa.query.corpus import Corpus
from qa.query.question import Profile, names_present, profile, satisfies
from qa.query.retrieval import Retrieval
from qa.text import is_statement, terms


@dataclass(frozen=True)
class Weights:
    """How the signals mix; chosen on the dev golden set (see README)."""

    dense: float = 0.45
    coverage: float = 0.30
    chunk: float = 0.25
    unfit: float = 0.30
    follow_up_context: float = 0.5


@dataclass(frozen=True)
class Evidence:
    """A candidate run of sentences [first, last] with its signals; `score` ranks."""

    first: int
    last: int
    passage_rank: int
    dense: float
    coverage: float
    fits: bool
    score: float


@dataclass(frozen=True)
class Ranking:
    """Evidence best first, and what the question asked for."""

    need: Profile
    evidence: list[Evidence]
    unknown_attribute: bool


def coverage(question_terms: list[str], text_terms: set[str], corpus: Corpus) -> float:
    """Rarity-weighted share of the question's terms found in the text (0..1)."""
    unique = list(dict.fromkeys(question_terms))
    if not unique:
        return 0.0
    weights = [corpus.idf(t) for t in unique]
    hit = sum(w for t, w in zip(unique, weights) if _covered(t, text_terms))
    return hit / sum(weights)


def _covered(term: str, text_terms: set[str]) -> bool:
    if term in text_terms:
        return True
    if len(term) < 4:
        return False
    return any(len(s) >= 4 and (s.startswith(term) or term.startswith(s)) for s in text_terms)


class EvidenceSelector:
    """Ranks the sentence runs of the retrieved chunks for one question."""

    def __init__(self, corpus: Corpus, weights: Weights = Weights()):
        self._corpus = corpus
        self._weights = weights

    def rank(self, retrieval: Retrieval) -> Ranking:
        focus = retrieval.query.focus
        need = profile(focus)
        unknown = _mostly_unknown(need.attribute, self._corpus)
        names = [n for n in need.names if all(self._corpus.knows(t) for t in terms(n))]
        units = self._candidates(retrieval)
        if not units:
            return Ranking(need, [], unknown)
        c = self._corpus
        sims = self._similarities(units, retrieval)
        focus_terms = terms(focus)
        search_terms = terms(retrieval.query.search)
        found = []
        for (first, last), rank in units.items():
            text = c.span_text(first, last)
            unit_terms = set().union(*(c.sentence_terms[k] for k in range(first, last + 1)))
            fits = satisfies(text, need) and names_present(c.context_text(first), names)
            cover = max(coverage(focus_terms, unit_terms, c), coverage(search_terms, unit_terms, c))
            found.append((first, last, rank, max(sims[k] for k in range(first, last + 1)), cover, fits))
        return Ranking(need, self._score(found, retrieval), unknown)

    def _similarities(self, units: dict[tuple[int, int], int], retrieval: Retrieval) -> dict[int, float]:
        """Dense similarity of the candidate sentences only; follow-ups mix in the condensed query."""
        ids = sorted({k for first, last in units for k in range(first, last + 1)})
        vectors = self._corpus.sentence_vectors[ids]
        sims = vectors @ retrieval.focus_vector
        if retrieval.query.search != retrieval.query.focus:
            w = self._weights.follow_up_context
            sims = (1 - w) * sims + w * (vectors @ retrieval.search_vector)
        return dict(zip(ids, sims.tolist()))

    def _score(self, found: list[tuple], retrieval: Retrieval) -> list[Evidence]:
        w = self._weights
        dense = _relative(np.array([f[3] for f in found]))
        out = []
        for f, d in zip(found, dense):
            first, last, rank, sim, cover, fits = f
            chunk = retrieval.passages[rank].score
            score = w.dense * d + w.coverage * cover + w.chunk * chunk - w.unfit * (not fits)
            out.append(Evidence(first, last, rank, sim, cover, fits, float(score)))
        return sorted(out, key=lambda e: -e.score)

    def _candidates(self, retrieval: Retrieval) -> dict[tuple[int, int], int]:
        """Sentence runs that overlap a retrieved chunk -> rank of the best such chunk."""
        seen: dict[tuple[int, int], int] = {}
        for rank, ranked in enumerate(retrieval.passages):
            for i in self._corpus.sentences_in(ranked.passage.chunk):
                unit = self._corpus.units[i]
                if unit not in seen and is_statement(self._corpus.sentences[unit[1]].text):
                    seen[unit] = rank
        return seen


def _mostly_unknown(attribute: list[str], corpus: Corpus) -> bool:
    """More than half of the asked-for attribute's words never occur in the corpus."""
    if not attribute:
        return False
    return sum(not corpus.knows(t) for t in attribute) / len(attribute) > 0.5


def _relative(values: np.ndarray) -> np.ndarray:
    """Scale similarities to 0..1 within the candidates (e5 similarities sit in a narrow band)."""
    lo, hi = float(values.min()), float(values.max())
    return (values - lo) / (hi - lo) if hi - lo > 1e-9 else np.ones_like(values)
