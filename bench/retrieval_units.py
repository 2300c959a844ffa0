"""Retrieval units: do sentence-aligned windows rank answer-bearing text better than the 128-token chunks?

    qa --index-dir bench/out/covid-index eval ../shared/datasets/covid-qa/covid-qa-dev.json --limit 1  # the index
    python bench/retrieval_units.py

An in-memory experiment over the stored sentences and vectors of the COVID-QA index (nothing is re-indexed),
on the train and dev papers of `qa/models/covid-qa-splits.json` only (never the test papers). Each unit is scored
by the exact e5 cosine of its best sentence and by BM25 over its text, mixed 50/50 after min-max scaling; the top
5 are taken best first, skipping a unit that overlaps a taken one by more than half. hit@k: a top-k unit contains
the whole gold span (the `qa eval` rule); chars: text in the top 5. Results: bench/RESULTS.md.
"""

import json
from pathlib import Path

import numpy as np

import qa
from qa.eval import squad
from qa.index.chunking import cl100k
from qa.query.corpus import Corpus
from qa.query.learned import MODELS
from qa.query.lexical import WordBm25
from qa.text import terms

COVID = Path("../shared/datasets/covid-qa/covid-qa-dev.json")
INDEX = Path("bench/out/covid-index")
Unit = tuple[str, int, int]  # source, first and last sentence (corpus indexes)


def token_windows(corpus: Corpus, by_doc: dict[str, list[int]], size: int, stride: float) -> list[Unit]:
    """Consecutive sentences up to `size` cl100k tokens; the next window starts `stride` of the way in."""
    tokens = [len(cl100k().encode(s.text)) for s in corpus.sentences]
    units = []
    for source, idx in by_doc.items():
        k = 0
        while k < len(idx):
            total, j = 0, k
            while j < len(idx) and (j == k or total + tokens[idx[j]] <= size):
                total += tokens[idx[j]]
                j += 1
            units.append((source, idx[k], idx[j - 1]))
            if j >= len(idx):
                break
            k += max(1, round((j - k) * stride))
    return units


def centred_windows(by_doc: dict[str, list[int]], n: int) -> list[Unit]:
    """`n` sentences around each sentence (fewer at a document's ends), each window once."""
    units = set()
    for source, idx in by_doc.items():
        for k in range(len(idx)):
            b = min(len(idx), max(0, k - n // 2) + n)
            units.add((source, idx[max(0, b - n)], idx[b - 1]))
    return sorted(units)


def evaluate(corpus: Corpus, questions: list, vectors: np.ndarray, units: list[Unit], chunk_text: bool) -> dict:
    sentences = corpus.sentences
    members = [np.arange(a, b + 1) for _, a, b in units]
    if chunk_text:  # the product's chunks: their own text and offsets
        tokenised = [terms(c.chunk.text) for c in corpus.chunks]
        spans = [(c.chunk.start, c.chunk.end) for c in corpus.chunks]
    else:
        tokenised = [[t for k in m for t in corpus.sentence_term_list[k]] for m in members]
        spans = [(sentences[a].start, sentences[b].end) for _, a, b in units]
    bm25 = WordBm25(tokenised)
    owner = np.concatenate([np.full(len(m), u) for u, m in enumerate(members)])
    flat = np.concatenate(members)
    matrix = np.asarray(corpus.sentence_vectors)
    hits, chars = {1: 0, 5: 0}, []
    for q, vector in zip(questions, vectors):
        dense = np.full(len(units), -1.0)
        np.maximum.at(dense, owner, (matrix @ vector)[flat])
        fused = 0.5 * _scaled(dense) + 0.5 * _scaled(bm25.scores(terms(q.text)).astype(np.float64))
        chosen: list[int] = []
        for u in np.argsort(-fused, kind="stable"):
            start, end = spans[u]
            if not any(
                units[c][0] == units[u][0] and min(end, spans[c][1]) - max(start, spans[c][0]) > 0.5 * (end - start)
                for c in chosen
            ):
                chosen.append(int(u))
            if len(chosen) == 5:
                break
        chars.append(sum(spans[c][1] - spans[c][0] for c in chosen))
        for k in hits:
            hits[k] += any(
                units[c][0] == q.source and spans[c][0] <= s and e <= spans[c][1]
                for c in chosen[:k]
                for s, e in q.spans
            )
    n = len(questions)
    return {"units": len(units), "hit@1": hits[1] / n, "hit@5": hits[5] / n, "chars": float(np.mean(chars))}


def _scaled(x: np.ndarray) -> np.ndarray:
    lo, hi = x.min(), x.max()
    return (x - lo) / (hi - lo) if hi > lo else np.ones_like(x)


def main() -> None:
    collection = squad.collection_for(COVID)
    service = qa.load(index_dir=INDEX, collection=collection, auto_ingest=False)
    corpus = service.corpus()
    folder = INDEX / "eval-texts" / collection
    splits = json.loads((MODELS / "covid-qa-splits.json").read_text())
    allowed = {str(folder / f"{d}.txt") for split in ("train", "dev") for d in splits[split]}
    questions = [q for q in squad.load_squad(COVID, folder).questions if q.source in allowed]
    vectors = service.embedder.embed_queries([q.text for q in questions])
    by_doc: dict[str, list[int]] = {}
    for i, s in enumerate(corpus.sentences):
        by_doc.setdefault(s.source, []).append(i)
    chunks = [(c.chunk.source, int(s[0]), int(s[-1])) for c, s in zip(corpus.chunks, corpus.chunk_sentences)]
    variants: list[tuple[str, list[Unit], bool]] = [("the product's 128-token chunks", chunks, True)]
    for size in (128, 192, 256):
        for stride in (1.0, 0.5):
            variants.append(
                (f"windows up to {size} tokens, stride {stride}", token_windows(corpus, by_doc, size, stride), False)
            )
    variants += [(f"{n} sentences around each sentence", centred_windows(by_doc, n), False) for n in (3, 5, 7)]
    print(f"{len(questions)} questions (train and dev papers)\n")
    print("| units | count | hit@1 | hit@5 | chars in top 5 |\n|---|---|---|---|---|")
    for name, units, chunk_text in variants:
        r = evaluate(corpus, questions, vectors, units, chunk_text)
        print(f"| {name} | {r['units']:,} | {r['hit@1']:.3f} | {r['hit@5']:.3f} | {r['chars']:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
