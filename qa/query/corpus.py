"""The snapshot of the committed index the question side reads: chunk and sentence texts, BM25, term statistics.

Chroma holds the vectors and answers the dense search; lexical search and evidence features need the
texts and term statistics, so the service loads this snapshot and reloads it after ingest. Besides the
texts it keeps what the evidence features look up per question: which sentences use a term (postings),
which document and chunks each sentence belongs to, and the sentence runs. Everything is in columns
(`columns.py`) that a new process maps from the file the last load wrote (`snapshot_file.py`): rows
become objects only when a question reads them.
"""

import logging
import math
from collections.abc import Collection, Sequence
from functools import lru_cache

import numpy as np

from qa.index.chunking import Chunk, Sentence
from qa.index.store import DocumentRecord, Store
from qa.query.columns import CorpusColumns, built, combined
from qa.query.lexical import Bm25, Vocabulary
from qa.query.packed import IdIndex
from qa.query.record_cache import RecordCache, split_by_source
from qa.query.spans import Span
from qa.query.tables import ChunkTable, SentenceTable, TermRows, TitledChunk, UnitRows
from qa.query.vectors import SentenceVectors
from qa.text import terms

log = logging.getLogger(__name__)

_PREFIX_MIN = 4  # a term matches a longer word it starts (and vice versa) from this length on

__all__ = ["Corpus", "TitledChunk"]


class Corpus:
    """Committed documents, their chunks and sentences, and the lexical indexes over them."""

    def __init__(self, documents: dict[str, DocumentRecord], columns: CorpusColumns):
        self.documents = documents
        self.columns = c = columns
        self.sources = list(c.sources)
        self._number = {source: n for n, source in enumerate(self.sources)}
        per_doc = np.diff(c.sentence_first)
        self.sentence_doc = np.repeat(np.arange(len(self.sources), dtype=np.int32), per_doc)
        self.chunk_doc = np.repeat(np.arange(len(self.sources), dtype=np.int32), np.diff(c.chunk_first))
        self.sentences = SentenceTable(c, self.sources, self.sentence_doc)
        self.chunks = ChunkTable(c, self.sources, self.chunk_doc, documents)
        self.sentence_vectors: SentenceVectors = c.vectors
        self.sentence_term_list = TermRows(c.sentence_terms, c.vocabulary)
        self.chunk_sentences = c.chunk_sentences
        self.chunks_of_sentence = c.chunks_of_sentence
        self.units = UnitRows(c.units)
        self.sentence_position = (c.sentence_spans[:, 0] / np.maximum(1, per_doc[self.sentence_doc] - 1)).astype(
            np.float32
        )
        self._ids = IdIndex(c.sentence_ids, c.sentence_hashes, c.sentence_id_order)
        self._vocabulary = Vocabulary(c.vocabulary)
        self._term = lru_cache(maxsize=1 << 16)(self._vocabulary.number)
        self._bm25 = Bm25(c.chunk_postings, c.chunk_lengths)
        n = len(self.sentences)
        self._df = c.sentence_postings.frequencies()
        self._idf = np.log(1 + (n - self._df + 0.5) / (self._df + 0.5))
        self.max_idf = math.log(1 + (n + 0.5) / 0.5)
        self._contexts: dict[int, str] = {}

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
    def load(cls, store: Store, previous: "Corpus | None" = None, cache: RecordCache | None = None) -> "Corpus":
        """Read the committed part of the store. A committed document version never changes, so the documents
        of `previous` (an older snapshot of the same store), or else of the snapshot file `cache` keeps, are
        taken from it as they are, and only documents committed since are read (from the cache's per-document
        files, or the store) and merged in; the result equals a full load. A changed snapshot is written back
        to the cache for the next process.

        A snapshot file taken at the store's current settled generation (`Store.settled_generation`) is
        the committed corpus itself: it is used without reading the document list back. Otherwise only the
        versions the base does not hold are read back (`Store.documents_since`)."""
        settled = store.settled_generation() if cache is not None else ""
        snapshot = cache.snapshot() if cache is not None and previous is None else None
        if cache is not None and snapshot is not None and settled and snapshot.generation == settled:
            cache.prune(snapshot.documents.values())
            log.info("corpus: %d documents, the snapshot of the current generation", len(snapshot.documents))
            return cls(snapshot.documents, snapshot.columns)
        base: tuple[dict[str, DocumentRecord], CorpusColumns] | None = None
        if previous is not None:
            base = (previous.documents, previous.columns)
        elif snapshot is not None:
            base = (snapshot.documents, snapshot.columns)
        base_docs, base_columns = base if base is not None else ({}, None)
        documents = store.documents_since(base_docs)
        base_number = {s: n for n, s in enumerate(base_columns.sources)} if base_columns is not None else {}
        kept = {s for s, d in documents.items() if base_docs.get(s) == d and s in base_number}
        fresh = {s: d for s, d in documents.items() if s not in kept}
        parts = [base_columns] if base_columns is not None else []
        if fresh or not parts:
            parts.append(_read(store, fresh, cache))
        new_number = {s: n for n, s in enumerate(parts[-1].sources)} if fresh else {}
        picks = [
            (0, base_number[s]) if s in kept else (len(parts) - 1, new_number[s])
            for s in sorted(documents)
            if s in kept or s in new_number
        ]
        columns = combined(parts, picks)
        if cache is not None:
            cache.prune(documents.values())
            if columns is not base_columns or (snapshot is not None and settled and snapshot.generation != settled):
                cache.save_snapshot(documents, columns, settled)
        log.info(
            "corpus: %d documents (%d kept, %d read), %d chunks, %d sentences",
            len(documents),
            len(kept),
            len(fresh),
            len(columns.chunk_texts),
            len(columns.sentence_texts),
        )
        return cls(documents, columns)

    def without(self, sources: set[str]) -> "Corpus":
        """The same snapshot with some documents left out (training asks questions without their paper)."""
        picks = [(0, n) for n, source in enumerate(self.sources) if source not in sources]
        return Corpus({k: v for k, v in self.documents.items() if k not in sources}, combined([self.columns], picks))

    def __len__(self) -> int:
        return len(self.chunks)

    def chunks_of(self, sources: Collection[str]) -> np.ndarray:
        """A mask over chunks: True for those of `sources` (restricting a question to chosen documents)."""
        return np.isin(self.chunk_doc, [self._number[s] for s in sources if s in self._number])

    def sentence_count(self, sources: Collection[str]) -> int:
        return int(np.isin(self.sentence_doc, [self._number[s] for s in sources if s in self._number]).sum())

    def sentence_text(self, index: int) -> str:
        """The text of sentence `index` (without making the whole `Sentence`)."""
        return self.columns.sentence_texts[index]

    def sentence_rows(self, ids: Sequence[str]) -> list[int | None]:
        """The row of each sentence record id (None: not in this snapshot)."""
        return self._ids.rows(ids)

    def bm25_scores(self, query_terms: list[str]) -> np.ndarray:
        """BM25 score of every chunk for the query terms (zeros when nothing matches)."""
        return self._bm25.scores([n for t in query_terms if (n := self._term(t)) is not None])

    def idf(self, term: str) -> float:
        """Inverse sentence frequency; a term the corpus never uses gets the maximum."""
        n = self._term(term)
        return float(self._idf[n]) if n is not None and self._df[n] > 0 else self.max_idf

    def matches(self, term: str) -> list[str]:
        """The corpus terms that count as this term: itself, and from four letters on, the longer
        words it starts and the shorter words that start it ("vaccin" ~ "vaccination")."""
        own = self._term(term)
        found = [term] if own is not None and self._df[own] > 0 else []
        if len(term) < _PREFIX_MIN:
            return found
        words = self._vocabulary.words
        found += [words[n] for n in self._vocabulary.starting(term) if n != own and self._df[n] > 0]
        for k in range(_PREFIX_MIN, len(term)):
            shorter = self._term(term[:k])
            if shorter is not None and self._df[shorter] > 0:
                found.append(term[:k])
        return found

    def sentences_with(self, term: str) -> np.ndarray:
        """Indexes of the sentences that use the term or a word matching it (sorted)."""
        postings = self.columns.sentence_postings
        parts = [postings.rows_of(n) for t in self.matches(term) if (n := self._term(t)) is not None]
        if not parts:
            return np.zeros(0, dtype=np.int64)
        return parts[0] if len(parts) == 1 else np.unique(np.concatenate(parts))

    def knows(self, term: str) -> bool:
        """Does any sentence use this term (or a word matching it)?"""
        return bool(self.matches(term))

    def document_terms(self) -> dict[str, set[str]]:
        """Every term each document uses, by source."""
        c = self.columns
        found: dict[str, set[str]] = {source: set() for source in self.documents}
        for n, source in enumerate(self.sources):
            lo, hi = int(c.sentence_first[n]), int(c.sentence_first[n + 1])
            if hi > lo:
                a, b = int(c.sentence_terms.ends[lo - 1]) if lo else 0, int(c.sentence_terms.ends[hi - 1])
                found[source] = {c.vocabulary[int(t)] for t in np.unique(c.sentence_terms.values[a:b])}
        return found

    def sentences_in(self, chunk: Chunk | Span) -> list[int]:
        """Indexes of the sentences that overlap the chunk (or span), in document order."""
        n = self._number.get(chunk.source)
        if n is None:
            return []
        lo, hi = int(self.columns.sentence_first[n]), int(self.columns.sentence_first[n + 1])
        spans = self.columns.sentence_spans
        a = max(0, int(np.searchsorted(spans[lo:hi, 1], chunk.start, side="right")) - 1)
        b = int(np.searchsorted(spans[lo:hi, 1], chunk.end, side="left"))
        return [lo + k for k in range(a, b) if spans[lo + k, 2] > chunk.start]

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
        texts = self.columns.sentence_texts
        return " ".join(texts[k] for k in range(lo, hi + 1))

    def _same_line(self, a: int, b: int) -> bool:
        spans = self.columns.sentence_spans
        return bool(
            self.sentence_doc[a] == self.sentence_doc[b]
            and spans[a, 3] == spans[b, 3]
            and spans[a, 0] + 1 == spans[b, 0]
        )

    def span_text(self, first: int, last: int) -> str:
        """The exact document text from sentence `first` through sentence `last` (same document)."""
        texts, leads = self.columns.sentence_texts, self.columns.sentence_leads
        return "".join([texts[first], *(leads[k] + texts[k] for k in range(first + 1, last + 1))])

    def span(self, first: int, last: int, score: float) -> Span:
        """Sentences `first` through `last` (same document) as a span, scored by `score`."""
        source = self.sources[int(self.sentence_doc[first])]
        spans = self.columns.sentence_spans
        record = self.documents.get(source)
        return Span(
            self.span_text(first, last),
            source,
            int(spans[first, 1]),
            int(spans[last, 2]),
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


def _read(store: Store, fresh: dict[str, DocumentRecord], cache: RecordCache | None) -> CorpusColumns:
    """The columns of the `fresh` documents: from the cache's per-document files where it has them, else
    read from the store (and kept in the cache)."""
    cached = {s: got for s, d in fresh.items() if cache is not None and (got := cache.get(d)) is not None}
    unread = {d.content_hash for s, d in fresh.items() if s not in cached}
    chunks = [_chunk(i, t, m) for i, t, m in _rows(store.records("chunks", unread))] if unread else []
    chunk_terms = [terms(c.text) for c in chunks]
    found = store.records("sentences", unread, vectors=True) if unread else None
    sentences = [_sentence(i, t, m) for i, t, m in _rows(found)] if found else []
    sentence_terms = [tuple(terms(s.text)) for s in sentences]
    vectors: list[np.ndarray | SentenceVectors] = [found["vectors"]] if found else []
    if cache is not None and found is not None:
        for source, records in split_by_source(
            chunks, chunk_terms, sentences, sentence_terms, found["vectors"]
        ).items():
            if source in fresh and source not in cached:
                cache.put(fresh[source], records)
    for got in cached.values():
        chunks += got.chunks
        chunk_terms += got.chunk_terms
        sentences += got.sentences
        sentence_terms += got.sentence_terms
        vectors.append(got.vectors)
    return built(chunks, sentences, SentenceVectors.joined(vectors, range(len(sentences))), sentence_terms, chunk_terms)


def _rows(records: dict) -> zip:
    return zip(records["ids"], records["texts"], records["metadatas"])


def _chunk(id_: str, text: str, meta: dict) -> Chunk:
    return Chunk(id_, meta["source"], int(meta["position"]), int(meta["start"]), int(meta["end"]), text)


def _sentence(id_: str, text: str, meta: dict) -> Sentence:
    return Sentence(
        id_,
        meta["source"],
        int(meta["position"]),
        int(meta["start"]),
        int(meta["end"]),
        text,
        int(meta.get("paragraph", 0)),
        str(meta.get("lead", "")),
    )
