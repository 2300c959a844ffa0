"""Retrieval of chunks: dense similarity (Chroma, sentence vectors) and BM25, fused by `fusion.py`.

Dense search runs over sentence vectors: a chunk's dense score is its best sentence's similarity,
so a long chunk is never diluted by its other sentences. The fusion turns both signals (and
document-level ones derived from them) into one score; the best `top_k` chunks are the passages
shown and given to LLMs, and a wider pool feeds evidence selection.
"""

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from qa.index.embedding import Embedder
from qa.index.store import Store
from qa.query.corpus import Corpus, Passage
from qa.query.fusion import ChunkSignals, Fusion
from qa.text import terms


@dataclass(frozen=True)
class Query:
    """What to search for: `search` finds chunks; `focus` (the user's own words) picks sentences."""

    search: str
    focus: str


@dataclass(frozen=True)
class RankedPassage:
    """A retrieved chunk with its fused score and the two signals it came from."""

    passage: Passage
    index: int
    score: float
    dense: float
    lexical: float


@dataclass
class Retrieval:
    """The ranked pool of chunks plus what evidence selection needs: vectors and dense similarities.

    `passages` are the best `top_k` of `pool`, the chunks evidence is looked for in.
    """

    query: Query
    pool: list[RankedPassage]
    top_k: int
    search_vector: np.ndarray
    focus_vector: np.ndarray
    sentence_similarity: dict[int, float]
    signals: ChunkSignals
    allowed: np.ndarray | None = None  # chunks a question restricted to some documents may use (None: all)

    @property
    def passages(self) -> list[RankedPassage]:
        return self.pool[: self.top_k]


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
    ):
        self._store = store
        self._corpus = corpus
        self._embedder = embedder
        self._fusion = fusion
        self.top_k = top_k
        self._candidates = dense_candidates
        self._pool = pool

    def retrieve(self, query: Query, top_k: int | None = None, sources: Collection[str] | None = None) -> Retrieval:
        """The ranked chunks for `query`; with `sources`, only chunks of those documents are candidates."""
        k = top_k or self.top_k
        texts = [query.search] if query.search == query.focus else [query.search, query.focus]
        vectors = self._embedder.embed_queries(texts)
        search_vec, focus_vec = vectors[0], vectors[-1]
        similarity = self._dense_sentences(search_vec, sources)
        signals = ChunkSignals(
            self._chunk_dense(similarity), self._corpus.bm25_scores(terms(query.search)), self._corpus.chunk_doc
        )
        fused = self._fusion.score(signals)
        order = np.argsort(-fused, kind="stable")
        allowed = self._corpus.chunks_of(sources) if sources is not None else None
        if allowed is not None:
            order = order[allowed[order]]
        order = order[: max(k, self._pool)]
        ranked = [
            RankedPassage(
                self._corpus.passages[i], int(i), float(fused[i]), float(signals.dense[i]), float(signals.lexical[i])
            )
            for i in order
        ]
        return Retrieval(query, ranked, k, search_vec, focus_vec, similarity, signals, allowed)

    def _dense_sentences(self, vector: np.ndarray, sources: Collection[str] | None = None) -> dict[int, float]:
        """Similarity of the nearest sentences (of `sources` only, when given), keyed by corpus sentence index."""
        index = self._corpus.sentence_index
        available = len(self._corpus.sentences) if sources is None else self._corpus.sentence_count(sources)
        return {
            index[sid]: sim
            for sid, sim in self._store.nearest_sentences(vector, min(self._candidates, available), sources)
            if sid in index
        }

    def _chunk_dense(self, similarity: dict[int, float]) -> np.ndarray:
        scores = np.zeros(len(self._corpus), dtype=np.float32)
        if not similarity:
            return scores
        scores[:] = min(similarity.values())
        for sentence, sim in similarity.items():
            for chunk in self._corpus.chunks_of_sentence[sentence]:
                scores[chunk] = max(scores[chunk], sim)
        return scores
