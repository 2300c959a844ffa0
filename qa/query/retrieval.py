"""Hybrid retrieval of chunks: dense (Chroma, sentence vectors) + BM25, fused by weighted scores.

Dense search runs over sentence vectors: a chunk's dense score is its best sentence's similarity,
so a long chunk is never diluted by its other sentences. Both score lists are min-max normalised
and mixed with `dense_weight`, or fused by reciprocal rank (`fusion="rrf"`); bench/fusion.py
measures both (README).
"""

from dataclasses import dataclass

import numpy as np

from qa.query.corpus import Corpus, Passage
from qa.index.embedding import Embedder
from qa.index.store import Store
from qa.text import terms


@dataclass(frozen=True)
class Query:
    """What to search for: `search` finds chunks; `focus` (the user's own words) picks sentences."""

    search: str
    focus: str


@dataclass(frozen=True)
class RankedPassage:
    passage: Passage
    score: float
    dense: float
    lexical: float


@dataclass
class Retrieval:
    """Ranked passages plus what evidence selection needs: vectors and dense similarities."""

    query: Query
    passages: list[RankedPassage]
    search_vector: np.ndarray
    focus_vector: np.ndarray
    sentence_similarity: dict[int, float]


class HybridRetriever:
    """Dense + BM25 over one corpus snapshot."""

    def __init__(self, store: Store, corpus: Corpus, embedder: Embedder,
                 top_k: int, dense_candidates: int, dense_weight: float, fusion: str = "weighted"):
        self._store = store
        self._corpus = corpus
        self._embedder = embedder
        self.top_k = top_k
        self._candidates = dense_candidates
        self._dense_weight = dense_weight
        self._fusion = fusion

    def retrieve(self, query: Query, top_k: int | None = None) -> Retrieval:
        k = top_k or self.top_k
        texts = [query.search] if query.search == query.focus else [query.search, query.focus]
        vectors = self._embedder.embed_queries(texts)
        search_vec, focus_vec = vectors[0], vectors[-1]
        similarity = self._dense_sentences(search_vec)
        dense = self._chunk_dense(similarity)
        lexical = self._corpus.bm25_scores(terms(query.search))
        if self._fusion == "rrf":
            fused = _minmax(_rrf(dense) + _rrf(lexical))
        else:
            fused = self._dense_weight * _minmax(dense) + (1 - self._dense_weight) * _minmax(lexical)
        order = np.argsort(-fused, kind="stable")[:k]
        ranked = [RankedPassage(self._corpus.passages[i], float(fused[i]), float(dense[i]), float(lexical[i]))
                  for i in order]
        return Retrieval(query, ranked, search_vec, focus_vec, similarity)

    def _dense_sentences(self, vector: np.ndarray) -> dict[int, float]:
        """Similarity of the nearest sentences, keyed by corpus sentence index."""
        index = self._corpus.sentence_index
        return {index[sid]: sim for sid, sim in self._store.nearest_sentences(
            vector, min(self._candidates, len(self._corpus.sentences)))
                if sid in index}

    def _chunk_dense(self, similarity: dict[int, float]) -> np.ndarray:
        scores = np.zeros(len(self._corpus), dtype=np.float32)
        if not similarity:
            return scores
        scores[:] = min(similarity.values())
        for sentence, sim in similarity.items():
            for chunk in self._corpus.chunks_of_sentence[sentence]:
                scores[chunk] = max(scores[chunk], sim)
        return scores


def _rrf(scores: np.ndarray, k: int = 60) -> np.ndarray:
    """Reciprocal-rank contribution of each item: 1 / (k + rank)."""
    ranks = np.empty(len(scores))
    ranks[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
    return 1.0 / (k + ranks)


def _minmax(values: np.ndarray) -> np.ndarray:
    if values.size == 0:
        return values
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < 1e-9:
        return np.zeros_like(values)
    return (values - lo) / (hi - lo)
