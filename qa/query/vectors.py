"""The snapshot's sentence vectors, kept in the blocks they came in, and gathered row by row on demand.

A question reads the vectors of a few hundred candidate sentences, never the whole matrix. So the vectors
stay in the arrays they were loaded in (a batch read out of the store, a document's record-cache file), and
a reload after one more document adds that document's block and reuses every other one, instead of copying
the whole matrix (257 MB at 1,000 documents; first touching that much fresh memory took 1.3 s here).
"""

import os
import weakref
from collections.abc import Sequence
from pathlib import Path

import numpy as np


class SentenceVectors:
    """Row i is the vector of sentence i: row `row_of[i]` of block `block_of[i]`."""

    def __init__(self, blocks: Sequence["np.ndarray | FileRows"], block_of: np.ndarray, row_of: np.ndarray, dim: int):
        self._blocks = list(blocks)
        self._block_of = np.asarray(block_of, dtype=np.int64)
        self._row_of = np.asarray(row_of, dtype=np.int64)
        self.dim = dim

    @classmethod
    def of(cls, matrix: "np.ndarray | FileRows") -> "SentenceVectors":
        """One block holding every row in order."""
        rows = len(matrix)
        dim = matrix.shape[1] if matrix.ndim == 2 else 0
        return cls([matrix], np.zeros(rows, dtype=np.int64), np.arange(rows), dim)

    @classmethod
    def joined(
        cls, parts: Sequence["np.ndarray | SentenceVectors"], order: "Sequence[int] | np.ndarray"
    ) -> "SentenceVectors":
        """The rows of `parts` (end to end) taken in `order`; no row is copied."""
        blocks: list[np.ndarray | FileRows] = []
        block_of: list[np.ndarray] = []
        row_of: list[np.ndarray] = []
        dim = 0
        for part in parts:
            if isinstance(part, SentenceVectors):
                block_of.append(part._block_of + len(blocks))
                row_of.append(part._row_of)
                blocks += part._blocks
                dim = dim or part.dim
            elif len(part):
                block_of.append(np.full(len(part), len(blocks), dtype=np.int64))
                row_of.append(np.arange(len(part), dtype=np.int64))
                blocks.append(part)
                dim = dim or part.shape[1]
        pick = np.asarray(order, dtype=np.int64)
        every_block = np.concatenate(block_of) if block_of else np.zeros(0, dtype=np.int64)
        every_row = np.concatenate(row_of) if row_of else np.zeros(0, dtype=np.int64)
        return cls(blocks, every_block[pick], every_row[pick], dim)

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self._block_of), self.dim)

    def __len__(self) -> int:
        return len(self._block_of)

    def __getitem__(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """The vectors of sentences `rows`, as a new (len(rows), dim) array."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        out = np.empty((len(rows), self.dim), dtype=np.float32)
        blocks, inner = self._block_of[rows], self._row_of[rows]
        for block in np.unique(blocks):
            mine = blocks == block
            out[mine] = self._blocks[int(block)][inner[mine]]
        return out

    def select(self, rows: Sequence[int] | np.ndarray) -> "SentenceVectors":
        """The sentences `rows`, renumbered 0..len(rows)-1, sharing this table's blocks."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        return SentenceVectors(self._blocks, self._block_of[rows], self._row_of[rows], self.dim)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """The whole matrix (tests and tools; questions gather only the rows they need)."""
        whole = self[np.arange(len(self))]
        return whole if dtype is None else whole.astype(dtype)


class FileRows:
    """A float32 matrix in a file, rows read with `pread` when asked for (a block of `SentenceVectors`).

    A question reads the vectors of a few hundred to a few thousand candidate sentences scattered over the
    corpus. Read through a memory mapping, each of them would stay resident in the process, with the 64 KB the
    kernel maps around every fault: after 172 questions at 1,000 documents, 225 of the 245 MB of vectors were
    resident, and at 10,000 documents the vectors alone would outgrow a 1 GB process. Read with `pread`, only
    the page cache holds them (shared, and given back under memory pressure). The descriptor stays open, so a
    newer snapshot renamed over the file does not change what this one reads."""

    _GAP = 8  # rows this close together are read in one call

    def __init__(self, file: Path | int, offset: int, rows: int, dim: int):
        """`file`: a path, or an open descriptor (duplicated: the caller keeps and closes its own)."""
        self._fd = os.dup(file) if isinstance(file, int) else os.open(file, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)
        self._offset = offset
        self.shape = (rows, dim)
        self.ndim = 2
        self._row_bytes = 4 * dim

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        out = np.empty((len(rows), self.shape[1]), dtype=np.float32)
        if not len(rows):
            return out
        if int(rows.min()) < 0 or int(rows.max()) >= self.shape[0]:
            raise IndexError(f"rows outside 0..{self.shape[0] - 1}")
        order = np.argsort(rows, kind="stable")
        ordered = rows[order]
        cuts = np.flatnonzero(np.diff(ordered) > self._GAP) + 1
        for a, b in zip(np.concatenate(([0], cuts)).tolist(), np.concatenate((cuts, [len(rows)])).tolist()):
            lo, hi = int(ordered[a]), int(ordered[b - 1]) + 1
            size = (hi - lo) * self._row_bytes
            data = os.pread(self._fd, size, self._offset + lo * self._row_bytes)
            if len(data) != size:
                raise OSError(f"the vectors file ended {size - len(data)} bytes early")
            out[order[a:b]] = np.frombuffer(data, dtype="<f4").reshape(hi - lo, self.shape[1])[ordered[a:b] - lo]
        return out
