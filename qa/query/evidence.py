"""Evidence: which sentence run of the retrieved chunks answers the question, and how likely it is to.

A model fitted on data (`qa/models/evidence.json`, see `bench/train_ranker.py`) turns each
candidate run's features (`features.py`) into the probability that it answers the question. The
runs are ranked by it, and the best run's probability decides between answering and refusing:
the threshold was chosen on a dev split for a stated precision and ships in the same file.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from qa.errors import ConfigError
from qa.query import learned
from qa.query.corpus import Corpus
from qa.query.explain import Explanation, explain
from qa.query.features import RUN_FEATURES, FeatureExtractor, candidates
from qa.query.retrieval import Retrieval


@dataclass(frozen=True)
class Evidence:
    """A candidate run of sentences [first, last]: its best chunk's rank, probability and features."""

    first: int
    last: int
    passage_rank: int
    probability: float
    features: Sequence[float]


@dataclass(frozen=True)
class Ranking:
    """Evidence best first, the score from which a run is taken to answer, and whether the best does.

    `answerable` defaults to "the best run reaches the threshold"; a ranker may decide otherwise.
    """

    evidence: list[Evidence]
    threshold: float
    feature_names: tuple[str, ...] = RUN_FEATURES
    decision: bool | None = None

    @property
    def best(self) -> Evidence | None:
        return self.evidence[0] if self.evidence else None

    @property
    def answerable(self) -> bool:
        if self.decision is not None:
            return self.decision
        return bool(self.evidence) and self.evidence[0].probability >= self.threshold


class EvidenceRanker(Protocol):
    """Ranks the sentence runs of one retrieval."""

    def rank(self, retrieval: Retrieval) -> Ranking: ...

    def explain(self, ranking: Ranking) -> Explanation: ...


class LearnedEvidenceRanker:
    """Ranks runs by the fitted model's probability that they answer the question."""

    def __init__(self, corpus: Corpus, model: learned.LearnedModel, threshold: float | None = None):
        self._corpus = corpus
        self._model = model
        self._extractor = FeatureExtractor(corpus)
        chosen = threshold if threshold is not None else model.threshold
        self._threshold = 0.5 if chosen is None else float(chosen)

    def rank(self, retrieval: Retrieval) -> Ranking:
        pool = [(r.index, r.score) for r in retrieval.pool]
        found = candidates(self._corpus, pool)
        if not found.units:
            return Ranking([], self._threshold)
        pool_docs = self._corpus.chunk_doc[[i for i, _ in pool]]
        x = self._extractor.compute(
            retrieval.query.focus,
            retrieval.query.search,
            retrieval.focus_vector,
            retrieval.search_vector,
            found,
            pool_docs,
            retrieval.sentence_similarity,
        )
        p = self._model.probability(x)
        order = np.argsort(-p, kind="stable")
        evidence = [
            Evidence(found.units[i][0], found.units[i][1], int(found.chunk_rank[i]), float(p[i]), x[i]) for i in order
        ]
        return Ranking(evidence, self._threshold)

    def explain(self, ranking: Ranking) -> Explanation:
        return explain(ranking, self._corpus, self._model)


RankerFactory = Callable[[Corpus], EvidenceRanker]  # makes the ranker of each corpus snapshot as it is loaded


def evidence_ranker(name: str, threshold: float | None = None) -> RankerFactory:
    """The evidence ranker named in settings, bound to each corpus snapshot as it is loaded."""
    makers: dict[str, Callable[[float | None], RankerFactory]] = {
        "learned": _learned,
        "rules": _rules,
        "vetoed": _vetoed,
        "read": _read,
        "learned-read": _learned_read,
    }
    if name not in makers:
        raise ConfigError(f"Unknown evidence ranker {name!r}; choose one of {', '.join(makers)}.")
    return makers[name](threshold)


def _learned(threshold: float | None) -> RankerFactory:
    """The fitted model; `threshold` overrides the one it ships with."""
    model = learned.load("evidence", RUN_FEATURES)
    return lambda corpus: LearnedEvidenceRanker(corpus, model, threshold)


def _rules(threshold: float | None) -> RankerFactory:
    """The hand-set rules decide by their own `SupportRule`; `threshold` does not apply to them."""
    from qa.query.rules import RulesEvidenceRanker

    return RulesEvidenceRanker


def _read(threshold: float | None) -> RankerFactory:
    """The rules, with the reader's veto on their run; `threshold` overrides the shipped veto threshold."""
    from qa.query.reader import OnnxReader
    from qa.query.reading import ReaderVetoRanker
    from qa.query.rules import RulesEvidenceRanker

    reader = OnnxReader()  # one model, shared by every corpus snapshot
    veto = reader.card.veto_threshold if threshold is None else threshold
    return lambda corpus: ReaderVetoRanker(corpus, RulesEvidenceRanker(corpus), reader, veto)


def _learned_read(threshold: float | None) -> RankerFactory:
    """The learned model's best runs read by the reader; `threshold` overrides the shipped answer threshold."""
    from qa.query.reader import OnnxReader
    from qa.query.reading import ReadEvidenceRanker

    model = learned.load("evidence", RUN_FEATURES)
    reader = OnnxReader()
    card = reader.card
    chosen = card.threshold if threshold is None else threshold
    return lambda corpus: ReadEvidenceRanker(
        corpus, LearnedEvidenceRanker(corpus, model), reader, card.runs, chosen, card.weights
    )


def _vetoed(threshold: float | None) -> RankerFactory:
    """The rules with the learned veto; `threshold` overrides the shipped veto threshold."""
    from qa.query.fusion import build_fusion
    from qa.query.rules import RulesEvidenceRanker
    from qa.query.veto import VetoedEvidenceRanker, load_threshold

    model = learned.load("evidence", RUN_FEATURES)
    fusion = build_fusion("learned", 0.5)  # the model's own fusion (the weight is the weighted one's only)
    veto = load_threshold() if threshold is None else threshold
    return lambda corpus: VetoedEvidenceRanker(
        corpus, RulesEvidenceRanker(corpus), LearnedEvidenceRanker(corpus, model), veto, fusion
    )
