"""Evidence checked by the reader (`reader.py`), a cross-encoder that reads the question with a run.

`QA_EVIDENCE=read` (`ReaderVetoRanker`): the hand-set rules pick the run and decide as they do alone;
when they would answer, the reader reads their run, and the answer is refused when its probability
is below the veto threshold. It never answers where the rules refuse.

`QA_EVIDENCE=learned-read` (`ReadEvidenceRanker`): the learned evidence model orders the runs; the
reader reads its best `runs` runs, which are re-ordered by the log-odds the two give together, and
the best decides against a threshold. Runs not read get probability 0: never quoted as support.

Thresholds, the number of runs read and the weights were chosen on dev data only
(`bench/reader_eval.py`) and ship in the reader's card.
"""

from dataclasses import dataclass

import numpy as np

from qa.query.corpus import Corpus
from qa.query.evidence import Evidence, EvidenceRanker, Ranking
from qa.query.explain import Explanation, RunExplanation
from qa.query.reader import Reader
from qa.query.retrieval import Retrieval


@dataclass(frozen=True)
class ReadRanking(Ranking):
    """The read runs best first, then the unread ones (probability 0); per read run, in that order, the base
    ranker's probability and the reader's own."""

    base_probability: tuple[float, ...] = ()
    reading: tuple[float, ...] = ()
    read: int = 0


class ReadEvidenceRanker:
    """`base` ranks; `reader` reads its best `runs` runs; each read run's probability is the sigmoid of
    `weights` . (base log-odds, reader logit, 1); the best decides against `threshold`."""

    def __init__(
        self,
        corpus: Corpus,
        base: EvidenceRanker,
        reader: Reader,
        runs: int,
        threshold: float,
        weights: tuple[float, float, float] = (0.0, 1.0, 0.0),
    ):
        self._corpus = corpus
        self._base = base
        self._reader = reader
        self._runs = runs
        self._threshold = threshold
        self._weights = weights

    def rank(self, retrieval: Retrieval) -> ReadRanking:
        base = self._base.rank(retrieval)
        head, tail = base.evidence[: self._runs], base.evidence[self._runs :]
        texts = [self._corpus.span_text(e.first, e.last) for e in head]
        reading = self._reader.logits(retrieval.query.focus, texts).astype(np.float64)
        base_p = np.clip(np.array([e.probability for e in head], dtype=np.float64), 1e-6, 1 - 1e-6)
        w = self._weights
        p = _sigmoid(w[0] * np.log(base_p / (1 - base_p)) + w[1] * reading + w[2])
        order = np.argsort(-p, kind="stable")
        read = [_scored(head[i], float(p[i])) for i in order]
        return ReadRanking(
            read + [_scored(e, 0.0) for e in tail],
            self._threshold,
            base.feature_names,
            None,
            tuple(head[i].probability for i in order),
            tuple(float(_sigmoid(reading[i])) for i in order),
            len(head),
        )

    def explain(self, ranking: Ranking) -> Explanation:
        base = ranking.base_probability if isinstance(ranking, ReadRanking) else ()
        reading = ranking.reading if isinstance(ranking, ReadRanking) else ()
        runs = [
            RunExplanation(
                self._corpus.span(e.first, e.last, e.probability),
                {"reader_probability": r, "ranker_probability": b, "passage_rank": float(e.passage_rank)},
                [],
            )
            for e, b, r in zip(ranking.evidence[:3], base, reading)
        ]
        best = ranking.best.probability if ranking.best else 0.0
        n = ranking.read if isinstance(ranking, ReadRanking) else 0
        if not ranking.evidence:
            reason = "No sentence of the retrieved passages could be weighed."
        elif ranking.answerable:
            reason = (
                f"The reader read the {n} best runs; the best one's probability of answering (the ranker's and "
                f"the reader's together), {best:.3f}, reaches the threshold {ranking.threshold:.3f}."
            )
        else:
            reason = (
                f"The reader read the {n} best runs; the best one's probability of answering (the ranker's and "
                f"the reader's together), {best:.3f}, is below the threshold {ranking.threshold:.3f}: no passage "
                "was read as stating the answer."
            )
        return Explanation(ranking.answerable, ranking.threshold, best, reason, runs)


@dataclass(frozen=True)
class VetoRanking(Ranking):
    """The rules' ranking and what the reader made of their run (None: the rules refused, nothing was read)."""

    rules_answerable: bool = False
    reading: float | None = None
    veto_threshold: float = 0.0


class ReaderVetoRanker:
    """`rules` rank and decide; when they would answer, `reader` reads their best run, and the answer is
    refused when its probability is below `veto_threshold`."""

    def __init__(self, corpus: Corpus, rules: EvidenceRanker, reader: Reader, veto_threshold: float):
        self._corpus = corpus
        self._rules = rules
        self._reader = reader
        self._veto = veto_threshold

    def rank(self, retrieval: Retrieval) -> VetoRanking:
        rules = self._rules.rank(retrieval)
        reading = None
        if rules.answerable and rules.best is not None:
            text = self._corpus.span_text(rules.best.first, rules.best.last)
            reading = float(_sigmoid(self._reader.logits(retrieval.query.focus, [text]).astype(np.float64))[0])
        decision = reading is not None and reading >= self._veto
        return VetoRanking(
            rules.evidence, rules.threshold, rules.feature_names, decision, rules.answerable, reading, self._veto
        )

    def explain(self, ranking: Ranking) -> Explanation:
        shown = self._rules.explain(ranking)
        if not isinstance(ranking, VetoRanking):
            return shown
        t = ranking.veto_threshold
        reading = ranking.reading or 0.0
        if ranking.reading is None:
            reason = "The hand-set rules refused (the reader was not consulted). " + shown.reason
        elif ranking.answerable:
            reason = (
                f"The hand-set rules answered and the reader agreed: its probability that their run states "
                f"the answer, {reading:.3f}, reaches the veto threshold {t:.3f}."
            )
        else:
            reason = (
                f"The hand-set rules would answer, but the reader vetoed: its probability that their run "
                f"states the answer, {reading:.3f}, is below the veto threshold {t:.3f}."
            )
        return Explanation(ranking.answerable, t, reading, reason, shown.runs)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _scored(e: Evidence, probability: float) -> Evidence:
    return Evidence(e.first, e.last, e.passage_rank, probability, e.features)
