"""Column types the corpus snapshot is made of: many strings, or many short integer lists, in two arrays each.

A snapshot of 1,000 documents holds 167,578 sentences; as Python objects they took seconds to build at every
start and hundreds of megabytes in every process. Packed in flat arrays they can be mapped from a file as
they are, and a question decodes only the rows it reads.
"""

import hashlib
from collections.abc import Iterator, Sequence
from typing import overload

import numpy as np


def _lengths(ends: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """The lengths of rows lo..hi-1 of an `ends` column (without touching the rest of it)."""
    return np.diff(ends[lo:hi], prepend=ends[lo - 1] if lo else 0).astype(np.int64, copy=False)


def _start(ends: np.ndarray, row: int) -> int:
    return int(ends[row - 1]) if row else 0


class Packed(Sequence[str]):
    """Strings end to end as UTF-8 bytes, with the byte offset where each ends."""

    def __init__(self, data: np.ndarray, ends: np.ndarray):
        self.data = data
        self.ends = ends

    @classmethod
    def of(cls, strings: Sequence[str]) -> "Packed":
        encoded = [s.encode("utf-8") for s in strings]
        ends = np.cumsum(np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded)), dtype=np.int64)
        return cls(np.frombuffer(b"".join(encoded), dtype=np.uint8), ends)

    def __len__(self) -> int:
        return len(self.ends)

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        return self.data[_start(self.ends, i) : int(self.ends[i])].tobytes().decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        text = self.data.tobytes()
        start = 0
        for end in self.ends.tolist():
            yield text[start:end].decode("utf-8")
            start = end

    def rows(self, runs: Sequence[tuple[int, int]]) -> "Packed":
        """The rows of `runs` ([first, last) row ranges), end to end, in that order."""
        return Packed.gathered([(self, lo, hi) for lo, hi in runs])

    @staticmethod
    def joined(parts: Sequence["Packed"]) -> "Packed":
        return Packed.gathered([(p, 0, len(p)) for p in parts])

    @staticmethod
    def gathered(pieces: Sequence[tuple["Packed", int, int]]) -> "Packed":
        """Rows [lo, hi) of each piece's column, end to end, copied once (a reload gathers a whole snapshot
        this way, and every extra copy landed on fresh pages)."""
        data, lengths = [], []
        for packed, lo, hi in pieces:
            if hi > lo:
                data.append(packed.data[_start(packed.ends, lo) : int(packed.ends[hi - 1])])
                lengths.append(_lengths(packed.ends, lo, hi))
        return Packed(
            np.concatenate(data) if data else np.zeros(0, dtype=np.uint8),
            np.cumsum(np.concatenate(lengths), dtype=np.int64) if lengths else np.zeros(0, dtype=np.int64),
        )


class Ragged(Sequence[np.ndarray]):
    """Lists of integers end to end in `values`, with where each list ends: row i is
    `values[ends[i - 1]:ends[i]]`."""

    def __init__(self, values: np.ndarray, ends: np.ndarray):
        self.values = values
        self.ends = ends

    @classmethod
    def of(cls, lists: Sequence[Sequence[int]]) -> "Ragged":
        lengths = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
        values = np.fromiter((v for x in lists for v in x), dtype=np.int64, count=int(lengths.sum()))
        return cls(values, np.cumsum(lengths, dtype=np.int64))

    def lengths(self) -> np.ndarray:
        return _lengths(self.ends, 0, len(self.ends))

    def __len__(self) -> int:
        return len(self.ends)

    @overload
    def __getitem__(self, i: int) -> np.ndarray: ...
    @overload
    def __getitem__(self, i: slice) -> list[np.ndarray]: ...
    def __getitem__(self, i: int | slice) -> np.ndarray | list[np.ndarray]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        return self.values[_start(self.ends, i) : int(self.ends[i])]

    def rows(self, runs: Sequence[tuple[int, int]], renumber: np.ndarray | None = None) -> "Ragged":
        """The rows of `runs`, end to end; with `renumber`, each value v becomes `renumber[v]`."""
        return Ragged.gathered([(self, lo, hi, renumber) for lo, hi in runs])

    @staticmethod
    def joined(parts: Sequence["Ragged"]) -> "Ragged":
        return Ragged.gathered([(p, 0, len(p), None) for p in parts])

    @staticmethod
    def gathered(pieces: Sequence[tuple["Ragged", int, int, np.ndarray | None]]) -> "Ragged":
        """Rows [lo, hi) of each piece's column, end to end, each piece's values renumbered through its
        array (None: kept), copied once."""
        values, lengths = [], []
        for ragged, lo, hi, renumber in pieces:
            if hi > lo:
                flat = ragged.values[_start(ragged.ends, lo) : int(ragged.ends[hi - 1])]
                values.append(flat if renumber is None else renumber[flat])
                lengths.append(_lengths(ragged.ends, lo, hi))
        return Ragged(
            np.concatenate(values, dtype=np.int64) if values else np.zeros(0, dtype=np.int64),
            np.cumsum(np.concatenate(lengths), dtype=np.int64) if lengths else np.zeros(0, dtype=np.int64),
        )


def id_hashes(ids: Sequence[str]) -> np.ndarray:
    """A 64-bit hash of each id, stable across processes (unlike `hash`), to find ids by sorted search."""
    return np.fromiter(
        (int.from_bytes(hashlib.blake2b(i.encode("utf-8"), digest_size=8).digest(), "little") for i in ids),
        dtype=np.uint64,
        count=len(ids),
    )


class IdIndex:
    """Row of a record id, without a dict of every id: a sorted search over the ids' hashes, checked
    against the id itself (so a hash collision cannot return a wrong row)."""

    def __init__(self, ids: Packed, hashes: np.ndarray, order: np.ndarray):
        self._ids = ids
        self._sorted = hashes[order]
        self._order = order

    def rows(self, ids: Sequence[str]) -> list[int | None]:
        wanted = id_hashes(ids)
        at = np.searchsorted(self._sorted, wanted)
        found: list[int | None] = []
        for i, k, h in zip(ids, at.tolist(), wanted.tolist()):
            row = None
            while k < len(self._sorted) and int(self._sorted[k]) == h:
                if self._ids[int(self._order[k])] == i:
                    row = int(self._order[k])
                    break
                k += 1
            found.append(row)
        return found
