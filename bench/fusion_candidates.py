"""The learned fusion scoring only candidate chunks (`fusion.candidate_rows`) against scoring every chunk,
on real questions: is the pool the same, and what does each cost?

    python bench/fusion_candidates.py [--copies 1 10]

Every COVID-QA question (687) over the 98 papers' index (bench/out/covid-index, built by `qa eval`), asked
once: the dense and BM25 signals of each chunk come from the product's retriever; the best 50 chunks (the
largest pool a question may ask for) of both ways of scoring are compared. `--copies k` repeats the corpus's
columns k times in memory (98 k documents; the signals of a copy are those of its paper, BM25 recomputed on
the larger corpus), to time both at the sizes of bench/scale.py without a Chroma collection of that size.
"""

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

import qa
from qa.eval import squad
from qa.index.chroma_client import open_persistent_client
from qa.index.chroma_store import ChromaStore
from qa.query.columns import combined
from qa.query.corpus import Corpus
from qa.query.fusion import CHUNK_FEATURES, ChunkSignals, LearnedFusion, candidate_rows, chunk_features
from qa.query.learned import load
from qa.query.ordering import best_first
from qa.query.retrieval import HybridRetriever, Query
from qa.text import terms

COVID = Path("../shared/datasets/covid-qa/covid-qa-dev.json")
INDEX = Path("bench/out/covid-index")
POOL = 50


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 10])
    args = parser.parse_args()
    collection = squad.collection_for(COVID)
    service = qa.load(index_dir=INDEX, collection=collection, auto_ingest=False)
    store = ChromaStore(open_persistent_client(INDEX), collection, service.embedder.name, service.embedder.dim)
    corpus = Corpus.load(store)
    model = load("fusion", CHUNK_FEATURES)
    fusion = LearnedFusion(model)
    retriever = HybridRetriever(store, corpus, service.embedder, fusion, 5, 256, 10)
    questions = [q.text for q in squad.load_squad(COVID, INDEX / "eval-texts" / collection).questions]
    signals = [retriever.retrieve(Query(q, q)).signals for q in questions]
    for k in args.copies:
        big = (
            corpus
            if k == 1
            else Corpus(
                {}, combined([corpus.columns] * k, [(p, d) for p in range(k) for d in range(len(corpus.sources))])
            )
        )
        same, every_ms, chosen_ms, sizes = 0, [], [], []
        for q, s in zip(questions, signals):
            lexical = s.lexical if k == 1 else big.bm25_scores(terms(q))
            grown = ChunkSignals(np.tile(s.dense, k), lexical, big.chunk_doc)
            began = time.perf_counter()
            full = best_first(model.probability(chunk_features(grown)), POOL)
            every_ms.append((time.perf_counter() - began) * 1e3)
            began = time.perf_counter()
            chosen = best_first(fusion.score(grown), POOL)
            chosen_ms.append((time.perf_counter() - began) * 1e3)
            same += bool(np.array_equal(full, chosen))
            sizes.append(len(candidate_rows(grown)))
        print(
            f"| {98 * k:,} documents ({len(big):,} chunks) | {same} of {len(questions)} |"
            f" {statistics.median(sizes):,.0f} | {statistics.median(every_ms):.1f} ms |"
            f" {statistics.median(chosen_ms):.1f} ms |",
            flush=True,
        )


if __name__ == "__main__":
    main()
