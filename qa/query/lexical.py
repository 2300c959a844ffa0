"""BM25 over the corpus chunks, in a few numpy arrays.

Okapi BM25 with Lucene's idf, log(1 + (N - df + 0.5) / (df + 0.5)), k1 1.5 and b 0.75: the scores
bm25s gave this project before, to float32 rounding, without its import of scipy (about 0.35 s of
every cold start) or its general-purpose index build. Each term keeps the chunks it occurs in and
its precomputed weight in each, grouped by term (a compressed sparse row layout), so scoring a
question touches only the rows of its terms.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

K1 = 1.5
B = 0.75


@dataclass(frozen=True)
class Inverted:
    """Which rows (chunks, sentences) use each term, and how often: term `vocabulary[t]`'s rows are
    `rows[starts[t]:starts[t + 1]]` (ascending) with their counts in `counts` at the same places."""

    vocabulary: dict[str, int]
    starts: np.ndarray
    rows: np.ndarray
    counts: np.ndarray

    def row_of(self, term: str) -> np.ndarray:
        t = self.vocabulary.get(term)
        return self.rows[self.starts[t] : self.starts[t + 1]] if t is not None else self.rows[:0]

    def frequencies(self) -> np.ndarray:
        """How many rows use each term, by term number."""
        return np.diff(self.starts)


def inverted(tokenised: Sequence[Sequence[str]]) -> Inverted:
    """The inverted index of token lists, built with numpy sorts rather than a Python loop per token pair
    (at 1,000 documents the loop took 2.4 s of every snapshot load). Terms are numbered by first use."""
    vocabulary: dict[str, int] = {}
    lengths = np.fromiter((len(tokens) for tokens in tokenised), dtype=np.int64, count=len(tokenised))
    total = int(lengths.sum())
    ids = np.fromiter(
        (vocabulary.setdefault(t, len(vocabulary)) for tokens in tokenised for t in tokens), dtype=np.int64, count=total
    )
    owner = np.repeat(np.arange(len(tokenised), dtype=np.int64), lengths)
    width = max(1, len(tokenised))  # a (term, row) pair as one sortable number: term * width + row
    pairs, counts = np.unique(ids * width + owner, return_counts=True)
    terms = pairs // width
    starts = np.concatenate(([0], np.cumsum(np.bincount(terms, minlength=len(vocabulary))))).astype(np.int64)
    return Inverted(vocabulary, starts, pairs % width, counts)


class Bm25:
    """BM25 scores of every chunk for a list of query terms."""

    def __init__(self, tokenised: Sequence[Sequence[str]]):
        self.size = len(tokenised)
        # An empty chunk counts as one token long, as bm25s counted it, so average lengths agree.
        lengths = np.array([max(1, len(tokens)) for tokens in tokenised], dtype=np.float64)
        index = inverted(tokenised)
        self.vocabulary = index.vocabulary
        frequency = index.frequencies()
        terms = np.repeat(np.arange(len(index.vocabulary)), frequency)
        df = frequency.astype(np.float64)
        idf = np.log(1 + (self.size - df + 0.5) / (df + 0.5))
        average = lengths.mean() if self.size else 1.0
        tf = index.counts.astype(np.float64)
        weights = idf[terms] * tf / (K1 * ((1 - B) + B * lengths[index.rows] / average) + tf)
        self._chunks = index.rows
        self._weights = weights.astype(np.float32)
        self._starts = index.starts

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """Each chunk's score: the sum of its weights for the query terms (a repeated term counts again)."""
        scores = np.zeros(self.size, dtype=np.float32)
        for term in query_terms:
            row = self.vocabulary.get(term)
            if row is not None:
                start, end = self._starts[row], self._starts[row + 1]
                scores[self._chunks[start:end]] += self._weights[start:end]
        return scores
