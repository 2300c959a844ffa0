"""The recipe that rebuilds `qa/models/fusion.json` and `qa/models/evidence.json` from data.

1. Questions: COVID-QA (split 60/20/20 by paper, seeded), each asked as is, without its own paper
   (unanswerable), and with one word or number changed to one its paper never uses (unanswerable);
   the article's training questions (`training/article-train.jsonl`) and their changed forms (train),
   the article dev golden set and its changed forms (dev). The article test sets are never used here.
2. Fusion: logistic regression and boosted trees over chunk features, fitted on train questions;
   kept is the one with the best hit@5 on dev papers, against the fixed 50/50 mix measured alike.
3. Evidence: the same two model families over run features, fitted on train questions with the
   chosen fusion; kept is the one that answers the most dev questions right at the stated precision,
   and the answer threshold is the lowest that reaches that precision on dev.
"""

import dataclasses
import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa.eval.golden import THRESHOLDS
from qa.learn.examples import Examples, RunRows, chunk_label
from qa.learn.fit import (
    Decision,
    auc,
    fit_logistic,
    fit_trees,
    summary,
    threshold_for_precision,
    threshold_for_promise,
)
from qa.learn.questions import LabelledQuestion
from qa.query.features import RUN_FEATURES
from qa.query.fusion import CHUNK_FEATURES, Fusion, LearnedFusion, ReciprocalRankFusion, WeightedFusion
from qa.query.learned import LearnedModel

log = logging.getLogger(__name__)


@dataclass
class Dataset:
    """Questions by split, each with the `Examples` of the corpus it is asked of."""

    questions: list[tuple[LabelledQuestion, Examples]]

    def split(self, name: str, answerable_asked_only: bool = False) -> list[tuple[LabelledQuestion, Examples]]:
        return [
            (q, e)
            for q, e in self.questions
            if q.split == name and (not answerable_asked_only or (q.answerable and q.origin == "asked"))
        ]


@dataclass
class Outcome:
    fusion: LearnedModel
    evidence: LearnedModel
    report: dict[str, Any] = field(default_factory=dict)


def hit_at(questions: list[tuple[LabelledQuestion, Examples]], fusion: Fusion, k: int = 5) -> float:
    """Share of questions with a gold span inside one of the top-k chunks (the `qa eval` hit@k)."""
    hits = []
    for q, ex in questions:
        corpus, retrieval = ex.retrieve(q, fusion)
        chunks = [r.titled.chunk for r in retrieval.pool[:k]]
        hits.append(
            any(c.source == src and c.start <= s and e <= c.end for c in chunks for src, s, e in q.spans)
            if q.spans
            else any(chunk_label(corpus, r.index, q) for r in retrieval.pool[:k])
        )
    return float(np.mean(hits)) if hits else float("nan")


def fit_fusion(data: Dataset, seed: int) -> tuple[LearnedModel, dict[str, Any]]:
    xs, ys = [], []
    for q, ex in data.split("train", answerable_asked_only=True):
        x, y = ex.chunk_rows(q)
        xs.append(x)
        ys.append(y)
    x, y = np.vstack(xs), np.concatenate(ys)
    log.info("fusion: %d chunk rows (%d positive)", len(y), int(y.sum()))
    candidates = {
        "logistic": fit_logistic(x, y, "fusion", CHUNK_FEATURES),
        "trees": fit_trees(x, y, "fusion", CHUNK_FEATURES, seed, iterations=150, leaves=15, min_leaf=50),
    }
    dev = data.split("dev", answerable_asked_only=True)
    scores: dict[str, float] = {
        "weighted-0.5": hit_at(dev, WeightedFusion(0.5)),
        "rrf": hit_at(dev, ReciprocalRankFusion()),
    }
    for name, model in candidates.items():
        scores[f"learned-{name}"] = hit_at(dev, LearnedFusion(model))
    best = max(candidates, key=lambda n: scores[f"learned-{n}"])
    log.info("fusion dev hit@5: %s; chosen %s", scores, best)
    return candidates[best], {"rows": int(len(y)), "positives": int(y.sum()), "dev_hit@5": scores, "chosen": best}


def run_rows(data: Dataset, split: str) -> list[RunRows]:
    rows: list[RunRows] = []
    by_examples: dict[int, tuple[Examples, list[LabelledQuestion]]] = {}
    for q, ex in data.split(split):
        by_examples.setdefault(id(ex), (ex, []))[1].append(q)
    for ex, questions in by_examples.values():
        rows.extend(ex.all_run_rows(questions))
    return rows


def decisions(rows: list[RunRows], model: LearnedModel) -> list[Decision]:
    out = []
    for r in rows:
        if not len(r.y):
            out.append(Decision(0.0, False, r.question.answerable, r.question.domain))
            continue
        p = model.probability(r.x)
        best = int(np.argmax(p))
        out.append(Decision(float(p[best]), bool(r.y[best]), r.question.answerable, r.question.domain))
    return out


def fit_evidence(
    train: list[RunRows],
    dev: list[RunRows],
    seed: int,
    precision: float,
    domain_weight: dict[str, float],
    promise: list[RunRows],
) -> tuple[LearnedModel, dict]:
    """Fit the candidates, keep the best on dev, and set its threshold.

    Each question's runs together weigh `domain_weight[domain]`, however many runs it has. The
    threshold keeps the product's promise (`qa.eval.golden.THRESHOLDS`: answer accuracy and refusals)
    on the `promise` questions, a dev golden set, where some threshold does; otherwise it is the lowest
    reaching the balanced `precision` on dev.
    """
    x = np.vstack([r.x for r in train if len(r.y)])
    y = np.concatenate([r.y for r in train if len(r.y)])
    weight = np.concatenate(
        [np.full(len(r.y), domain_weight.get(r.question.domain, 1.0) / len(r.y)) for r in train if len(r.y)]
    )
    weight *= len(y) / weight.sum()
    log.info("evidence: %d run rows from %d questions (%d positive)", len(y), len(train), int(y.sum()))
    candidates = {
        "logistic-c1": fit_logistic(x, y, "evidence", RUN_FEATURES, c=1.0, weight=weight),
        "logistic-c0.1": fit_logistic(x, y, "evidence", RUN_FEATURES, c=0.1, weight=weight),
        "trees-15": fit_trees(x, y, "evidence", RUN_FEATURES, seed, weight=weight, leaves=15),
        "trees-31": fit_trees(x, y, "evidence", RUN_FEATURES, seed, weight=weight, leaves=31, iterations=300),
    }
    dev_x = np.vstack([r.x for r in dev if len(r.y)])
    dev_y = np.concatenate([r.y for r in dev if len(r.y)])
    table: dict[str, dict[str, Any]] = {}
    for name, model in candidates.items():
        kept = threshold_for_promise(
            decisions(promise, model), THRESHOLDS["answer_accuracy"], THRESHOLDS["refusal_accuracy"]
        )
        rule = "promise" if kept is not None else "precision"
        threshold = kept if kept is not None else threshold_for_precision(decisions(dev, model), precision)
        table[name] = {
            "threshold": threshold,
            "threshold_rule": rule,
            "run_auc": auc(model.probability(dev_x), dev_y),
            **summary(decisions(dev, model), threshold),
            "promise_dev": summary(decisions(promise, model), threshold),
        }
        log.info("evidence %s on dev: %s", name, table[name])
    best = max(
        candidates,
        key=lambda n: (
            table[n]["threshold_rule"] == "promise",
            table[n]["answerable_right"] + table[n]["unanswerable_refused"],
            table[n]["run_auc"],
        ),
    )
    return dataclasses.replace(candidates[best], threshold=float(table[best]["threshold"])), {
        "rows": int(len(y)),
        "positives": int(y.sum()),
        "dev": table,
        "chosen": best,
        "precision_target": precision,
        "domain_weight": domain_weight,
        "threshold": table[best]["threshold"],
    }


def by_group(rows: list[RunRows], model: LearnedModel, threshold: float) -> dict[str, dict[str, float]]:
    """Summaries by domain, by how the question was made, and by the file of written questions (whose
    original questions and changed forms share a file)."""
    groups: dict[str, list[RunRows]] = {}
    for r in rows:
        groups.setdefault(f"{r.question.domain}/{r.question.origin}", []).append(r)
        groups.setdefault(r.question.domain, []).append(r)
        if "file" in r.question.meta:
            groups.setdefault(f"file/{r.question.meta['file']}", []).append(r)
    return {name: summary(decisions(rs, model), threshold) for name, rs in sorted(groups.items())}


def provenance(files: list[Path], seed: int, splits: dict[str, str], extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "made_by": "bench/train_ranker.py",
        "made_at": time.strftime("%Y-%m-%d"),
        "seed": seed,
        "data": {str(f): hashlib.sha256(f.read_bytes()).hexdigest()[:16] for f in files},
        "splits": {s: sorted(Path(d).stem for d, v in splits.items() if v == s) for s in ("train", "dev", "test")},
        **extra,
    }
