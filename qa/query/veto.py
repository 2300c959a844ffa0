"""The hand-set rules with a learned veto (`QA_EVIDENCE=vetoed`).

The rules rank the runs and decide as they do alone; the answer is then refused as well when the
learned evidence model (`qa/models/evidence.json`), weighing the same retrieval, gives its best run a
probability below the veto threshold. So it never answers where the rules refuse, and it answers
where they answer unless the model finds nothing likely to answer. The threshold ships in
`qa/models/veto.json` with how it was chosen (on dev data only, by `bench/veto_eval.py`);
`answer_threshold` overrides it.

The rules are given the retrieval as the service made it (ranked by the `weighted` fusion, theirs). The
model is given the same retrieval re-ranked by the `learned` fusion, the one it was fitted on: its
features include each chunk's fused score and rank, so on a weighted ranking its probabilities are out
of distribution (a one-chunk corpus scores 0 under min-max weighting, and the model then all but
refuses a question the chunk plainly answers).
"""

import json
from dataclasses import dataclass, replace
from pathlib import Path

from qa.errors import ConfigError
from qa.query.corpus import Corpus
from qa.query.evidence import EvidenceRanker, Ranking
from qa.query.explain import Explanation
from qa.query.fusion import Fusion
from qa.query.learned import MODELS
from qa.query.retrieval import Retrieval, ranked_chunks

FORMAT = "docqa-veto"
VERSION = 1


@dataclass(frozen=True)
class VetoedRanking(Ranking):
    """The rules' ranking, with what each side said: `learned_best` is None when the rules refused
    (the model is then not consulted: it could not make them answer)."""

    rules_answerable: bool = False
    learned_best: float | None = None
    veto_threshold: float = 0.0


class VetoedEvidenceRanker:
    """Ranks with `rules_ranker`; answers when the rules do and `learned_ranker`'s best run reaches
    `veto_threshold`.

    `learned_fusion` is the fusion `learned_ranker` was fitted with: the model sees the retrieval
    re-ranked by it (see the module docstring); None gives it the retrieval unchanged (only for a
    model fitted on the service's own fusion, or a stand-in).
    """

    def __init__(
        self,
        corpus: Corpus,
        rules_ranker: EvidenceRanker,
        learned_ranker: EvidenceRanker,
        veto_threshold: float,
        learned_fusion: Fusion | None,
    ):
        self._corpus = corpus
        self._rules = rules_ranker
        self._learned = learned_ranker
        self._fusion = learned_fusion
        self.veto_threshold = float(veto_threshold)

    def rank(self, retrieval: Retrieval) -> VetoedRanking:
        rules = self._rules.rank(retrieval)
        learned_best = None
        if rules.answerable:
            best = self._learned.rank(self.reranked(retrieval)).best
            learned_best = best.probability if best is not None else 0.0
        decision = rules.answerable and learned_best is not None and learned_best >= self.veto_threshold
        return VetoedRanking(
            rules.evidence,
            rules.threshold,
            rules.feature_names,
            decision,
            rules.answerable,
            learned_best,
            self.veto_threshold,
        )

    def reranked(self, retrieval: Retrieval) -> Retrieval:
        """`retrieval` as the learned fusion would have ranked it: every chunk of its signals re-scored,
        the same number of best ones kept as its pool (by `ranked_chunks`, as the retriever keeps them)."""
        if self._fusion is None:
            return retrieval
        fused = self._fusion.score(retrieval.signals)  # `allowed`: a question restricted to some documents stays so
        pool = ranked_chunks(self._corpus, retrieval.signals, fused, len(retrieval.pool), retrieval.allowed)
        return replace(retrieval, pool=pool)

    def explain(self, ranking: Ranking) -> Explanation:
        shown = self._rules.explain(ranking)
        if not isinstance(ranking, VetoedRanking):
            return shown
        t = ranking.veto_threshold
        if not ranking.rules_answerable:
            reason = "The hand-set rules refused (the learned veto was not consulted). " + shown.reason
            best = 0.0
        else:
            best = ranking.learned_best or 0.0
            if ranking.answerable:
                reason = (
                    f"The hand-set rules answered and the learned model did not veto: its best run's "
                    f"probability of answering, {best:.3f}, reaches the veto threshold {t:.3f}."
                )
            else:
                reason = (
                    f"The hand-set rules would answer, but the learned model vetoed: its best run's "
                    f"probability of answering, {best:.3f}, is below the veto threshold {t:.3f}."
                )
        return Explanation(ranking.answerable, t, best, reason, shown.runs)


def load_threshold(path: Path = MODELS / "veto.json") -> float:
    """The shipped veto threshold."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT or data.get("version") != VERSION:
            raise ValueError(f"not a {FORMAT} v{VERSION} file")
        threshold = float(data["veto_threshold"])
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"veto_threshold {threshold} is not a probability")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(
            f"Cannot load the veto threshold from {path}: {exc}",
            hint="Reinstall docqa, or rebuild it with `python bench/veto_eval.py`.",
        ) from None
    return threshold
