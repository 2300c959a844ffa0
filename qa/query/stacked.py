"""A large base snapshot and the few documents added after it, read as one table without copying the base.

After one more document, a single column set means copying every column of the corpus into fresh memory
(`columns.combined`): 0.9 s at 10,000 documents when the snapshot file was in the page cache, 5.5 s when it
was not, and the process then held a private copy of the whole snapshot until the merged file was written.
Instead the base stays as it is (mapped from its file) and the added documents get columns of their own;
their rows are numbered after the base's, and their terms after the base's vocabulary (a word the base
does not know gets the next free number, so the numbers are not in word order). Every view here answers
in those numbers, so the corpus reads both parts as one. Only additions are stacked: a document removed
or replaced in the base makes the next load merge everything into one column set (`Corpus.load`).
"""

import bisect
from collections.abc import Iterator, Sequence
from typing import Generic, Protocol, TypeVar, overload

import numpy as np

from qa.query.columns import CorpusColumns
from qa.query.lexical import Inverted, places_in
from qa.query.packed import Packed, Ragged

T = TypeVar("T", covariant=True)


class Rows(Protocol[T]):
    """What the corpus reads of a column: its length and row i (a Packed, a Ragged, a 2-D array)."""

    def __len__(self) -> int: ...

    def __getitem__(self, i: int, /) -> T: ...


R = TypeVar("R")


class Stacked(Sequence[R], Generic[R]):
    """Rows of `base`, then rows of `added`."""

    def __init__(self, base: Rows[R], added: Rows[R]):
        self._base = base
        self._added = added
        self._split = len(base)

    def __len__(self) -> int:
        return self._split + len(self._added)

    @overload
    def __getitem__(self, i: int) -> R: ...
    @overload
    def __getitem__(self, i: slice) -> list[R]: ...
    def __getitem__(self, i: int | slice) -> R | list[R]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._base[i] if i < self._split else self._added[i - self._split]

    def __iter__(self) -> Iterator[R]:
        return (self[k] for k in range(len(self)))


class Terms:
    """The base's sorted vocabulary and, numbered after it, the added documents' words it lacks."""

    def __init__(self, base: Packed, added: Packed | None = None):
        self._base = base
        self._size = len(base)
        words = list(added) if added is not None else []
        places = places_in(base, words)
        self._new = sorted(w for w, at in zip(words, places) if at < 0)
        self._number = {w: self._size + k for k, w in enumerate(self._new)}
        self.added_map = np.array([at if at >= 0 else self._number[w] for w, at in zip(words, places)], dtype=np.int64)

    def __len__(self) -> int:
        return self._size + len(self._new)

    def __getitem__(self, n: int) -> str:
        n = int(n)
        return self._base[n] if n < self._size else self._new[n - self._size]

    def number(self, term: str) -> int | None:
        at = bisect.bisect_left(self._base, term)
        if at < self._size and self._base[at] == term:
            return at
        return self._number.get(term)

    def starting(self, prefix: str) -> list[int]:
        """The numbers of the terms that start with `prefix` (including the prefix itself)."""
        lo = hi = bisect.bisect_left(self._base, prefix)
        while hi < self._size and self._base[hi].startswith(prefix):
            hi += 1
        k = bisect.bisect_left(self._new, prefix)
        found = list(range(lo, hi))
        while k < len(self._new) and self._new[k].startswith(prefix):
            found.append(self._size + k)
            k += 1
        return found


class Postings:
    """Which rows use each term, and how often, over the base's index and the added rows' (renumbered)."""

    def __init__(
        self, base: Inverted, added: Inverted | None = None, term_map: np.ndarray | None = None, offset: int = 0
    ):
        self._base = base
        self._added = added
        self._offset = offset
        self._base_terms = len(base.starts) - 1
        self._local = {int(g): k for k, g in enumerate(term_map.tolist())} if term_map is not None else {}
        self._map = term_map

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        """The rows that use `term` (ascending) and how often each does."""
        rows, counts = self._base.postings(term) if term < self._base_terms else _none()
        local = self._local.get(term)
        if self._added is None or local is None:
            return rows, counts
        more, times = self._added.postings(local)
        if not len(more):
            return rows, counts
        return np.concatenate([rows, more + self._offset]), np.concatenate([counts, times])

    def rows_of(self, term: int) -> np.ndarray:
        return self.postings(term)[0]

    def frequencies(self, size: int) -> np.ndarray:
        """How many rows use each of the `size` terms, by term number."""
        found = np.zeros(size, dtype=np.int64)
        found[: self._base_terms] = self._base.frequencies()
        if self._added is not None and self._map is not None:
            np.add.at(found, self._map, self._added.frequencies())
        return found


class Vectors(Protocol):
    """Sentence vectors as the question side reads them: rows gathered into a new array."""

    @property
    def shape(self) -> tuple[int, int]: ...

    def __len__(self) -> int: ...

    def __getitem__(self, rows: Sequence[int] | np.ndarray, /) -> np.ndarray: ...


class StackedVectors:
    """The base's sentence vectors, then the added sentences': rows are gathered from each part, with no
    per-row table over both (`SentenceVectors.joined` would make two arrays of every row, 27 MB at 10,000
    documents, on each ingest)."""

    def __init__(self, base: Vectors, added: Vectors):
        self._base = base
        self._added = added
        self._split = len(base)
        self.dim = base.shape[1] or added.shape[1]

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self), self.dim)

    def __len__(self) -> int:
        return self._split + len(self._added)

    def __getitem__(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        if len(rows) and (int(rows.min()) < 0 or int(rows.max()) >= len(self)):
            raise IndexError(f"rows outside 0..{len(self) - 1}")
        out = np.empty((len(rows), self.dim), dtype=np.float32)
        low = rows < self._split
        out[low] = self._base[rows[low]]
        out[~low] = self._added[rows[~low] - self._split]
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """The whole matrix (tests and tools; questions gather only the rows they need)."""
        whole = self[np.arange(len(self))]
        return whole if dtype is None else whole.astype(dtype)


def _none() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32)


def renumbered(added: CorpusColumns, term_map: np.ndarray, sentences: int, chunks: int) -> dict[str, Ragged]:
    """The added part's columns that hold term numbers or row references, in the stacked numbering
    (`sentences`, `chunks`: the base's row counts)."""

    def shifted(ragged: Ragged, by: int) -> Ragged:
        return Ragged(ragged.values + by, ragged.ends)

    return {
        "sentence_terms": Ragged(term_map[added.sentence_terms.values], added.sentence_terms.ends),
        "chunk_terms": Ragged(term_map[added.chunk_terms.values], added.chunk_terms.ends),
        "chunk_sentences": shifted(added.chunk_sentences, sentences),
        "chunks_of_sentence": shifted(added.chunks_of_sentence, chunks),
    }


def joined_firsts(base: np.ndarray, added: np.ndarray) -> np.ndarray:
    """`sentence_first` (or `chunk_first`) of the stacked table."""
    return np.concatenate([base, added[1:] + base[-1]]).astype(np.int64)


__all__ = ["Postings", "Rows", "Stacked", "StackedVectors", "Terms", "Vectors", "joined_firsts", "renumbered"]
