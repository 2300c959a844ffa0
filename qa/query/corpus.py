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
from qa.query.lexical import Bm25
from qa.query.packed import IdIndex
from qa.query.record_cache import RecordCache, split_by_source
from qa.query.spans import Span
from qa.query.stacked import Postings, Rows, Stacked, StackedVectors, Terms, Vectors, joined_firsts, renumbered
from qa.query.tables import ChunkTable, SentenceTable, TermRows, TitledChunk, UnitRows
from qa.query.vectors import SentenceVectors
from qa.text import terms

log = logging.getLogger(__name__)

_PREFIX_MIN = 4  # a term matches a longer word it starts (and vice versa) from this length on
# Stacking new documents on a snapshot instead of merging them in (`Corpus.load`) starts at this many base
# sentences (about 600 COVID-QA papers): merging copies every column, 0.9-5.5 s at 10,000 documents
# (1.69 million sentences) and under 0.2 s below this size.
STACK_FROM = 100_000
MERGE_AT = 8  # documents stacked on a base are merged into it once they hold 1/8 of its sentences
DOCUMENTS_PER_PART = 500  # documents read into Python objects at a time by a load (`_read`)

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
        """Read the committed part of the store. A committed document version never changes, so the documents
        of `previous` (an older snapshot of the same store), or else of the snapshot file `cache` keeps, are
        taken from it as they are, and only documents committed since are read (from the cache's per-document
        files, or the store); the result holds what a full load holds.

        New documents are merged into one column set and the result written back to the cache for the next
        process, unless the base holds at least `stack_from` (default `STACK_FROM`) sentences and none of its
        documents was removed or replaced: then they are stacked after the base (`stacked.py`) and the
        snapshot file is left as it is (the next process stacks them the same way, from the cache's
        per-document files). Once the stacked documents hold more than 1/`MERGE_AT` of the base's sentences,
        they are merged into one file in the background (`RecordCache.save_snapshot`) while the stack keeps
        answering; with no cache, at once. Nor is a large snapshot rewritten only because the generation
        moved while its documents stayed the same (a document added and removed again): writing the file
        out of its own mapping made all of it resident in the process, 2.3 GB at 10,000 documents; the next
        start reads the document list back instead (0.13-0.5 s there).

        A snapshot file taken at the store's current settled generation (`Store.settled_generation`) is
        the committed corpus itself: it is used without reading the document list back. Otherwise only the
        versions the base does not hold are read back (`Store.documents_since`)."""
        settled = store.settled_generation() if cache is not None else ""
        snapshot = cache.snapshot() if cache is not None and previous is None else None
        if cache is not None and snapshot is not None and settled and snapshot.generation == settled:
            cache.prune(snapshot.documents.values())
            log.info("corpus: %d documents, the snapshot of the current generation", len(snapshot.documents))
            return cls(snapshot.documents, snapshot.columns)
        base_docs: dict[str, DocumentRecord] = {}
        parts: list[CorpusColumns] = []
        where: dict[str, tuple[int, int]] = {}
        if previous is not None:
            base_docs, parts = previous.documents, previous.parts()
            where = {s: previous.located(s) for s in previous.sources}
        elif snapshot is not None:
            base_docs, parts = snapshot.documents, [snapshot.columns]
            where = {s: (0, n) for n, s in enumerate(snapshot.columns.sources)}
        documents = store.documents_since(base_docs)
        kept = {s for s, d in documents.items() if base_docs.get(s) == d and s in where}
        fresh = {s: d for s, d in documents.items() if s not in kept}
        held = parts[0] if parts else None  # the snapshot loaded before (None: a first full read)
        stackable = held is not None and len(held.sentence_texts) >= (STACK_FROM if stack_from is None else stack_from)
        if fresh or not parts:
            parts.append(_read(store, fresh, cache))
            where.update({s: (len(parts) - 1, n) for n, s in enumerate(parts[-1].sources)})
        picks = [where[s] for s in sorted(documents) if s in where]  # (a document with no records has no rows)
        if cache is not None and (previous is None or len(kept) < len(base_docs)):
            cache.prune(documents.values())  # (a reload prunes only when a version went: 0.14 s at 10,000 files)
        base = parts[0]
        on_top = [(p, n) for p, n in picks if p > 0]
        grown = MERGE_AT * sum(_sentences(parts[p], n) for p, n in on_top) > len(base.sentence_texts)
        if stackable and len(on_top) == len(picks) - len(base.sources) and (cache is not None or not grown):
            added = combined(parts[1:], [(p - 1, n) for p, n in on_top]) if on_top else None
            corpus = cls(documents, base, added)
            if cache is not None and grown and added is not None:
                log.info("corpus: merging %d stacked documents into the snapshot, in the background", len(on_top))
                merged = [corpus.located(s) for s in sorted(corpus.sources)]
                cache.save_snapshot(documents, lambda: combined([base, added], merged), settled, key=added)
            log.info("corpus: %d documents (%d added after the base snapshot)", len(documents), len(on_top))
            return corpus
        columns = combined(parts, picks)
        if cache is not None and (
            columns is not held or (snapshot is not None and settled and snapshot.generation != settled)
        ):
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


def _sentences(columns: CorpusColumns, document: int) -> int:
    return int(columns.sentence_first[document + 1] - columns.sentence_first[document])


def _read(store: Store, fresh: dict[str, DocumentRecord], cache: RecordCache | None) -> CorpusColumns:
    """The columns of the `fresh` documents, `DOCUMENTS_PER_PART` at a time (`_read_part`), combined.

    Read whole, the records of 10,000 documents were Python objects all at once before any column was built:
    a cold start with no record cache peaked at about 12 GB. A part's objects go once its columns are built."""
    sources = sorted(fresh)
    groups = [sources[i : i + DOCUMENTS_PER_PART] for i in range(0, len(sources), DOCUMENTS_PER_PART)] or [[]]
    parts = []
    for group in groups:
        parts.append(_read_part(store, {s: fresh[s] for s in group}, cache))
        if len(groups) > 1:
            log.info("corpus: %d of %d documents read", sum(len(x.sources) for x in parts), len(sources))
    if len(parts) == 1:
        return parts[0]
    return combined(parts, [(p, n) for p, part in enumerate(parts) for n in range(len(part.sources))])


def _read_part(store: Store, fresh: dict[str, DocumentRecord], cache: RecordCache | None) -> CorpusColumns:
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
