"""Shared by the golden-set benchmarks: one table row of metrics per service configuration."""

from pathlib import Path

import qa
from qa.eval.golden import evaluate, load_cases

SETS = ("article-dev", "article")


def load_sets() -> dict[str, list]:
    return {name: load_cases(Path(f"tests/golden/{name}.jsonl")) for name in SETS}


def header(label: str) -> str:
    return f"{label} | " + " | ".join(f"{n}: acc / prec / hit@5" for n in SETS)


def row(service: qa.QAService, sets: dict[str, list]) -> str:
    """Answer accuracy / citation precision / evidence hit@k on each golden set."""
    cells = []
    for cases in sets.values():
        m = evaluate(service, cases).metrics
        cells.append(f"{m['answer_accuracy']:.3f} / {m['citation_precision']:.3f} / {m['evidence_hit@k']:.3f}")
    return " | ".join(cells)
