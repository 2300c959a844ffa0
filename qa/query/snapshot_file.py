"""The corpus snapshot in one file, mapped back into memory by the next process instead of being rebuilt.

A cold start at 1,000 documents spent about 7 s turning every document's records into Python objects and
indexing them again. The columns (`columns.py`) are plain arrays, so they are written once, after a load
that changed them, and a new process maps the file: nothing is read until a question reads it, and the
pages it does read are shared by every process on the machine that maps the same file.

Layout: a magic, the length of a JSON header (what the file covers, and each array's dtype, shape and
offset), the header, then the arrays, each at a 64-byte boundary, the sentence vectors last. Only
integers, floats and UTF-8 bytes: nothing is unpickled. The file is written under a temporary name and
renamed, so a reader sees a whole old file or a whole new one; processes that mapped the old one keep it.
The vectors, more than half the file, are not mapped but read row by row when a question gathers them
(`vectors.FileRows`), so the candidates of every question asked do not pile up in the process's memory.
"""

import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from qa.query.columns import CorpusColumns
from qa.query.lexical import Inverted
from qa.query.packed import Packed, Ragged
from qa.query.vectors import FileRows, SentenceVectors

log = logging.getLogger(__name__)

FILE_NAME = "corpus.snapshot"
FORMAT = "docqa-snapshot"
VERSION = "2"
_MAGIC = b"DOCQASNP"
_ALIGN = 64
_DTYPES = {"<i8", "<i4", "<f4", "<f8", "|u1", "<u8"}
_BLOCK = 8192  # vectors written this many rows at a time
_CHECK_BLOCK = 1 << 22  # bytes read at a time to check references


def write(path: Path, meta: dict, columns: CorpusColumns) -> None:
    """Write `columns` with `meta` to `path` (whole, or not at all)."""
    arrays = _arrays(columns)
    n, dim = columns.vectors.shape
    layout: dict[str, list] = {}
    places: dict[str, int] = {}
    offset = 0
    for name, array in arrays.items():
        places[name] = offset = _aligned(offset)
        layout[name] = [array.dtype.str, list(array.shape), offset]
        offset += array.nbytes
    places["vectors"] = _aligned(offset)
    layout["vectors"] = ["<f4", [n, dim], places["vectors"]]
    header = json.dumps({"meta": meta, "arrays": layout}).encode("utf-8")
    start = _aligned(len(_MAGIC) + 8 + len(header))
    temporary = path.parent / f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        with temporary.open("wb") as file:
            file.write(_MAGIC + len(header).to_bytes(8, "little") + header)
            for name, array in arrays.items():
                file.seek(start + places[name])
                file.write(np.ascontiguousarray(array).data)
            file.seek(start + places["vectors"])
            for lo in range(0, n, _BLOCK):
                file.write(columns.vectors[np.arange(lo, min(n, lo + _BLOCK))].astype("<f4").tobytes())
            file.truncate()
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def meta_of(path: Path) -> dict | None:
    """The meta of the file at `path` without mapping its arrays; None if there is no readable one."""
    try:
        with path.open("rb") as file:
            if file.read(len(_MAGIC)) != _MAGIC:
                return None
            size = int.from_bytes(file.read(8), "little")
            meta = json.loads(file.read(size).decode("utf-8"))["meta"]
            return meta if isinstance(meta, dict) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read(path: Path) -> tuple[dict, CorpusColumns]:
    """The meta and columns of a file `write` made, mapped (not read); ValueError for anything else.

    The arrays are mapped and the vectors read through one open descriptor, so a newer file renamed over
    `path` meanwhile changes neither. Every row reference is checked against its table, by reading the file
    (`_extremes`), not through the mapping: touched through it, the whole index would become resident in
    this process (about a gigabyte at 10,000 documents) before the first question needs any of it."""
    with path.open("rb") as file:
        mapped = np.memmap(file, dtype=np.uint8, mode="r")
        if len(mapped) < len(_MAGIC) + 8 or mapped[: len(_MAGIC)].tobytes() != _MAGIC:
            raise ValueError("not a docqa snapshot file")
        size = int.from_bytes(mapped[len(_MAGIC) : len(_MAGIC) + 8].tobytes(), "little")
        header = json.loads(mapped[len(_MAGIC) + 8 : len(_MAGIC) + 8 + size].tobytes().decode("utf-8"))
        start = _aligned(len(_MAGIC) + 8 + size)
        arrays = {}
        places = {}
        for name, (dtype, shape, offset) in header["arrays"].items():
            if dtype not in _DTYPES:
                raise ValueError(f"unexpected dtype {dtype!r}")
            count = int(np.prod(shape))
            end = start + int(offset) + count * np.dtype(dtype).itemsize
            if int(offset) < 0 or end > len(mapped):
                raise ValueError(f"array {name} runs past the end of the file")
            places[name] = (start + int(offset), np.dtype(dtype), count)
            if name != "vectors":
                arrays[name] = mapped[start + int(offset) : end].view(dtype).reshape(shape)
        rows, dim = header["arrays"]["vectors"][1]
        vectors = FileRows(file.fileno(), places["vectors"][0], int(rows), int(dim))
        columns = _columns(arrays, vectors)
        _check(columns, lambda name: _extremes(file.fileno(), *places[name]))
    return header["meta"], columns


def _extremes(fd: int, offset: int, dtype: np.dtype, count: int) -> tuple[int, int]:
    """The smallest and largest value of an integer array in the file, read a block at a time into one
    buffer (none of it stays in memory); (0, -1) for an empty one."""
    lo, hi = 0, -1
    per_block = max(1, _CHECK_BLOCK // dtype.itemsize)
    buffer = bytearray(per_block * dtype.itemsize)
    for first in range(0, count, per_block):
        n = min(per_block, count - first)
        got = os.preadv(fd, [memoryview(buffer)[: n * dtype.itemsize]], offset + first * dtype.itemsize)
        if got != n * dtype.itemsize:
            raise ValueError("the file ended early")
        values = np.frombuffer(buffer, dtype=dtype, count=n)
        low, high = int(values.min()), int(values.max())
        lo, hi = (low, high) if first == 0 else (min(lo, low), max(hi, high))
    return lo, hi


def _aligned(offset: int) -> int:
    return -(-offset // _ALIGN) * _ALIGN


def _arrays(c: CorpusColumns) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name in _PACKED:
        packed: Packed = getattr(c, name)
        out[f"{name}.data"], out[f"{name}.ends"] = packed.data, packed.ends
    for name in _RAGGED:
        ragged: Ragged = getattr(c, name)
        out[f"{name}.values"], out[f"{name}.ends"] = ragged.values, ragged.ends
    for name in _INVERTED:
        index: Inverted = getattr(c, name)
        out[f"{name}.starts"], out[f"{name}.rows"], out[f"{name}.counts"] = index.starts, index.rows, index.counts
    for name in _PLAIN:
        out[name] = getattr(c, name)
    return out


def _columns(a: dict[str, np.ndarray], vectors: FileRows) -> CorpusColumns:
    fields: dict[str, object] = {name: Packed(a[f"{name}.data"], a[f"{name}.ends"]) for name in _PACKED}
    fields.update({name: Ragged(a[f"{name}.values"], a[f"{name}.ends"]) for name in _RAGGED})
    fields.update({name: Inverted(a[f"{name}.starts"], a[f"{name}.rows"], a[f"{name}.counts"]) for name in _INVERTED})
    fields.update({name: a[name] for name in _PLAIN})
    return CorpusColumns(**fields, vectors=SentenceVectors.of(vectors))  # type: ignore[arg-type]


def _check(c: CorpusColumns, extremes: Callable[[str], tuple[int, int]]) -> None:
    """Sizes that must agree, and references that must stay inside their tables (`extremes(array name)`:
    its smallest and largest value): a file that passes cannot make a question index out of bounds."""
    n, m, v, d = len(c.sentence_texts), len(c.chunk_texts), len(c.vocabulary), len(c.sources)
    same = {
        "sentences": {
            n,
            len(c.sentence_ids),
            len(c.sentence_leads),
            len(c.sentence_spans),
            len(c.sentence_terms),
            len(c.units),
            len(c.sentence_hashes),
            len(c.sentence_id_order),
            len(c.chunks_of_sentence),
            len(c.vectors),
            int(c.sentence_first[-1]),
        },
        "chunks": {
            m,
            len(c.chunk_ids),
            len(c.chunk_spans),
            len(c.chunk_terms),
            len(c.chunk_sentences),
            len(c.chunk_lengths),
            int(c.chunk_first[-1]),
        },
        "documents": {d + 1, len(c.sentence_first), len(c.chunk_first)},
        "terms": {v + 1, len(c.sentence_postings.starts), len(c.chunk_postings.starts)},
    }
    for what, sizes in same.items():
        if len(sizes) != 1:
            raise ValueError(f"its {what} disagree in number: {sorted(sizes)}")
    for name in _PACKED:
        low, _ = extremes(f"{name}.ends")
        ends = getattr(c, name).ends
        if len(ends) and (int(ends[-1]) > len(getattr(c, name).data) or low < 0):
            raise ValueError("a text column runs past its data")
    bounds = {"terms": v, "sentences": n, "chunks": m}
    for name, table in _REFERENCES.items():
        low, high = extremes(name)
        if high >= bounds[table] or low < 0:
            raise ValueError("a row reference points outside its table")
    for index in (c.sentence_postings, c.chunk_postings):
        if len(index.rows) != len(index.counts) or len(index.rows) != int(index.starts[-1]):
            raise ValueError("its postings disagree in length")


_PACKED = ["sources", "sentence_ids", "sentence_texts", "sentence_leads", "chunk_ids", "chunk_texts", "vocabulary"]
_RAGGED = ["sentence_terms", "chunk_terms", "chunk_sentences", "chunks_of_sentence"]
_INVERTED = ["sentence_postings", "chunk_postings"]
_REFERENCES = {  # arrays of row or term numbers, and the table they point into
    "sentence_terms.values": "terms",
    "chunk_terms.values": "terms",
    "chunk_sentences.values": "sentences",
    "chunks_of_sentence.values": "chunks",
    "units": "sentences",
    "sentence_postings.rows": "sentences",
    "chunk_postings.rows": "chunks",
    "sentence_id_order": "sentences",
}
_PLAIN = [
    "sentence_first",
    "chunk_first",
    "sentence_hashes",
    "sentence_id_order",
    "sentence_spans",
    "units",
    "chunk_spans",
    "chunk_lengths",
]
