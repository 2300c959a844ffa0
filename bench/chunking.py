"""Chunk size and overlap measured on the golden sets (dev and test): answer accuracy,
citation precision and evidence hit@k for each setting, each on a fresh index.

    python bench/chunking.py
"""

import tempfile
from pathlib import Path

from golden_table import header, load_sets, row

import qa

SETTINGS = [(64, 8), (128, 0), (128, 16), (128, 32), (256, 32), (512, 64)]


def main() -> None:
    sets = load_sets()
    print(header("size overlap"))
    for size, overlap in SETTINGS:
        service = qa.load(index_dir=Path(tempfile.mkdtemp()), chunk_size=size, chunk_overlap=overlap)
        service.ingest()
        print(f"{size:4} {overlap:7} | {row(service, sets)}")


if __name__ == "__main__":
    main()
