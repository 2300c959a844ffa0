"""The dense search of a question: a Chroma query against an exact search of the snapshot's vectors, by the
number of sentences searched. `Settings.exact_search_sentences` is the size below which the product searches
exactly; this is what chose it.

    python bench/exact_search.py [--rounds 3]

Two corpora: the bundled article (80 sentences, its own fresh index) and COVID-QA's 98 papers
(bench/out/covid-index, built by `qa eval`), the latter whole and restricted to its first papers (a Chroma
query with a `where` filter on their sources against the exact search of their sentences). Questions: the
article's golden test set, COVID-QA's first 100 questions. Both searches fetch the same number of sentences
(`dense_candidates`); medians in milliseconds, and the share of the exact top sentences Chroma returned.
Then a warm `ask` of the same COVID-QA questions restricted to each one's own paper (as the web chat's ticks
do), with and without the exact search, against one query embedding in the same run.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import qa
from qa.eval import squad
from qa.eval.golden import load_cases
from qa.query.corpus import Corpus
from qa.query.retrieval import exact_nearest

COVID = Path("../shared/datasets/covid-qa/covid-qa-dev.json")


def compare(service: qa.QAService, corpus: Corpus, questions: list[str], sources: list[str] | None, rounds: int):
    """(sentences, Chroma p50 ms, exact p50 ms, recall of Chroma against the exact top)."""
    rows = np.arange(len(corpus.sentences)) if sources is None else corpus.sentences_of(sources)
    n = min(service.settings.dense_candidates, len(rows))
    vectors = service.embedder.embed_queries(questions)
    chroma, exact, recall = [], [], []
    for _ in range(rounds):
        for vector in vectors:
            t = time.perf_counter()
            found = service.store.nearest_sentences(vector, n, sources)
            chroma.append(time.perf_counter() - t)
            t = time.perf_counter()
            best = exact_nearest(corpus.sentence_vectors, rows, vector, n)  # what the product runs
            exact.append(time.perf_counter() - t)
            got = {r for r in corpus.sentence_rows([sid for sid, _ in found]) if r is not None}
            recall.append(len(got & set(best)) / n)
    return len(rows), 1000 * statistics.median(chroma), 1000 * statistics.median(exact), float(np.mean(recall))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("| corpus | sentences | Chroma query p50 ms | exact p50 ms | Chroma's recall of the exact top |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        article = qa.load(index_dir=Path(folder))
        article.ingest()
        questions = [c.question for c in load_cases(Path("tests/golden/article.jsonl"))]
        size, c, e, r = compare(article, article.corpus(), questions, None, args.rounds)
        print(f"| article | {size} | {c:.2f} | {e:.2f} | {r:.3f} |")
    covid = qa.load(index_dir=Path("bench/out/covid-index"), collection=squad.collection_for(COVID), auto_ingest=False)
    corpus = covid.corpus()
    asked = squad.load_squad(COVID, Path("papers")).questions[:100]
    questions = [q.text for q in asked]
    for papers in (1, 4, 8, 16, 32, None):
        sources = None if papers is None else corpus.sources[:papers]
        size, c, e, r = compare(covid, corpus, questions, sources, args.rounds)
        label = "COVID-QA, all 98 papers" if papers is None else f"COVID-QA, {papers} papers"
        print(f"| {label} | {size} | {c:.2f} | {e:.2f} | {r:.3f} |")
    print()
    print("| warm ask on COVID-QA, restricted to the question's own paper | ask p50 ms | one query embedding p50 ms |")
    print("|---|---|---|")
    by_name = {Path(source).name: source for source in corpus.sources}
    for limit in (0, covid.settings.exact_search_sentences):
        service = qa.load(
            index_dir=Path("bench/out/covid-index"),
            collection=squad.collection_for(COVID),
            auto_ingest=False,
            exact_search_sentences=limit,
        )
        asks, embeds = [], []
        for _ in range(args.rounds):
            for q in asked:
                t = time.perf_counter()
                service.ask(q.text, sources=[by_name[Path(q.source).name]])
                asks.append(time.perf_counter() - t)
                t = time.perf_counter()
                service.embedder.embed_queries([q.text])
                embeds.append(time.perf_counter() - t)
        label = (
            "a Chroma query (exact_search_sentences=0)"
            if limit == 0
            else f"exact search (exact_search_sentences={limit})"
        )
        print(f"| {label} | {1000 * statistics.median(asks):.1f} | {1000 * statistics.median(embeds):.1f} |")


if __name__ == "__main__":
    main()
