"""Terms and the lexical indexes over them: a sorted vocabulary, inverted indexes and BM25, in numpy arrays.

Okapi BM25 with Lucene's idf, log(1 + (N - df + 0.5) / (df + 0.5)), k1 1.5 and b 0.75: the scores
bm25s gave this project before, to float32 rounding, without its import of scipy or its general-purpose
index build. Each term keeps the rows (chunks, sentences) it occurs in, grouped by term (a compressed
sparse row layout), so scoring a question touches only the rows of its terms. Terms are numbered by their
place in the sorted vocabulary, so that the arrays can be kept in a file and merged without a dictionary.
"""

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from qa.query.packed import Packed, Ragged

K1 = 1.5
B = 0.75


def places_in(big: Packed, words: Sequence[str]) -> list[int]:
    """Each word's number in the sorted vocabulary `big`, or -1 where `big` lacks it; `big` (a large
    snapshot's) is searched, not decoded."""
    found = []
    for word in words:
        at = bisect.bisect_left(big, word)
        found.append(at if at < len(big) and big[at] == word else -1)
    return found


def merged_vocabulary(big: Packed, others: Sequence[Packed]) -> tuple[Packed, list[np.ndarray]]:
    """The sorted union of `big` and `others`, and for each input where its terms went (`big` first).
    Only the small vocabularies are read whole (`places_in`)."""
    present = [places_in(big, list(other)) for other in others]
    fresh = {word for other, found in zip(others, present) for word, at in zip(other, found) if at < 0}
    new = sorted(fresh)
    places = np.array([bisect.bisect_left(big, w) for w in new], dtype=np.int64)
    map_big = np.arange(len(big), dtype=np.int64) + np.searchsorted(places, np.arange(len(big)), side="right")
    rank = {w: k for k, w in enumerate(new)}
    maps = [map_big]
    for other, found in zip(others, present):
        maps.append(
            np.array(
                [map_big[at] if at >= 0 else places[rank[w]] + rank[w] for w, at in zip(other, found)],
                dtype=np.int64,
            )
        )
    pieces: list[Packed] = []
    lo = 0
    for k, place in enumerate(places.tolist()):
        pieces += [big.rows([(lo, place)]), Packed.of([new[k]])]
        lo = place
    pieces.append(big.rows([(lo, len(big))]))
    return Packed.joined(pieces), maps


@dataclass(frozen=True)
class Inverted:
    """Which rows use each term, and how often: term t's rows are `rows[starts[t]:starts[t + 1]]`
    (ascending) with their counts in `counts` at the same places."""

    starts: np.ndarray
    rows: np.ndarray
    counts: np.ndarray

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        """The rows that use `term` (ascending) and how often each does."""
        start, end = int(self.starts[term]), int(self.starts[term + 1])
        return self.rows[start:end], self.counts[start:end]

    def frequencies(self) -> np.ndarray:
        """How many rows use each term, by term number."""
        return np.diff(self.starts)


def inverted(term_numbers: Ragged, vocabulary_size: int) -> Inverted:
    """The inverted index of rows of term numbers, with numpy sorts rather than a Python loop per token."""
    width = max(1, len(term_numbers))
    rows = np.repeat(np.arange(len(term_numbers), dtype=np.int64), term_numbers.lengths())
    pairs, counts = np.unique(term_numbers.values.astype(np.int64) * width + rows, return_counts=True)
    return _indexed(pairs, counts.astype(np.int32), width, vocabulary_size)


def merged(parts: Sequence[tuple[Inverted, np.ndarray, np.ndarray]], vocabulary_size: int, size: int) -> Inverted:
    """One index of a table whose rows come from several tables' indexes: `(index, term_map, row_map)` says
    where each term and row of that part went (row -1: left out). Kept rows keep their order and the maps
    are increasing, so each part's postings stay sorted and merge with no re-sort and no tokenising of the
    rows they had: the largest part's postings are renumbered where they are (two passes over it; building
    (term, row) numbers for it took ten) and the other parts' few inserted among them."""
    if not parts:
        return Inverted(np.zeros(vocabulary_size + 1, dtype=np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32))
    (index, term_map, row_map), *others = sorted(parts, key=lambda p: -len(p[0].rows))
    rows = row_map[index.rows]
    kept_counts = index.counts
    frequencies = np.zeros(vocabulary_size, dtype=np.int64)
    frequencies[term_map] = index.frequencies()
    dropped = np.flatnonzero(rows < 0)
    if len(dropped):  # rows left out of the largest part too (a document removed or replaced)
        term_of_dropped = np.searchsorted(index.starts, dropped, side="right") - 1
        frequencies[term_map] -= np.bincount(term_of_dropped, minlength=len(index.starts) - 1)
        alive = rows >= 0
        rows, kept_counts = rows[alive], kept_counts[alive]
    width = max(1, size)
    pairs, counts = _pairs(others, width)
    order = np.argsort(pairs, kind="stable")
    pairs, counts = pairs[order], counts[order]
    terms, new_rows = pairs // width, pairs % width
    starts = np.concatenate(([0], np.cumsum(frequencies)))
    at = np.array(
        [a + int(np.searchsorted(rows[a:b], r)) for a, b, r in zip(starts[terms], starts[terms + 1], new_rows)],
        dtype=np.int64,
    )
    frequencies += np.bincount(terms, minlength=vocabulary_size)
    return Inverted(
        np.concatenate(([0], np.cumsum(frequencies))).astype(np.int64),
        inserted(rows, at, new_rows),
        inserted(kept_counts, at, counts).astype(np.int32, copy=False),
    )


def inserted(array: np.ndarray, at: np.ndarray, values: np.ndarray) -> np.ndarray:
    """`np.insert(array, at, values)` for non-decreasing `at`, by one masked copy without np.insert's sort of
    the positions: 5,000 postings into 30 million (10,000 documents) took 0.62 s with np.insert and 0.04 s
    this way, in memory already touched; the first touch of the new array's pages costs more than either."""
    out = np.empty(len(array) + len(at), dtype=array.dtype)
    places = np.asarray(at, dtype=np.int64) + np.arange(len(at), dtype=np.int64)
    keep = np.ones(len(out), dtype=bool)
    keep[places] = False
    out[places] = values
    out[keep] = array
    return out


def _pairs(parts: Sequence[tuple[Inverted, np.ndarray, np.ndarray]], width: int) -> tuple[np.ndarray, np.ndarray]:
    """Each kept posting of `parts` as one number, new term * width + new row, and its count."""
    pairs, counts = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int32)]
    for index, term_map, row_map in parts:
        terms = np.repeat(np.arange(len(index.starts) - 1, dtype=np.int64), index.frequencies())
        rows = row_map[index.rows]
        alive = rows >= 0
        pairs.append(term_map[terms[alive]] * width + rows[alive])
        counts.append(index.counts[alive])
    return np.concatenate(pairs), np.concatenate(counts)


def _indexed(pairs: np.ndarray, counts: np.ndarray, width: int, vocabulary_size: int) -> Inverted:
    terms = pairs // width
    starts = np.concatenate(([0], np.cumsum(np.bincount(terms, minlength=vocabulary_size)))).astype(np.int64)
    return Inverted(starts, pairs % width, counts.astype(np.int32))


class PostingLists(Protocol):
    """An inverted index as BM25 reads it (`Inverted`, or a stacked one: `stacked.Postings`)."""

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray]: ...


class Bm25:
    """BM25 scores of every row (chunk) for a list of query term numbers.

    A posting's weight (idf times the saturated, length-normalised term frequency) is worked out when a
    question reads that term, for that term's postings only: idf and the average length change with every
    document added, so weights kept for every posting had to be recomputed on each reload (0.17 s at 1,000
    documents) and took 4 bytes a posting in the snapshot file. The arithmetic is the same, in float64, so the
    scores are the ones the kept weights gave."""

    def __init__(self, index: PostingLists, lengths: np.ndarray):
        self.index = index
        self.size = len(lengths)
        average = lengths.mean() if self.size else 1.0
        self._norm = K1 * ((1 - B) + B * lengths / average)  # per row; plus tf, the denominator

    def scores(self, query_terms: Sequence[int]) -> np.ndarray:
        """Each row's score: the sum of its weights for the query terms (a repeated term counts again)."""
        scores = np.zeros(self.size, dtype=np.float32)
        for term in query_terms:
            rows, counts = self.index.postings(term)
            df = float(len(rows))
            idf = np.log(1 + (self.size - df + 0.5) / (df + 0.5))
            tf = counts.astype(np.float64)
            scores[rows] += (idf * tf / (self._norm[rows] + tf)).astype(np.float32)
        return scores


def lengths_of(term_numbers: Ragged) -> np.ndarray:
    """Token counts; an empty row counts as one token long, as bm25s counted it, so average lengths agree."""
    return np.maximum(term_numbers.lengths(), 1).astype(np.float64)


class WordBm25:
    """BM25 over lists of words (benchmarks and tests): numbers the words, then scores as `Bm25`."""

    def __init__(self, tokenised: Sequence[Sequence[str]]):
        self._vocabulary = {w: n for n, w in enumerate(sorted({w for ws in tokenised for w in ws}))}
        numbers = Ragged.of([[self._vocabulary[w] for w in ws] for ws in tokenised])
        self._bm25 = Bm25(inverted(numbers, len(self._vocabulary)), lengths_of(numbers))

    def scores(self, words: Sequence[str]) -> np.ndarray:
        return self._bm25.scores([n for w in words if (n := self._vocabulary.get(w)) is not None])
