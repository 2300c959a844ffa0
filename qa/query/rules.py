"""The hand-set evidence rules docqa shipped before the learned model, kept as `QA_EVIDENCE=rules`.

Runs of the top chunks are scored by a fixed mix of dense similarity, rarity-weighted term coverage
and chunk score (weights chosen on the dev golden set), and the best run is taken to answer when it
holds the kind of fact asked for (the first of time, money, number the question asks), names every
name the question uses, reaches cosine 0.80 and coverage 0.25, and the question's attribute ("What
was X's revenue?") is a word the corpus uses. These rules were tuned on the article's golden files;
`bench/learned_eval.py` measures them beside the learned model on questions neither was tuned on.
"""

import re
from dataclasses import dataclass

import numpy as np

from qa.query.answer_types import Profile, names_present, profile, satisfies
from qa.query.corpus import Corpus
from qa.query.evidence import Evidence, Ranking
from qa.query.explain import Explanation, RunExplanation
from qa.query.features import candidates, coverage
from qa.query.fusion import minmax
from qa.query.retrieval import Retrieval
from qa.text import terms

_ATTRIBUTE_Q = re.compile(
    r"\bwhat (?:is|was|are|were) (?:the |his |her |its |their |a |an )?(.+?)"
    r"(?: of\b| in\b| for\b| at\b| on\b| last\b| this\b|\?|$)",
    re.IGNORECASE,
)
_KIND_ORDER = ("time", "money", "number")


@dataclass(frozen=True)
class Weights:
    """How the signals mix; chosen on the dev golden set."""

    dense: float = 0.45
    coverage: float = 0.30
    chunk: float = 0.25
    unfit: float = 0.30
    follow_up_context: float = 0.5


@dataclass(frozen=True)
class SupportRule:
    """When the best run is good enough to answer with."""

    min_dense: float = 0.80
    min_coverage: float = 0.25


class RulesEvidenceRanker:
    """Ranks the runs of the top `top_k` chunks by the fixed mix and decides by `SupportRule`."""

    def __init__(self, corpus: Corpus, weights: Weights = Weights(), rule: SupportRule = SupportRule()):
        self._corpus = corpus
        self._weights = weights
        self._rule = rule

    def rank(self, retrieval: Retrieval) -> Ranking:
        c = self._corpus
        focus = retrieval.query.focus
        need = _single_kind(profile(focus))
        unknown = _mostly_unknown(_attribute(focus), c)
        names = [n for n in need.names if all(c.knows(t) for t in terms(n))]
        units = self._candidates(retrieval)
        if not units:
            return Ranking([], 1.0, decision=False)
        sims = self._similarities(units, retrieval)
        focus_terms, search_terms = terms(focus), terms(retrieval.query.search)
        found = []
        for (first, last), rank in units.items():
            text = c.span_text(first, last)
            unit_terms = set().union(*(c.sentence_term_list[k] for k in range(first, last + 1)))
            fits = satisfies(text, need) and names_present(c.context_text(first), names) == 1.0
            cover = max(coverage(focus_terms, unit_terms, c), coverage(search_terms, unit_terms, c))
            found.append((first, last, rank, max(sims[k] for k in range(first, last + 1)), cover, fits))
        w = self._weights
        dense = minmax(np.array([f[3] for f in found]), tie=1.0)  # e5 cosines sit in a narrow band
        scored = []
        for (first, last, rank, sim, cover, fits), d in zip(found, dense):
            score = w.dense * d + w.coverage * cover + w.chunk * retrieval.pool[rank].score - w.unfit * (not fits)
            scored.append((float(score), first, last, rank, sim, cover, fits))
        scored.sort(key=lambda s: -s[0])
        best = scored[0]
        supported = (
            not unknown
            and best[6]
            and best[4] >= self._rule.min_dense
            and (need.non_latin or best[5] >= self._rule.min_coverage)
        )
        evidence = [
            Evidence(first, last, rank, score, (sim, cover, float(fits)))
            for score, first, last, rank, sim, cover, fits in scored
        ]
        return Ranking(evidence, 0.9 * best[0], ("dense", "cover", "fits"), supported)

    def explain(self, ranking: Ranking) -> Explanation:
        c = self._corpus
        runs = [
            RunExplanation(c.span(e.first, e.last, e.probability), dict(zip(ranking.feature_names, e.features)), [])
            for e in ranking.evidence[:3]
        ]
        best = ranking.best.probability if ranking.best else 0.0
        rule = self._rule
        reason = (
            f"Hand-set rules (QA_EVIDENCE=rules): the best run answers when it holds the kind of fact asked "
            f"for, reaches cosine {rule.min_dense} and term coverage {rule.min_coverage}; scores are a fixed "
            "mix, not probabilities."
        )
        return Explanation(ranking.answerable, ranking.threshold, best, reason, runs)

    def _similarities(self, units: dict[tuple[int, int], int], retrieval: Retrieval) -> dict[int, float]:
        ids = sorted({k for first, last in units for k in range(first, last + 1)})
        vectors = self._corpus.sentence_vectors[ids]
        sims = vectors @ retrieval.focus_vector
        if retrieval.query.search != retrieval.query.focus:
            w = self._weights.follow_up_context
            sims = (1 - w) * sims + w * (vectors @ retrieval.search_vector)
        return dict(zip(ids, sims.tolist()))

    def _candidates(self, retrieval: Retrieval) -> dict[tuple[int, int], int]:
        """The runs of the top chunks (as the learned model finds them), each with its best chunk's rank."""
        found = candidates(self._corpus, [(r.index, r.score) for r in retrieval.top])
        return {unit: int(rank) for unit, rank in zip(found.units, found.chunk_rank)}


def _single_kind(need: Profile) -> Profile:
    """The rules ask for one kind of fact: the first of time, money, number the question asks."""
    kind = next((k for k in _KIND_ORDER if k in need.kinds), None)
    count_noun = need.count_noun if kind == "number" and "count" in need.kinds else None
    kinds = frozenset({"count"} if count_noun else {kind} if kind else set())
    return Profile(kinds, count_noun, need.names, need.numbers, need.attribute, need.non_latin)


def _attribute(question: str) -> list[str]:
    """The thing asked about in "What was Xiaomi's revenue in 2023?": ['revenu']."""
    found = _ATTRIBUTE_Q.search(question)
    if not found:
        return []
    phrase = found.group(1).split("'s ")[-1]
    return terms(" ".join(phrase.split()[-3:]))


def _mostly_unknown(attribute: list[str], corpus: Corpus) -> bool:
    """More than half of the asked-for attribute's words never occur in the corpus."""
    if not attribute:
        return False
    return sum(not corpus.knows(t) for t in attribute) / len(attribute) > 0.5
