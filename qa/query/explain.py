"""Why the evidence model answered or refused: its best runs, their features, and what moved them.

`qa ask --explain` prints this and `--json --explain` adds it as the reply's `explain` field, so a
user can see which passages were weighed, how likely each was to answer, and which features pushed
the decision (each feature's pull on the log-odds, against a typical training run).
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from qa.query.corpus import Corpus
from qa.query.features import FEATURE_HELP
from qa.query.learned import LearnedModel
from qa.query.spans import Span

if TYPE_CHECKING:
    from qa.query.evidence import Ranking

_SHOWN_RUNS = 3
_SHOWN_REASONS = 4


@dataclass(frozen=True)
class RunExplanation:
    """One candidate run: where it is (a span scored by its probability), its features and the strongest pulls."""

    span: Span
    features: dict[str, float]
    pulls: list[tuple[str, float]]

    def to_dict(self) -> dict:
        return {
            **self.span.place(),
            "probability": round(self.span.score, 4),
            "features": {k: round(v, 4) for k, v in self.features.items()},
            "pulls": [{"feature": k, "log_odds": round(v, 3)} for k, v in self.pulls],
        }


@dataclass(frozen=True)
class Explanation:
    """The decision, its threshold and the runs behind it."""

    answered: bool
    threshold: float
    best: float
    reason: str
    runs: list[RunExplanation]

    def to_dict(self) -> dict:
        return {
            "decision": "answered" if self.answered else "refused",
            "threshold": round(self.threshold, 4),
            "best_probability": round(self.best, 4),
            "reason": self.reason,
            "runs": [r.to_dict() for r in self.runs],
        }

    def lines(self) -> list[str]:
        """A plain-text account for the terminal."""
        out = [f"Decision: {'answered' if self.answered else 'refused'}. {self.reason}"]
        for n, r in enumerate(self.runs, 1):
            span = r.span
            quote = span.text if len(span.text) <= 140 else span.text[:137] + "..."
            out.append(f'  run {n}: p={span.score:.3f}  {span.source}, chars {span.start}-{span.end}: "{quote}"')
            out += [f"      {k} = {r.features[k]:.3f} ({FEATURE_HELP[k]}): {v:+.2f} log-odds" for k, v in r.pulls]
            if not r.pulls:
                out.append("      " + ", ".join(f"{k} = {v:.3f}" for k, v in r.features.items()))
        return out


def explain(ranking: "Ranking", corpus: Corpus, model: LearnedModel) -> Explanation:
    """The explanation of one ranking by the model that made it."""
    runs = []
    sign = 1.0 if ranking.answerable else -1.0  # show what pushed towards the decision taken
    for e in ranking.evidence[:_SHOWN_RUNS]:
        pull = model.contributions(np.asarray(e.features))
        order = sorted(range(len(pull)), key=lambda j: -sign * pull[j])[:_SHOWN_REASONS]
        runs.append(
            RunExplanation(
                corpus.span(e.first, e.last, e.probability),
                dict(zip(ranking.feature_names, map(float, e.features))),
                [(ranking.feature_names[j], float(pull[j])) for j in order],
            )
        )
    best = ranking.best.probability if ranking.best else 0.0
    if not ranking.evidence:
        reason = "No sentence of the retrieved passages could be weighed."
    elif ranking.answerable:
        reason = f"The best run's probability of answering, {best:.3f}, reaches the threshold {ranking.threshold:.3f}."
    else:
        reason = (
            f"The best run's probability of answering, {best:.3f}, is below the threshold "
            f"{ranking.threshold:.3f}: no passage was judged to state the answer."
        )
    return Explanation(ranking.answerable, ranking.threshold, best, reason, runs)
