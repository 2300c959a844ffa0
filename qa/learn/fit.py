"""Fitting with scikit-learn, and turning the fitted estimator into a plain `LearnedModel`.

Logistic regression (standardised features) and gradient-boosted trees are both exported to the
JSON form `qa/query/learned.py` evaluates with numpy alone, and the export is checked against
scikit-learn's own predictions before it is used.
"""

import math
from dataclasses import dataclass

import numpy as np

from qa.query.learned import LearnedModel, Trees


def fit_logistic(
    x: np.ndarray, y: np.ndarray, name: str, features: tuple[str, ...], c: float = 1.0, weight: np.ndarray | None = None
) -> LearnedModel:
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    clf = LogisticRegression(C=c, max_iter=5000).fit((x - mean) / scale, y, sample_weight=weight)
    model = LearnedModel(
        name,
        features,
        "logistic",
        {"mean": mean, "scale": scale, "coef": clf.coef_[0], "intercept": float(clf.intercept_[0])},
        reference=tuple(float(v) for v in mean),
    )
    _check(model, clf.predict_proba((x[:500] - mean) / scale)[:, 1], x[:500])
    return model


def fit_trees(
    x: np.ndarray,
    y: np.ndarray,
    name: str,
    features: tuple[str, ...],
    seed: int,
    weight: np.ndarray | None = None,
    iterations: int = 200,
    leaves: int = 15,
    min_leaf: int = 40,
    rate: float = 0.05,
) -> LearnedModel:
    from sklearn.ensemble import HistGradientBoostingClassifier

    clf = HistGradientBoostingClassifier(
        max_iter=iterations,
        learning_rate=rate,
        max_leaf_nodes=leaves,
        min_samples_leaf=min_leaf,
        l2_regularization=1.0,
        random_state=seed,
        early_stopping=False,
    ).fit(x, y, sample_weight=weight)
    trees = []
    for (predictor,) in clf._predictors:
        nodes = predictor.nodes
        trees.append(
            Trees(
                nodes["feature_idx"].astype(np.int64),
                nodes["num_threshold"].astype(np.float64),
                nodes["left"].astype(np.int64),
                nodes["right"].astype(np.int64),
                nodes["value"].astype(np.float64),
                nodes["is_leaf"].astype(bool),
            )
        )
    baseline = float(np.ravel(clf._baseline_prediction)[0])
    model = LearnedModel(
        name,
        features,
        "boosted-trees",
        {"baseline": baseline},
        trees=tuple(trees),
        reference=tuple(float(v) for v in np.median(x, axis=0)),
    )
    _check(model, clf.predict_proba(x[:500])[:, 1], x[:500])
    return model


def _check(model: LearnedModel, expected: np.ndarray, x: np.ndarray) -> None:
    got = model.probability(x)
    if not np.allclose(got, expected, atol=1e-6):
        raise AssertionError(
            f"exported {model.name} model disagrees with scikit-learn "
            f"(max difference {np.abs(got - expected).max():.2e})"
        )


@dataclass(frozen=True)
class Decision:
    """One question's outcome under a model: best probability, whether the best run is right."""

    best: float
    right: bool
    answerable: bool
    domain: str = ""


def balanced_precision(decisions: list[Decision], threshold: float) -> float:
    """How often an answer shown at this threshold is right, with answerable and unanswerable
    questions weighing the same within each domain, averaged over domains: right / (answered
    answerable + answered unanswerable), each a share of its own class. A prior-free precision:
    how many unanswerable questions a dev set happens to hold does not move it."""
    values = []
    for domain in sorted({d.domain for d in decisions}):
        mine = [d for d in decisions if d.domain == domain]
        yes = [d for d in mine if d.answerable]
        no = [d for d in mine if not d.answerable]
        right = _share(d.best >= threshold and d.right for d in yes) if yes else 0.0
        answered = (_share(d.best >= threshold for d in yes) if yes else 0.0) + (
            _share(d.best >= threshold for d in no) if no else 0.0
        )
        values.append(right / answered if answered else 1.0)
    return float(np.mean(values)) if values else float("nan")


def threshold_for_precision(decisions: list[Decision], precision: float) -> float:
    """The lowest threshold (answering the most) whose balanced precision reaches `precision`."""
    for t in sorted({round(d.best, 4) for d in decisions}):
        if balanced_precision(decisions, t) >= precision:
            return t
    return 1.0


# The share of right dev answers a veto may remove (bench/veto_eval.py WHY: the golden promise's margin)
VETO_BUDGET = 0.02


def threshold_for_budget(kept: list[float], budget: float) -> tuple[float, int]:
    """A veto's threshold: the highest t (rounded down to 3 decimals) below which at most floor(budget * n) of
    the n probabilities in `kept` fall (those of dev answers that are right and must not be vetoed), and that
    number of vetoes allowed. A veto only removes answers, so the budget bounds the accuracy it may cost."""
    ordered = sorted(kept)
    allowed = math.floor(budget * len(ordered))
    return (math.floor(ordered[allowed] * 1000) / 1000 if allowed < len(ordered) else 1.0), allowed


def threshold_for_promise(decisions: list[Decision], accuracy: float, refusals: float) -> float | None:
    """The middle of the thresholds at which the answerable questions are answered right at least
    `accuracy` of the time and at least `refusals` of the unanswerable ones are refused (the middle,
    not an end, so that a small dev set's luck at either edge does not decide); None if none does."""
    yes = [d for d in decisions if d.answerable]
    no = [d for d in decisions if not d.answerable]
    seen = sorted({d.best for d in decisions})
    between = [0.0] + [(a + b) / 2 for a, b in zip(seen, seen[1:])] + [seen[-1] + 1e-6 if seen else 1.0]
    feasible = [
        t
        for t in between
        if _share(d.best >= t and d.right for d in yes) >= accuracy
        and (not no or _share(d.best < t for d in no) >= refusals)
    ]
    if not feasible:
        return None
    return (feasible[0] + feasible[-1]) / 2


def summary(decisions: list[Decision], threshold: float) -> dict[str, float]:
    """Answered, right and refused shares at a threshold."""
    answerable = [d for d in decisions if d.answerable]
    unanswerable = [d for d in decisions if not d.answerable]
    return {
        "questions": len(decisions),
        "answerable_answered": _share(d.best >= threshold for d in answerable),
        "answerable_right": _share(d.best >= threshold and d.right for d in answerable),
        "top_run_right": _share(d.right for d in answerable),
        "unanswerable_refused": _share(d.best < threshold for d in unanswerable),
        "balanced_precision": balanced_precision(decisions, threshold),
        "decision_auc": decision_auc(decisions),
    }


def decision_auc(decisions: list[Decision]) -> float:
    """How well the best run's probability tells the questions to answer from those to refuse, at any
    threshold: the chance that an answerable question whose best run is right outranks an unanswerable one.
    Compares models whose thresholds differ."""
    good = [d.best for d in decisions if d.answerable and d.right]
    bad = [d.best for d in decisions if not d.answerable]
    return auc(np.array(good + bad), np.array([1] * len(good) + [0] * len(bad)))


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (probability a positive outranks a negative)."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="stable")
    ranks = np.empty(len(order))
    ranks[order] = np.arange(1, len(order) + 1)
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def _share(flags) -> float:
    values = list(flags)
    return sum(1 for v in values if v) / len(values) if values else float("nan")
