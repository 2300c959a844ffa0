"""Write the (question, candidate run, label) pairs the reader model is fitted and chosen on.

    python bench/reader_pairs.py [--seed 13] [--runs 8]

The questions are `bench/train_ranker.py`'s (train and dev splits only; the COVID-QA test papers and
the article's golden test sets are never read). Each question goes through the product's retrieval
with the shipped learned fusion; its candidate runs are ranked by the shipped evidence model, and the
best `--runs` are written, the way the reader sees them at question time. Training pairs also keep
every positive run outside that top (so each answerable question teaches what answers it).

Writes bench/out/reader-pairs-train.jsonl and bench/out/reader-pairs-dev.jsonl.
"""

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np
from train_ranker import dataset

from qa import offline
from qa.learn import recipe
from qa.query import learned
from qa.query.features import RUN_FEATURES
from qa.query.fusion import CHUNK_FEATURES, LearnedFusion

OUT = Path("bench/out")


def pairs(rows: list[recipe.RunRows], model: learned.LearnedModel, runs: int, keep_positives: bool) -> list[dict]:
    out = []
    for r in rows:
        q = r.question
        if not len(r.y):
            out.append({"id": q.id, "question": r.retrieval.query.focus, "run": None, "label": 0, **_about(q)})
            continue
        p = model.probability(r.x)
        order = list(np.argsort(-p, kind="stable"))
        chosen = order[:runs] + ([i for i in order[runs:] if r.y[i]] if keep_positives else [])
        for rank, i in enumerate(chosen):
            first, last = r.units[i]
            out.append(
                {
                    "id": q.id,
                    "question": r.retrieval.query.focus,
                    "run": r.corpus.span_text(first, last),
                    "label": int(r.y[i]),
                    "learned_p": float(p[i]),
                    "learned_rank": rank,
                    **_about(q),
                }
            )
    return out


def _about(q) -> dict:
    return {"split": q.split, "domain": q.domain, "origin": q.origin, "answerable": q.answerable}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--runs", type=int, default=8, help="best runs (by the shipped evidence model) per question")
    args = parser.parse_args()
    offline.prepare()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    data, examples, _ = dataset(args.seed)
    for ex in examples:
        ex.fusion = LearnedFusion(learned.load("fusion", CHUNK_FEATURES))
    model = learned.load("evidence", RUN_FEATURES)
    OUT.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev"):
        written = pairs(recipe.run_rows(data, split), model, args.runs, keep_positives=split == "train")
        path = OUT / f"reader-pairs-{split}.jsonl"
        path.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in written), encoding="utf-8")
        logging.info("%s: %d pairs (%d positive)", path, len(written), sum(p["label"] for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
