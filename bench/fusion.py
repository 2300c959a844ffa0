"""Fusion of dense and BM25 scores measured on the golden sets: weighted (several dense shares)
against reciprocal rank fusion, all on one index in one run.

    python bench/fusion.py
"""

import tempfile
from pathlib import Path

import qa
from qa.evaluation import evaluate, load_cases

VARIANTS = [("weighted", 0.0), ("weighted", 0.3), ("weighted", 0.5), ("weighted", 0.7), ("weighted", 1.0), ("rrf", 0.5)]


def main() -> None:
    index = Path(tempfile.mkdtemp())
    qa.load(index_dir=index).ingest()
    sets = {name: load_cases(Path(f"tests/golden/{name}.jsonl")) for name in ("article-dev", "article")}
    print("fusion   dense | " + " | ".join(f"{n}: acc / prec / hit@5" for n in sets))
    for fusion, weight in VARIANTS:
        service = qa.load(index_dir=index, fusion=fusion, dense_weight=weight)
        cells = []
        for cases in sets.values():
            m = evaluate(service, cases).metrics
            cells.append(f"{m['answer_accuracy']:.3f} / {m['citation_precision']:.3f} / {m['evidence_hit@k']:.3f}")
        print(f"{fusion:8} {weight:5} | " + " | ".join(cells))


if __name__ == "__main__":
    main()
