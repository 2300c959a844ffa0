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
    pairs, counts = _pairs(tokenised, np.arange(len(tokenised), dtype=np.int64), vocabulary, max(1, len(tokenised)))
    return _indexed(vocabulary, pairs, counts, max(1, len(tokenised)))


def grown(
    index: Inverted, moved: np.ndarray, fresh: Sequence[Sequence[str]], fresh_rows: np.ndarray, size: int
) -> Inverted:
    """`index` after its table changed to `size` rows: old row r is now row `moved[r]` (-1: gone; the kept
    rows keep their order), and the new rows `fresh_rows` hold the token lists `fresh`. The same rows and counts for
    every term as `inverted()` of the new table, at the cost of tokenising only the new rows: after one more
    document, the rest of the index is renumbered with array operations instead of being rebuilt. New terms
    are numbered after the old ones, and a term no row uses any more keeps its number with no rows."""
    vocabulary = dict(index.vocabulary)
    width = max(1, size)
    new_pairs, new_counts = _pairs(fresh, np.asarray(fresh_rows, dtype=np.int64), vocabulary, width)
    old_terms = np.repeat(np.arange(len(index.vocabulary), dtype=np.int64), index.frequencies())
    rows = moved[index.rows]
    alive = rows >= 0
    old_pairs = old_terms[alive] * width + rows[alive]
    at = np.searchsorted(old_pairs, new_pairs)  # both ascending and disjoint: merged in one pass
    pairs = np.insert(old_pairs, at, new_pairs)
    counts = np.insert(index.counts[alive], at, new_counts)
    return _indexed(vocabulary, pairs, counts, width)


def _pairs(
    tokenised: Sequence[Sequence[str]], rows: np.ndarray, vocabulary: dict[str, int], width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each distinct (term, row) as one sortable number, term * width + row, ascending, and its count;
    terms not yet in `vocabulary` are added to it."""
    lengths = np.fromiter((len(tokens) for tokens in tokenised), dtype=np.int64, count=len(tokenised))
    ids = np.fromiter(
        (vocabulary.setdefault(t, len(vocabulary)) for tokens in tokenised for t in tokens),
        dtype=np.int64,
        count=int(lengths.sum()),
    )
    pairs, counts = np.unique(ids * width + np.repeat(rows, lengths), return_counts=True)
    return pairs, counts.astype(np.int32)


def _indexed(vocabulary: dict[str, int], pairs: np.ndarray, counts: np.ndarray, width: int) -> Inverted:
    terms = pairs // width
    starts = np.concatenate(([0], np.cumsum(np.bincount(terms, minlength=len(vocabulary))))).astype(np.int64)
    return Inverted(vocabulary, starts, pairs % width, counts)


class Bm25:
    """BM25 scores of every chunk for a list of query terms."""

    def __init__(self, tokenised: Sequence[Sequence[str]]):
        self._build(inverted(tokenised), _lengths(tokenised))

    def grown(self, moved: np.ndarray, fresh: Sequence[Sequence[str]], fresh_rows: np.ndarray, size: int) -> "Bm25":
        """The scorer of the chunk table after it changed (see `grown`): the kept chunks' postings are
        renumbered, only the new chunks are indexed, and every weight is recomputed (idf and the average
        length change with any chunk)."""
        out = Bm25.__new__(Bm25)
        index = grown(self._index, moved, fresh, fresh_rows, size)
        lengths = np.empty(size, dtype=np.float64)
        alive = moved >= 0
        lengths[moved[alive]] = self._lengths[alive]
        lengths[np.asarray(fresh_rows, dtype=np.int64)] = _lengths(fresh)
        out._build(index, lengths)
        return out

    def _build(self, index: Inverted, lengths: np.ndarray) -> None:
        self.size = len(lengths)
        frequency = index.frequencies()
        terms = np.repeat(np.arange(len(index.vocabulary)), frequency)
        df = frequency.astype(np.float64)
        idf = np.log(1 + (self.size - df + 0.5) / (df + 0.5))
        average = lengths.mean() if self.size else 1.0
        tf = index.counts.astype(np.float64)
        weights = idf[terms] * tf / (K1 * ((1 - B) + B * lengths[index.rows] / average) + tf)
        self._index = index
        self._lengths = lengths
        self._weights = weights.astype(np.float32)  # at the places of `index.rows`

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """Each chunk's score: the sum of its weights for the query terms (a repeated term counts again)."""
        scores = np.zeros(self.size, dtype=np.float32)
        for term in query_terms:
            row = self._index.vocabulary.get(term)
            if row is not None:
                start, end = self._index.starts[row], self._index.starts[row + 1]
                scores[self._index.rows[start:end]] += self._weights[start:end]
        return scores


def _lengths(tokenised: Sequence[Sequence[str]]) -> np.ndarray:
    """Token counts; an empty chunk counts as one token long, as bm25s counted it, so average lengths agree."""
    return np.array([max(1, len(tokens)) for tokens in tokenised], dtype=np.float64)
