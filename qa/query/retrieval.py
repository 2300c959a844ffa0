"""Retrieval of chunks: dense similarity (Chroma, sentence vectors) and BM25, fused by `fusion.py`.

Dense search runs over sentence vectors: a chunk's dense score is its best sentence's similarity,
so a long chunk is never diluted by its other sentences. The fusion turns both signals (and
document-level ones derived from them) into one score; the best `top_k` chunks are the ones
shown and given to LLMs, and a wider pool feeds evidence selection.
"""

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from qa.index.embedding import Embedder
from qa.index.store import Store
from qa.query.corpus import Corpus, TitledChunk
from qa.query.fusion import ChunkSignals, Fusion
from qa.query.ordering import best_first
from qa.query.spans import Span
from qa.query.stacked import Vectors
from qa.text import terms


@dataclass(frozen=True)
class Query:
    """What to search for: `search` finds chunks; `focus` (the user's own words) picks sentences."""

    search: str
    focus: str


@dataclass(frozen=True)
class RankedChunk:
    """A retrieved chunk (`index` in the corpus snapshot) with its fused score and the two signals it came from."""

    titled: TitledChunk
    index: int
    score: float
    dense: float
    lexical: float

    @property
    def span(self) -> Span:
        """The chunk as a span scored by its fused score: what answer models and users are shown."""
        return self.titled.span(self.score)


@dataclass
class Retrieval:
    """The ranked pool of chunks plus what evidence selection needs: vectors and dense similarities.

    `top` are the best `top_k` of `pool`: the chunks shown with the answer and numbered in an LLM's
    prompt. Evidence is looked for in the pool (the rules ranker: in `top`).
    """

    query: Query
    pool: list[RankedChunk]
    top_k: int
    search_vector: np.ndarray
    focus_vector: np.ndarray
    sentence_similarity: dict[int, float]
    signals: ChunkSignals
    allowed: np.ndarray | None = None  # chunks a question restricted to some documents may use (None: all)

    @property
    def top(self) -> list[RankedChunk]:
        return self.pool[: self.top_k]


class Retriever(Protocol):
    """Finds the chunks a question is about, in one corpus snapshot."""

    def retrieve(self, query: Query, top_k: int | None = None, sources: Collection[str] | None = None) -> Retrieval:
        """The ranked chunks for `query` (`top_k` shown; None: the configured number); with `sources`,
        only chunks of those documents."""
        ...


class HybridRetriever:
    """Dense + BM25 over one corpus snapshot, fused by a `Fusion`."""

    def __init__(
        self,
        store: Store,
        corpus: Corpus,
        embedder: Embedder,
        fusion: Fusion,
        top_k: int,
        dense_candidates: int,
        pool: int,
        exact_up_to: int = 0,
    ):
        """`exact_up_to`: a question over at most this many sentences (the corpus, or the documents it is
        restricted to) is searched exactly from the snapshot's vectors instead of through the store's
        approximate index: below a few thousand sentences that is faster than a store query (about 3 ms of a
        warm ask on the bundled article, 10-17 ms for a question restricted to some documents) and it misses
        nothing (`bench/exact_search.py`)."""
        self._store = store
        self._corpus = corpus
        self._embedder = embedder
        self._fusion = fusion
        self.top_k = top_k
        self._candidates = dense_candidates
        self._pool = pool
        self._exact_up_to = exact_up_to

    def retrieve(self, query: Query, top_k: int | None = None, sources: Collection[str] | None = None) -> Retrieval:
        """The ranked chunks for `query`; with `sources`, only chunks of those documents are candidates."""
        k = top_k or self.top_k
        texts = [query.search] if query.search == query.focus else [query.search, query.focus]
        vectors = self._embedder.embed_queries(texts)
        search_vec, focus_vec = vectors[0], vectors[-1]
        similarity, exact = self._dense_sentences(search_vec, sources)
        lexical = self._corpus.bm25_scores(terms(query.search))
        allowed = self._corpus.chunks_of(sources) if sources is not None else None
        if not exact:
            similarity.update(
                self._missed_by_the_dense_search(search_vec, similarity, lexical, max(k, self._pool), allowed)
            )
        signals = ChunkSignals(self._chunk_dense(similarity), lexical, self._corpus.chunk_doc)
        fused = self._fusion.score(signals)
        ranked = ranked_chunks(self._corpus, signals, fused, max(k, self._pool), allowed)
        return Retrieval(query, ranked, k, search_vec, focus_vec, similarity, signals, allowed)

    def _dense_sentences(
        self, vector: np.ndarray, sources: Collection[str] | None = None
    ) -> tuple[dict[int, float], bool]:
        """Similarity of the nearest sentences (of `sources` only, when given), keyed by corpus sentence index,
        and whether the search was exact."""
        rows = None if sources is None else self._corpus.sentences_of(sources)
        available = len(self._corpus.sentences) if rows is None else len(rows)
        n = min(self._candidates, available)
        if available <= self._exact_up_to:
            every = np.arange(available) if rows is None else rows
            return exact_nearest(self._corpus.sentence_vectors, every, vector, n), True
        found = self._store.nearest_sentences(vector, n, sources)
        found_rows = self._corpus.sentence_rows([sid for sid, _ in found])
        return {row: sim for row, (_, sim) in zip(found_rows, found) if row is not None}, False

    def _missed_by_the_dense_search(
        self, vector: np.ndarray, similarity: dict[int, float], lexical: np.ndarray, n: int, allowed: np.ndarray | None
    ) -> dict[int, float]:
        """Sentences of the `n` best BM25 chunks that an exact search would have returned and Chroma's did not.

        Chroma's nearest-neighbour graph (HNSW) is approximate: on a freshly grown collection it has missed
        every sentence of a just-added document (cosine 0.894 to the question, against 0.801 for the worst
        sentence it returned). A chunk the dense search misses gets the lowest returned similarity, so even a
        chunk BM25 ranks first can fall out of the pool. The snapshot holds every sentence vector, so the
        sentences of the lexically best chunks are scored exactly; those above the lowest returned similarity
        are the ones an exact search would have returned. With an exact search this adds nothing.
        """
        if not similarity:
            return {}
        floor = min(similarity.values())
        scores = lexical if allowed is None else np.where(allowed, lexical, 0.0)
        n = min(n, int(np.count_nonzero(scores > 0)))
        if n == 0:
            return {}
        best = np.argpartition(-scores, n - 1)[:n]
        rows = [int(i) for c in best for i in self._corpus.chunk_sentences[c] if int(i) not in similarity]
        if not rows:
            return {}
        exact = self._corpus.sentence_vectors[rows] @ vector
        return {row: float(sim) for row, sim in zip(rows, exact) if sim > floor}

    def _chunk_dense(self, similarity: dict[int, float]) -> np.ndarray:
        scores = np.zeros(len(self._corpus), dtype=np.float32)
        if not similarity:
            return scores
        scores[:] = min(similarity.values())
        for sentence, sim in similarity.items():
            for chunk in self._corpus.chunks_of_sentence[sentence]:
                scores[chunk] = max(scores[chunk], sim)
        return scores


def exact_nearest(vectors: Vectors, rows: np.ndarray, vector: np.ndarray, n: int) -> dict[int, float]:
    """The `n` sentences of `rows` most similar to `vector`, scored from the snapshot's `vectors` (ties in
    corpus order), keyed by sentence row."""
    if n <= 0:  # (an empty snapshot's vectors have no width to multiply)
        return {}
    similarity = vectors[rows] @ vector
    best = np.argsort(-similarity, kind="stable")[:n]
    return {int(rows[i]): float(similarity[i]) for i in best}


def ranked_chunks(
    corpus: Corpus, signals: ChunkSignals, fused: np.ndarray, n: int, allowed: np.ndarray | None
) -> list[RankedChunk]:
    """The `n` best chunks by fused score, best first (ties in corpus order); only `allowed` ones when given."""
    return [
        RankedChunk(corpus.chunks[i], int(i), float(fused[i]), float(signals.dense[i]), float(signals.lexical[i]))
        for i in best_first(fused, n, allowed)
    ]
