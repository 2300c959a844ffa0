"""Chunk size and overlap measured on the golden sets (dev and test): answer accuracy,
citation precision and evidence hit@k for each setting, each on a fresh index.

    python bench/chunking.py
"""

import tempfile
from pathlib import Path

import qa
from qa.evaluation import evaluate, load_cases

SETTINGS = [(64, 8), (128, 0), (128, 16), (128, 32), (256, 32), (512, 64)]


def main() -> None:
    sets = {name: load_cases(Path(f"tests/golden/{name}.jsonl")) for name in ("article-dev", "article")}
    print("size overlap | " + " | ".join(f"{n}: acc / prec / hit@5" for n in sets))
    for size, overlap in SETTINGS:
        service = qa.load(index_dir=Path(tempfile.mkdtemp()), chunk_size=size, chunk_overlap=overlap)
        service.ingest()
        cells = []
        for cases in sets.values():
            m = evaluate(service, cases).metrics
            cells.append(f"{m['answer_accuracy']:.3f} / {m['citation_precision']:.3f} / {m['evidence_hit@k']:.3f}")
        print(f"{size:4} {overlap:7} | " + " | ".join(cells))


if __name__ == "__main__":
    main()
