"""Choose how the reader is used, on dev data only: how many runs it reads, over which ranker, and the threshold.

    python bench/reader_eval.py [--reader qa/models] [--seed 13] [--write]

Dev questions are `bench/train_ranker.py`'s dev split: COVID-QA dev papers (asked, without their paper,
with a word changed), the article's dev golden set and the held-back 30% of its training questions with
their changed forms. For each way of using the reader, the threshold is the one `qa/learn/fit.py` keeps
for the learned model (the golden dev set's promise where one reaches it, else the balanced precision), except
for `read`, a veto on the rules' answers, whose threshold follows the veto's budget rule (`bench/veto_eval.py`:
at most 2% of the rules' right dev answers vetoed); the dev figures by group are printed. `--write` stores the
chosen way and threshold in the reader's card (`reader.json`). Test data is never read here; `bench/learned_eval.py` reports on it.
"""

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np
from train_ranker import ARTICLE_DEV, dataset

from qa import offline
from qa.eval.golden import THRESHOLDS
from qa.learn.examples import run_label
from qa.learn.fit import (
    VETO_BUDGET,
    Decision,
    summary,
    threshold_for_budget,
    threshold_for_precision,
    threshold_for_promise,
)
from qa.query import learned
from qa.query.evidence import LearnedEvidenceRanker
from qa.query.features import RUN_FEATURES
from qa.query.fusion import CHUNK_FEATURES, LearnedFusion, WeightedFusion
from qa.query.reader import OnnxReader
from qa.query.rules import RulesEvidenceRanker

READS = (1, 2, 3, 4, 6, 8)
PRECISION = 0.6


def outcomes(data, reader: OnnxReader) -> list[dict]:
    """Per dev question: the learned ranker's best probability, and for each way of reading, the best
    reading's probability and whether its run answers."""
    fusion = LearnedFusion(learned.load("fusion", CHUNK_FEATURES))
    model = learned.load("evidence", RUN_FEATURES)
    out = []
    for q, ex in sorted(data.split("dev"), key=lambda pair: (sorted(pair[0].leave_out), pair[0].id)):
        corpus, retrieval = ex.retrieve(q, fusion)
        base = LearnedEvidenceRanker(corpus, model).rank(retrieval).evidence
        head = base[: max(READS)]
        right = [bool(run_label(corpus, (e.first, e.last), q)) for e in head]
        logits = reader.logits(retrieval.query.focus, [corpus.span_text(e.first, e.last) for e in head])
        row = {
            "id": q.id,
            "group": f"{q.domain}/{q.origin}",
            "domain": q.domain,
            "answerable": q.answerable,
            "promise": q.meta.get("file") == ARTICLE_DEV.name and q.origin != "perturbed",
            "learned_p": [e.probability for e in head],
            "reader_logit": [float(v) for v in logits],
            "right": right,
        }
        _, rules_retrieval = ex.retrieve(q, WeightedFusion(0.5))
        rules = RulesEvidenceRanker(corpus).rank(rules_retrieval)
        rules_right = rules.best is not None and bool(run_label(corpus, (rules.best.first, rules.best.last), q))
        row["rules"] = (float(rules.answerable), rules_right)
        if rules.answerable and rules.best is not None:
            b = rules.best
            rp = float(
                1.0 / (1.0 + np.exp(-reader.logits(retrieval.query.focus, [corpus.span_text(b.first, b.last)])[0]))
            )
            row["rules+read"] = (rp, rules_right)
        else:
            row["rules+read"] = (-1.0, False)  # the rules refused: nothing to read
        out.append(row)
    return out


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def combined_weights(rows: list[dict], k: int) -> np.ndarray:
    """Logistic regression of "the run answers" on (logit of the learned probability, reader logit) over the
    best k runs of every dev question: two weights and a bias, the only numbers fitted on dev."""
    from sklearn.linear_model import LogisticRegression

    x = np.array([[lp, rl] for r in rows for lp, rl in zip(logit(np.array(r["learned_p"][:k])), r["reader_logit"][:k])])
    y = np.array([int(v) for r in rows for v in r["right"][:k]])
    fit = LogisticRegression(C=1.0).fit(x, y)
    return np.r_[fit.coef_[0], fit.intercept_]


def best_of(r: dict, way: str, weights: np.ndarray | None) -> tuple[float, bool]:
    """(probability, its run answers) of the run a way picks for one question."""
    if way in ("rules", "rules+read"):
        return r[way][0], r[way][1]
    if not r["right"]:
        return 0.0, False
    if way == "learned":
        return r["learned_p"][0], r["right"][0]
    k = int(way.split("-")[1])
    lp, rl = np.array(r["learned_p"][:k]), np.array(r["reader_logit"][:k])
    p = sigmoid(rl) if weights is None else sigmoid(weights[0] * logit(lp) + weights[1] * rl + weights[2])
    best = int(np.argmax(p))
    return float(p[best]), bool(r["right"][best])


def choose(rows: list[dict], way: str) -> dict:
    weights = combined_weights(rows, int(way.split("-")[1])) if way.startswith("both-") else None

    def decisions(subset):
        return [Decision(*best_of(r, way, weights), r["answerable"], r["domain"]) for r in subset]

    if way == "rules+read":  # a veto on the rules' answers: the veto's budget rule (bench/veto_eval.py)
        kept = [r[way][0] for r in rows if r["answerable"] and r[way][1] and r[way][0] >= 0]
        threshold, rule = threshold_for_budget(kept, VETO_BUDGET)[0], "budget"
    else:
        promise = threshold_for_promise(
            decisions([r for r in rows if r["promise"]]),
            THRESHOLDS["answer_accuracy"],
            THRESHOLDS["refusal_accuracy"],
        )
        threshold = promise if promise is not None else threshold_for_precision(decisions(rows), PRECISION)
        rule = "promise" if promise is not None else "precision"
    groups = sorted({r["group"] for r in rows} | {r["domain"] for r in rows})
    return {
        "threshold": threshold,
        "rule": rule,
        "weights": None if weights is None else [float(w) for w in weights],
        "all": summary(decisions(rows), threshold),
        **{g: summary(decisions([r for r in rows if g in (r["group"], r["domain"])]), threshold) for g in groups},
    }


def write_use(path: Path, table: dict) -> None:
    """Store the choice in the card: the veto threshold of `read`; for `learned-read`, the fewest runs read
    whose dev answerable-right plus unanswerable-refused is within 0.01 of the best (each run read costs
    about 5 ms), with its weights and threshold."""
    score = {
        k: table[f"both-{k}"]["all"]["answerable_right"] + table[f"both-{k}"]["all"]["unanswerable_refused"]
        for k in READS
    }
    runs = min(k for k in READS if score[k] >= max(score.values()) - 0.01)
    chosen = table[f"both-{runs}"]
    card = json.loads(path.read_text(encoding="utf-8"))
    card["use"] = {
        "read": {"threshold": table["rules+read"]["threshold"], "dev": table["rules+read"]["all"]},
        "learned-read": {
            "runs": runs,
            "weights": chosen["weights"],
            "threshold": chosen["threshold"],
            "dev": chosen["all"],
        },
        "chosen_by": "bench/reader_eval.py on the dev split (read: the veto budget, at most "
        f"{VETO_BUDGET:.0%} of the rules' right dev answers vetoed; learned-read: the golden dev set's promise, "
        f"else a balanced precision of {PRECISION}; runs: the fewest within 0.01 of the best dev score)",
    }
    path.write_text(json.dumps(card, indent=1) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reader", type=Path, default=learned.MODELS, help="folder of reader.onnx and its card")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--write", action="store_true", help="store the chosen way and threshold in reader.json")
    args = parser.parse_args()
    offline.prepare()
    logging.basicConfig(level=logging.WARNING)
    data, _, _ = dataset(args.seed)
    rows = outcomes(data, OnnxReader(args.reader, threads=2))
    Path("bench/out").mkdir(parents=True, exist_ok=True)
    Path("bench/out/reader-dev-outcomes.json").write_text(json.dumps(rows) + "\n")
    ways = ["rules", "learned", *(f"read-{k}" for k in READS), *(f"both-{k}" for k in READS), "rules+read"]
    table = {way: choose(rows, way) for way in ways}
    Path("bench/out/reader-eval.json").write_text(json.dumps(table, indent=1) + "\n")
    if args.write:
        write_use(args.reader / "reader.json", table)
    print(
        "| way | threshold (rule) | dev answerable right | dev unanswerable refused | article right / refused | "
        "article written refused | covid right | covid leave-out / perturbed refused | news right / written refused |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for way, t in table.items():

        def g(name: str, key: str, t: dict = t) -> float:
            return t.get(name, {}).get(key, float("nan"))

        print(
            f"| {way} | {t['threshold']:.3f} ({t['rule']}) | {t['all']['answerable_right']:.3f} | "
            f"{t['all']['unanswerable_refused']:.3f} | {g('article', 'answerable_right'):.3f} / "
            f"{g('article', 'unanswerable_refused'):.3f} | {g('article/written', 'unanswerable_refused'):.3f} | "
            f"{g('covid', 'answerable_right'):.3f} | {g('covid/leave-out', 'unanswerable_refused'):.3f} / "
            f"{g('covid/perturbed', 'unanswerable_refused'):.3f} | {g('news', 'answerable_right'):.3f} / "
            f"{g('news/written', 'unanswerable_refused'):.3f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
