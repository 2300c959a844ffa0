"""Row views of the snapshot's columns: sentence i, chunk i, the terms of row i, made when asked for.

The question side reads a few hundred rows per question; these views make just those objects, so a
snapshot mapped from a file is usable at once and its size costs no start-up time.
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar, overload

import numpy as np

from qa.index.chunking import Chunk, Sentence
from qa.index.store import DocumentRecord
from qa.query.spans import Span
from qa.query.stacked import Rows


@dataclass(frozen=True)
class TitledChunk:
    """A chunk with its document's headline and date, as shown to models and users."""

    chunk: Chunk
    title: str
    date: str

    def span(self, score: float) -> Span:
        """The chunk as a span, scored by `score`."""
        c = self.chunk
        return Span(c.text, c.source, c.start, c.end, score, self.title)


T = TypeVar("T")
_TERM_ROWS_KEPT = 1 << 14  # sentences whose words `TermRows` keeps decoded (about 3 MB)


class _Rows(Sequence[T], Generic[T]):
    def __init__(self, size: int):
        self._size = size

    def __len__(self) -> int:
        return self._size

    def _row(self, i: int) -> T:
        raise NotImplementedError

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> list[T]: ...
    def __getitem__(self, i: int | slice) -> T | list[T]:
        if isinstance(i, slice):
            return [self._row(k) for k in range(*i.indices(self._size))]
        i = int(i)
        if not -self._size <= i < self._size:
            raise IndexError(i)
        return self._row(i % self._size)

    def __iter__(self) -> Iterator[T]:
        return (self._row(k) for k in range(self._size))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and len(other) == len(self) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]


class SentenceColumns(Protocol):
    """What a sentence row is read from (a `Corpus`)."""

    @property
    def sources(self) -> Sequence[str]: ...
    @property
    def sentence_ids(self) -> Rows[str]: ...
    @property
    def sentence_texts(self) -> Rows[str]: ...
    @property
    def sentence_leads(self) -> Rows[str]: ...
    @property
    def sentence_spans(self) -> Rows[np.ndarray]: ...


class ChunkColumns(Protocol):
    """What a chunk row is read from (a `Corpus`)."""

    @property
    def sources(self) -> Sequence[str]: ...
    @property
    def chunk_ids(self) -> Rows[str]: ...
    @property
    def chunk_texts(self) -> Rows[str]: ...
    @property
    def chunk_spans(self) -> Rows[np.ndarray]: ...


class SentenceTable(_Rows[Sentence]):
    def __init__(self, columns: SentenceColumns, doc: np.ndarray):
        super().__init__(len(columns.sentence_texts))
        self._c = columns
        self._doc = doc

    def _row(self, i: int) -> Sentence:
        c = self._c
        position, start, end, paragraph = c.sentence_spans[i].tolist()
        return Sentence(
            c.sentence_ids[i],
            c.sources[int(self._doc[i])],
            position,
            start,
            end,
            c.sentence_texts[i],
            paragraph,
            c.sentence_leads[i],
        )


class ChunkTable(_Rows[TitledChunk]):
    def __init__(self, columns: ChunkColumns, doc: np.ndarray, documents: Mapping[str, DocumentRecord]):
        super().__init__(len(columns.chunk_texts))
        self._c = columns
        self._doc = doc
        self._documents = documents

    def _row(self, i: int) -> TitledChunk:
        c = self._c
        source = c.sources[int(self._doc[i])]
        position, start, end = c.chunk_spans[i].tolist()
        record = self._documents.get(source)
        return TitledChunk(
            Chunk(c.chunk_ids[i], source, position, start, end, c.chunk_texts[i]),
            record.title if record else "",
            record.date if record else "",
        )


class TermRows(_Rows[tuple[str, ...]]):
    """Row i's terms, as words. Rows read are kept (bounded): every word is decoded from the packed vocabulary,
    and the same candidate sentences come back question after question."""

    def __init__(self, numbers: Rows[np.ndarray], vocabulary: Rows[str]):
        super().__init__(len(numbers))
        self._numbers = numbers
        self._vocabulary = vocabulary
        self._kept: dict[int, tuple[str, ...]] = {}

    def _row(self, i: int) -> tuple[str, ...]:
        kept = self._kept.get(i)
        if kept is None:
            if len(self._kept) >= _TERM_ROWS_KEPT:
                self._kept.clear()
            kept = self._kept[i] = tuple(self._vocabulary[int(n)] for n in self._numbers[i])
        return kept


class UnitRows(_Rows[tuple[int, int]]):
    """The run (first, last) each sentence is read in."""

    def __init__(self, units: Rows[np.ndarray]):
        super().__init__(len(units))
        self._units = units

    def _row(self, i: int) -> tuple[int, int]:
        first, last = self._units[i].tolist()
        return (first, last)
