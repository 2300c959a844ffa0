"""The snapshot of the committed index the question side reads: chunk and sentence texts, BM25, term statistics.

Chroma holds the vectors and answers the dense search; lexical search and evidence features need the
texts and term statistics, so the service loads this snapshot and reloads it after ingest. Besides the
texts it keeps what the evidence features look up per question: which sentences use a term (postings),
which document and chunks each sentence belongs to, and the sentence runs. Everything is in columns
(`columns.py`) that a new process maps from the file the last load wrote (`snapshot_file.py`): rows
become objects only when a question reads them. How a load reuses the previous snapshot and reads only what
was committed since: `corpus_load.py`.
"""

import math
from collections.abc import Collection, Sequence
from functools import lru_cache

import numpy as np

from qa.index.chunking import Chunk, Sentence
from qa.index.store import DocumentRecord, Store
from qa.query.columns import CorpusColumns, built, combined
from qa.query.lexical import Bm25
from qa.query.packed import IdIndex
from qa.query.record_cache import RecordCache
from qa.query.spans import Span
from qa.query.stacked import Postings, Rows, Stacked, StackedVectors, Terms, Vectors, joined_firsts, renumbered
from qa.query.tables import ChunkTable, SentenceTable, TermRows, TitledChunk, UnitRows
from qa.query.vectors import SentenceVectors

_PREFIX_MIN = 4  # a term matches a longer word it starts (and vice versa) from this length on

__all__ = ["Corpus", "TitledChunk"]


class Corpus:
    """Committed documents, their chunks and sentences, and the lexical indexes over them.

    `columns` holds them all, or, with `added`, the documents of a large snapshot and `added` those
    committed after it (`stacked.py`): rows, documents and terms of `added` are numbered after the base's."""

    def __init__(
        self, documents: dict[str, DocumentRecord], columns: CorpusColumns, added: CorpusColumns | None = None
    ):
        self.documents = documents
        self.columns = c = columns
        self.added = added
        self._parts = [(0, c)]
        self.sources = list(c.sources)
        self.sentence_texts: Rows[str] = c.sentence_texts
        self.sentence_leads: Rows[str] = c.sentence_leads
        self.sentence_spans: Rows[np.ndarray] = c.sentence_spans
        self.sentence_ids: Rows[str] = c.sentence_ids
        self.chunk_ids: Rows[str] = c.chunk_ids
        self.chunk_texts: Rows[str] = c.chunk_texts
        self.chunk_spans: Rows[np.ndarray] = c.chunk_spans
        self.chunk_sentences: Rows[np.ndarray] = c.chunk_sentences
        self.chunks_of_sentence: Rows[np.ndarray] = c.chunks_of_sentence
        sentence_terms: Rows[np.ndarray] = c.sentence_terms
        units: Rows[np.ndarray] = c.units
        self._terms = Terms(c.vocabulary)
        sentence_first, chunk_first = c.sentence_first, c.chunk_first
        self.sentence_vectors: Vectors = c.vectors
        self._ids = [(0, IdIndex(c.sentence_ids, c.sentence_hashes, c.sentence_id_order))]
        lengths = c.chunk_lengths
        chunk_postings, sentence_postings = Postings(c.chunk_postings), Postings(c.sentence_postings)
        if added is not None:
            a, n, m = added, len(c.sentence_texts), len(c.chunk_texts)
            self._parts.append((n, a))
            self.sources += list(a.sources)
            self._terms = Terms(c.vocabulary, a.vocabulary)
            moved = renumbered(a, self._terms.added_map, n, m)
            self.sentence_texts = Stacked(c.sentence_texts, a.sentence_texts)
            self.sentence_leads = Stacked(c.sentence_leads, a.sentence_leads)
            self.sentence_spans = Stacked(c.sentence_spans, a.sentence_spans)
            self.sentence_ids = Stacked(c.sentence_ids, a.sentence_ids)
            self.chunk_ids = Stacked(c.chunk_ids, a.chunk_ids)
            self.chunk_texts = Stacked(c.chunk_texts, a.chunk_texts)
            self.chunk_spans = Stacked(c.chunk_spans, a.chunk_spans)
            self.chunk_sentences = Stacked(c.chunk_sentences, moved["chunk_sentences"])
            self.chunks_of_sentence = Stacked(c.chunks_of_sentence, moved["chunks_of_sentence"])
            sentence_terms = Stacked(c.sentence_terms, moved["sentence_terms"])
            units = Stacked(c.units, a.units + n)
            sentence_first, chunk_first = (
                joined_firsts(c.sentence_first, a.sentence_first),
                joined_firsts(c.chunk_first, a.chunk_first),
            )
            self.sentence_vectors = StackedVectors(c.vectors, a.vectors)
            self._ids.append((n, IdIndex(a.sentence_ids, a.sentence_hashes, a.sentence_id_order)))
            lengths = np.concatenate([c.chunk_lengths, a.chunk_lengths])
            chunk_postings = Postings(c.chunk_postings, a.chunk_postings, self._terms.added_map, m)
            sentence_postings = Postings(c.sentence_postings, a.sentence_postings, self._terms.added_map, n)
        self.sentence_first = sentence_first
        self._number = {source: n for n, source in enumerate(self.sources)}
        per_doc = np.diff(sentence_first)
        self.sentence_doc = np.repeat(np.arange(len(self.sources), dtype=np.int32), per_doc)
        self.chunk_doc = np.repeat(np.arange(len(self.sources), dtype=np.int32), np.diff(chunk_first))
        self.sentences = SentenceTable(self, self.sentence_doc)
        self.chunks = ChunkTable(self, self.chunk_doc, documents)
        self.sentence_term_list = TermRows(sentence_terms, self._terms)
        self.units = UnitRows(units)
        positions = np.concatenate([x.sentence_spans[:, 0] for _, x in self._parts])
        self.sentence_position = (positions / np.maximum(1, per_doc[self.sentence_doc] - 1)).astype(np.float32)
        self._term = lru_cache(maxsize=1 << 16)(self._terms.number)
        # A question's terms are matched once per candidate run, and each match searches the vocabulary
        # (decoding a word at every step): 163 searches an article question, a third of the rules' time
        self._matches = lru_cache(maxsize=1 << 16)(self._find_matches)
        self._bm25 = Bm25(chunk_postings, lengths)
        self._sentence_postings = sentence_postings
        n = len(self.sentence_doc)
        self._df = sentence_postings.frequencies(len(self._terms))
        self._idf = np.log(1 + (n - self._df + 0.5) / (self._df + 0.5))
        self.max_idf = math.log(1 + (n + 0.5) / 0.5)
        self._contexts: dict[int, str] = {}
        self._sentence_terms = sentence_terms

    @classmethod
    def of(
        cls,
        documents: dict[str, DocumentRecord],
        chunks: Sequence[Chunk],
        sentences: Sequence[Sentence],
        vectors: "np.ndarray | SentenceVectors",
    ) -> "Corpus":
        """The corpus of records held in memory (tests, tools)."""
        return cls(documents, built(chunks, sentences, vectors))

    @classmethod
    def load(
        cls,
        store: Store,
        previous: "Corpus | None" = None,
        cache: RecordCache | None = None,
        stack_from: int | None = None,
    ) -> "Corpus":
        """Read the committed part of the store, reusing what `previous` (an older snapshot of the same store)
        or the snapshot file `cache` keeps (`corpus_load.py` says how)."""
        from qa.query.corpus_load import load_corpus

        return load_corpus(store, previous, cache, stack_from)

    def without(self, sources: set[str]) -> "Corpus":
        """The same snapshot with some documents left out (training asks questions without their paper)."""
        kept = {k: v for k, v in self.documents.items() if k not in sources}
        rows = sorted(s for s in self.sources if s not in sources)  # (a document with no records has no rows)
        return Corpus(kept, combined(self.parts(), [self.located(s) for s in rows]))

    def parts(self) -> list[CorpusColumns]:
        """The column sets this corpus reads: the base, and the documents added after it if any."""
        return [x for _, x in self._parts]

    def located(self, source: str) -> tuple[int, int]:
        """Which of `parts()` holds a document, and its number there."""
        n = self._number[source]
        base = len(self.columns.sources)
        return (0, n) if n < base else (1, n - base)

    def __len__(self) -> int:
        return len(self.chunks)

    def chunks_of(self, sources: Collection[str]) -> np.ndarray:
        """A mask over chunks: True for those of `sources` (restricting a question to chosen documents)."""
        return np.isin(self.chunk_doc, [self._number[s] for s in sources if s in self._number])

    def sentences_of(self, sources: Collection[str]) -> np.ndarray:
        """The sentence rows of `sources`, in corpus order."""
        return np.flatnonzero(np.isin(self.sentence_doc, [self._number[s] for s in sources if s in self._number]))

    def sentence_text(self, index: int) -> str:
        """The text of sentence `index` (without making the whole `Sentence`)."""
        return self.sentence_texts[index]

    def sentence_rows(self, ids: Sequence[str]) -> list[int | None]:
        """The row of each sentence record id (None: not in this snapshot)."""
        found: list[int | None] = [None] * len(ids)
        for offset, index in self._ids:
            for k, row in enumerate(index.rows(ids)):
                if row is not None and found[k] is None:
                    found[k] = offset + row
        return found

    def bm25_scores(self, query_terms: list[str]) -> np.ndarray:
        """BM25 score of every chunk for the query terms (zeros when nothing matches)."""
        return self._bm25.scores([n for t in query_terms if (n := self._term(t)) is not None])

    def idf(self, term: str) -> float:
        """Inverse sentence frequency; a term the corpus never uses gets the maximum."""
        n = self._term(term)
        return float(self._idf[n]) if n is not None and self._df[n] > 0 else self.max_idf

    def matches(self, term: str) -> tuple[str, ...]:
        """The corpus terms that count as this term: itself, and from four letters on, the longer
        words it starts and the shorter words that start it ("vaccin" ~ "vaccination")."""
        return self._matches(term)

    def _find_matches(self, term: str) -> tuple[str, ...]:
        own = self._term(term)
        found = [term] if own is not None and self._df[own] > 0 else []
        if len(term) < _PREFIX_MIN:
            return tuple(found)
        found += [self._terms[n] for n in self._terms.starting(term) if n != own and self._df[n] > 0]
        for k in range(_PREFIX_MIN, len(term)):
            shorter = self._term(term[:k])
            if shorter is not None and self._df[shorter] > 0:
                found.append(term[:k])
        return tuple(found)

    def sentences_with(self, term: str) -> np.ndarray:
        """Indexes of the sentences that use the term or a word matching it (sorted)."""
        postings = self._sentence_postings
        parts = [postings.rows_of(n) for t in self.matches(term) if (n := self._term(t)) is not None]
        if not parts:
            return np.zeros(0, dtype=np.int64)
        return parts[0] if len(parts) == 1 else np.unique(np.concatenate(parts))

    def knows(self, term: str) -> bool:
        """Does any sentence use this term (or a word matching it)?"""
        return bool(self.matches(term))

    def document_terms(self) -> dict[str, set[str]]:
        """Every term each document uses, by source."""
        found: dict[str, set[str]] = {source: set() for source in self.documents}
        for n, source in enumerate(self.sources):
            lo, hi = int(self.sentence_first[n]), int(self.sentence_first[n + 1])
            if hi > lo:
                numbers = np.unique(np.concatenate([self._sentence_terms[k] for k in range(lo, hi)]))
                found[source] = {self._terms[int(t)] for t in numbers}
        return found

    def sentences_in(self, chunk: Chunk | Span) -> list[int]:
        """Indexes of the sentences that overlap the chunk (or span), in document order."""
        n = self._number.get(chunk.source)
        if n is None:
            return []
        lo, hi = int(self.sentence_first[n]), int(self.sentence_first[n + 1])
        offset, part = next((at, x) for at, x in reversed(self._parts) if lo >= at)
        spans = part.sentence_spans[lo - offset : hi - offset]
        a = max(0, int(np.searchsorted(spans[:, 1], chunk.start, side="right")) - 1)
        b = int(np.searchsorted(spans[:, 1], chunk.end, side="left"))
        return [lo + k for k in range(a, b) if spans[k, 2] > chunk.start]

    def context_text(self, index: int) -> str:
        """The paragraph holding a sentence and the paragraph before it: where "he" is named."""
        found = self._contexts.get(index)
        if found is None:
            found = self._contexts[index] = self._context_text(index)
        return found

    def _context_text(self, index: int) -> str:
        lo = hi = index
        while lo > 0 and self._same_line(lo - 1, lo):
            lo -= 1
        if lo > 0 and self.sentence_doc[lo - 1] == self.sentence_doc[lo]:
            lo -= 1
            while lo > 0 and self._same_line(lo - 1, lo):
                lo -= 1
        while hi + 1 < len(self.sentences) and self._same_line(hi, hi + 1):
            hi += 1
        return " ".join(self.sentence_texts[k] for k in range(lo, hi + 1))

    def _same_line(self, a: int, b: int) -> bool:
        if self.sentence_doc[a] != self.sentence_doc[b]:
            return False
        first, second = self.sentence_spans[a], self.sentence_spans[b]
        return bool(first[3] == second[3] and first[0] + 1 == second[0])

    def span_text(self, first: int, last: int) -> str:
        """The exact document text from sentence `first` through sentence `last` (same document)."""
        texts, leads = self.sentence_texts, self.sentence_leads
        return "".join([texts[first], *(leads[k] + texts[k] for k in range(first + 1, last + 1))])

    def span(self, first: int, last: int, score: float) -> Span:
        """Sentences `first` through `last` (same document) as a span, scored by `score`."""
        source = self.sources[int(self.sentence_doc[first])]
        record = self.documents.get(source)
        return Span(
            self.span_text(first, last),
            source,
            int(self.sentence_spans[first][1]),
            int(self.sentence_spans[last][2]),
            score,
            record.title if record else "",
        )

    def neighbours(self, first: int, last: int) -> list[int]:
        """The sentences just before and after a run, within its document."""
        out = []
        if first > 0 and self.sentence_doc[first - 1] == self.sentence_doc[first]:
            out.append(first - 1)
        if last + 1 < len(self.sentences) and self.sentence_doc[last + 1] == self.sentence_doc[last]:
            out.append(last + 1)
        return out
