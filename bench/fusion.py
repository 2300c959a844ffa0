"""Fusion of dense and BM25 scores measured on the golden sets: weighted (several dense shares)
against reciprocal rank fusion, all on one index in one run.

    python bench/fusion.py
"""

import tempfile
from pathlib import Path

from golden_table import header, load_sets, row

import qa

VARIANTS = [("weighted", 0.0), ("weighted", 0.3), ("weighted", 0.5), ("weighted", 0.7), ("weighted", 1.0), ("rrf", 0.5)]


def main() -> None:
    index = Path(tempfile.mkdtemp())
    qa.load(index_dir=index).ingest()
    sets = load_sets()
    print(header("fusion   dense"))
    for fusion, weight in VARIANTS:
        print(f"{fusion:8} {weight:5} | {row(qa.load(index_dir=index, fusion=fusion, dense_weight=weight), sets)}")


if __name__ == "__main__":
    main()
