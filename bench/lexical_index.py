"""The lexical index: the snapshot's numpy BM25 against SQLite FTS5, on the same chunks and query terms.

Issue 14 asked to pick the on-disk lexical index by measurement. Both indexes here hold the chunks of a
corpus built by bench/scale.py (default: 1,000 documents, 53,016 chunks), tokenised the product's way
(`qa.text.terms`: stemmed, stop words out), so the two rank the same bag of terms; FTS5 gets the terms joined
by spaces and its own `bm25()` ranking. Timed per question, in one process, alternating the two: numpy
scores every chunk and takes the top 100 (what `HybridRetriever` does), FTS5 answers `MATCH` with an OR of
the terms, `ORDER BY bm25(...) LIMIT 100`. Reported: build time and size of the FTS5 file, median and p95 per
question for each, and how often their top 10 agree.

    python bench/lexical_index.py [--collection scale-docs-1000] [--questions 200]
"""

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import qa
from qa.eval import squad
from qa.text import terms

INDEX = Path("bench/out/covid-index")
COVID = Path("../shared/datasets/covid-qa/covid-qa-dev.json")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--collection", default="scale-docs-1000")
    parser.add_argument("--questions", type=int, default=200)
    args = parser.parse_args()
    service = qa.load(index_dir=INDEX, collection=args.collection, auto_ingest=False)
    service.warm_up()
    corpus = service.corpus()
    data = squad.load_squad(COVID, INDEX / "eval-texts" / squad.collection_for(COVID))
    step = max(1, len(data.questions) // args.questions)
    questions = [terms(q.text) for q in data.questions[::step]][: args.questions]
    texts = corpus.columns.chunk_texts
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fts.sqlite"
        began = time.perf_counter()
        db = sqlite3.connect(path)
        db.execute("CREATE VIRTUAL TABLE chunks USING fts5(body, tokenize='unicode61')")
        db.executemany(
            "INSERT INTO chunks(rowid, body) VALUES (?, ?)", ((i, " ".join(terms(t))) for i, t in enumerate(texts))
        )
        db.commit()
        build = time.perf_counter() - began
        size = path.stat().st_size
        numpy_ms, fts_ms, agree = [], [], []
        for words in questions:
            if not words:
                continue
            began = time.perf_counter()
            scores = corpus.bm25_scores(words)
            top = np.argpartition(-scores, min(100, len(scores) - 1))[:100]
            top = top[np.argsort(-scores[top], kind="stable")]
            numpy_ms.append(1000 * (time.perf_counter() - began))
            query = " OR ".join('"' + w.replace('"', '""') + '"' for w in dict.fromkeys(words))
            began = time.perf_counter()
            rows = db.execute(
                "SELECT rowid FROM chunks WHERE chunks MATCH ? ORDER BY bm25(chunks) LIMIT 100", (query,)
            ).fetchall()
            fts_ms.append(1000 * (time.perf_counter() - began))
            mine = [int(i) for i in top[:10] if scores[i] > 0]
            theirs = [r[0] for r in rows[:10]]
            agree.append(len(set(mine) & set(theirs)) / max(1, len(mine)))
        db.close()
    numpy_ms.sort()
    fts_ms.sort()
    print(f"{args.collection}: {len(texts):,} chunks, {len(numpy_ms)} questions")
    print(f"FTS5 build {build:.1f} s, file {size / 2**20:.0f} MB")
    print(
        f"numpy BM25 (snapshot): p50 {statistics.median(numpy_ms):.2f} ms, "
        f"p95 {numpy_ms[round(0.95 * (len(numpy_ms) - 1))]:.2f} ms"
    )
    print(
        f"SQLite FTS5 bm25(): p50 {statistics.median(fts_ms):.2f} ms, p95 {fts_ms[round(0.95 * (len(fts_ms) - 1))]:.2f} ms"
    )
    print(f"top-10 overlap, median {statistics.median(agree):.2f}")


if __name__ == "__main__":
    main()
