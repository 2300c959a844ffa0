"""An in-memory snapshot of the committed index: chunk and sentence texts, BM25, term statistics.

Chroma holds the vectors and answers the dense search; lexical search and evidence features need
every text at hand, so the service loads this snapshot once and reloads it after ingest. Besides
the texts it keeps what the evidence features look up per question: which sentences use a term
(postings), which document and chunks each sentence belongs to, and the sentence runs.
"""

import bisect
import logging
import math
import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from qa.index.chunking import Chunk, Sentence
from qa.index.store import DocumentRecord, Store
from qa.query.lexical import Bm25, grown, inverted
from qa.query.record_cache import RecordCache, split_by_source
from qa.query.spans import Span
from qa.query.vectors import SentenceVectors
from qa.text import terms

log = logging.getLogger(__name__)

_PREFIX_MIN = 4  # a term matches a longer word it starts (and vice versa) from this length on


@dataclass(frozen=True)
class _Lineage:
    """Where each row of a new snapshot came from in `previous`: `chunk_from[i]` is the old index of chunk
    i (-1: new), likewise `sentence_from`; kept rows keep their order. With it the new snapshot renumbers the
    old lexical indexes and tokenises only the new rows (`lexical.grown`)."""

    previous: "Corpus"
    chunk_from: np.ndarray
    sentence_from: np.ndarray


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


class Corpus:
    """Committed documents, their chunks and sentences, and the lexical indexes over them."""

    def __init__(
        self,
        documents: dict[str, DocumentRecord],
        chunks: list[Chunk],
        sentences: list[Sentence],
        sentence_vectors: "np.ndarray | SentenceVectors",
        sentence_terms: list[tuple[str, ...]] | None = None,
        chunk_terms: list[list[str]] | None = None,
        lineage: _Lineage | None = None,
    ):
        self.documents = documents
        self.chunks: list[TitledChunk] = [
            lineage.previous.chunks[old]
            if lineage is not None and old >= 0
            else TitledChunk(c, documents[c.source].title, documents[c.source].date)
            for c, old in zip(chunks, lineage.chunk_from.tolist() if lineage is not None else [-1] * len(chunks))
        ]
        self.sentences = sentences
        self.sentence_vectors = (
            sentence_vectors
            if isinstance(sentence_vectors, SentenceVectors)
            else SentenceVectors.of(np.asarray(sentence_vectors, dtype=np.float32))
        )
        self.sentence_index = {s.id: i for i, s in enumerate(sentences)}
        self.sentence_term_list = sentence_terms or [tuple(terms(s.text)) for s in sentences]
        self._contexts: dict[int, str] = {}
        self._chunk_terms = chunk_terms or [terms(c.text) for c in chunks]
        sources = sorted(documents)
        number = {source: n for n, source in enumerate(sources)}
        self.sources = sources
        self.sentence_doc = np.array([number[s.source] for s in sentences], dtype=np.int32)
        self.chunk_doc = np.array([number[c.source] for c in chunks], dtype=np.int32)
        self.sentence_position = _relative_positions(sentences)
        self._by_source = _group_by_source(sentences)
        self.chunk_sentences = [np.array(self.sentences_in(c.chunk), dtype=np.int64) for c in self.chunks]
        self.chunks_of_sentence = _chunks_of_sentence(self.chunk_sentences, len(sentences))
        self.units = _units(sentences)
        if lineage is None:
            self._bm25 = Bm25(self._chunk_terms)
            self._postings = inverted(self.sentence_term_list)
        else:
            old, c_from, s_from = lineage.previous, lineage.chunk_from, lineage.sentence_from
            c_new, s_new = np.flatnonzero(c_from < 0), np.flatnonzero(s_from < 0)
            self._bm25 = old._bm25.grown(
                _moved(c_from, len(old.chunks)), [self._chunk_terms[i] for i in c_new], c_new, len(chunks)
            )
            self._postings = grown(
                old._postings,
                _moved(s_from, len(old.sentences)),
                [self.sentence_term_list[i] for i in s_new],
                s_new,
                len(sentences),
            )
        n = len(sentences)
        df = self._postings.frequencies()
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).tolist()
        self._idf = {t: idf[k] for t, k in self._postings.vocabulary.items() if df[k] > 0}  # not terms gone
        self.max_idf = math.log(1 + (n + 0.5) / 0.5)
        self._vocabulary = sorted(self._idf)

    @classmethod
    def load(cls, store: Store, previous: "Corpus | None" = None, cache: RecordCache | None = None) -> "Corpus":
        """Read the committed part of the store. With `previous` (an older snapshot of the same store), only
        documents committed since are read and tokenised: a committed version's records never change, so the
        others are taken from `previous` as they are, and the result equals a full load. With `cache`, a
        document's records kept there by an earlier load are taken from it instead of the store, and those
        read from the store are kept there."""
        documents = store.documents()
        kept = set()
        if previous is not None:
            kept = {s for s, d in documents.items() if s in previous.documents and previous.documents[s] == d}
        fresh = {s: d for s, d in documents.items() if s not in kept}
        cached = {s: got for s, d in fresh.items() if cache is not None and (got := cache.get(d)) is not None}
        unread = {d.content_hash for s, d in fresh.items() if s not in cached}
        chunks = [_chunk(i, t, m) for i, t, m in _rows(store.records("chunks", unread))] if unread else []
        chunk_terms = [terms(c.text) for c in chunks]
        found = store.records("sentences", unread, vectors=True) if unread else None
        sentences = [_sentence(i, t, m) for i, t, m in _rows(found)] if found else []
        sentence_terms = [tuple(terms(s.text)) for s in sentences]
        vectors: list[np.ndarray | SentenceVectors] = [found["vectors"]] if found else []
        if cache is not None and found is not None:
            read = split_by_source(chunks, chunk_terms, sentences, sentence_terms, found["vectors"])
            for source, records in read.items():
                if source in fresh and source not in cached:
                    cache.put(fresh[source], records)
        for got in cached.values():
            chunks += got.chunks
            chunk_terms += got.chunk_terms
            sentences += got.sentences
            sentence_terms += got.sentence_terms
            vectors.append(got.vectors)
        c_from = [-1] * len(chunks)
        s_from = [-1] * len(sentences)
        if previous is not None and kept:
            c_keep = [i for i, c in enumerate(previous.chunks) if c.chunk.source in kept]
            s_keep = [i for i, s in enumerate(previous.sentences) if s.source in kept]
            c_from += c_keep
            s_from += s_keep
            chunks += [previous.chunks[i].chunk for i in c_keep]
            chunk_terms += [previous._chunk_terms[i] for i in c_keep]
            sentences += [previous.sentences[i] for i in s_keep]
            sentence_terms += [previous.sentence_term_list[i] for i in s_keep]
            vectors.append(previous.sentence_vectors.select(s_keep))
        if cache is not None:
            cache.prune(documents.values())
        c_order = sorted(range(len(chunks)), key=lambda k: (chunks[k].source, chunks[k].position))
        s_order = sorted(range(len(sentences)), key=lambda k: (sentences[k].source, sentences[k].position))
        stacked = SentenceVectors.joined(vectors, s_order)
        log.info(
            "corpus: %d documents (%d read, %d from the cache), %d chunks, %d sentences",
            len(documents),
            len(fresh) - len(cached),
            len(cached),
            len(chunks),
            len(sentences),
        )
        return cls(
            documents,
            [chunks[k] for k in c_order],
            [sentences[k] for k in s_order],
            stacked,
            [sentence_terms[k] for k in s_order],
            [chunk_terms[k] for k in c_order],
            _Lineage(previous, np.array(c_from)[c_order], np.array(s_from)[s_order])
            if previous is not None and kept
            else None,
        )

    def without(self, sources: set[str]) -> "Corpus":
        """The same snapshot with some documents left out (training asks questions without their paper)."""
        keep_s = [i for i, s in enumerate(self.sentences) if s.source not in sources]
        keep_c = [i for i, c in enumerate(self.chunks) if c.chunk.source not in sources]
        return Corpus(
            {k: v for k, v in self.documents.items() if k not in sources},
            [self.chunks[i].chunk for i in keep_c],
            [self.sentences[i] for i in keep_s],
            self.sentence_vectors.select(keep_s),
            [self.sentence_term_list[i] for i in keep_s],
            [self._chunk_terms[i] for i in keep_c],
        )

    def __len__(self) -> int:
        return len(self.chunks)

    def chunks_of(self, sources: Collection[str]) -> np.ndarray:
        """A mask over chunks: True for those of `sources` (restricting a question to chosen documents)."""
        numbers = [n for n, source in enumerate(self.sources) if source in sources]
        return np.isin(self.chunk_doc, numbers)

    def sentence_count(self, sources: Collection[str]) -> int:
        return int(np.isin(self.sentence_doc, [n for n, source in enumerate(self.sources) if source in sources]).sum())

    def bm25_scores(self, query_terms: list[str]) -> np.ndarray:
        """BM25 score of every chunk for the query terms (zeros when nothing matches)."""
        return self._bm25.scores(query_terms)

    def idf(self, term: str) -> float:
        """Inverse sentence frequency; a term the corpus never uses gets the maximum."""
        return self._idf.get(term, self.max_idf)

    def matches(self, term: str) -> list[str]:
        """The corpus terms that count as this term: itself, and from four letters on, the longer
        words it starts and the shorter words that start it ("vaccin" ~ "vaccination")."""
        found = [term] if term in self._idf else []
        if len(term) < _PREFIX_MIN:
            return found
        at = bisect.bisect_right(self._vocabulary, term)
        while at < len(self._vocabulary) and self._vocabulary[at].startswith(term):
            found.append(self._vocabulary[at])
            at += 1
        found += [term[:k] for k in range(_PREFIX_MIN, len(term)) if term[:k] in self._idf]
        return found

    def sentences_with(self, term: str) -> np.ndarray:
        """Indexes of the sentences that use the term or a word matching it (sorted)."""
        parts = [self._postings.row_of(t) for t in self.matches(term)]
        if not parts:
            return np.zeros(0, dtype=np.int64)
        return parts[0] if len(parts) == 1 else np.unique(np.concatenate(parts))

    def knows(self, term: str) -> bool:
        """Does any sentence use this term (or a word matching it)?"""
        return bool(self.matches(term))

    def document_terms(self) -> dict[str, set[str]]:
        """Every term each document uses, by source (one pass over the sentences)."""
        found: dict[str, set[str]] = {source: set() for source in self.documents}
        for sentence, ts in zip(self.sentences, self.sentence_term_list):
            found[sentence.source].update(ts)
        return found

    def sentences_in(self, chunk: Chunk | Span) -> list[int]:
        """Indexes of the sentences that overlap the chunk (or span), in document order."""
        starts, idxs = self._by_source.get(chunk.source, ([], []))
        lo = max(0, bisect.bisect_right(starts, chunk.start) - 1)
        hi = bisect.bisect_left(starts, chunk.end)
        return [idxs[k] for k in range(lo, hi) if self.sentences[idxs[k]].end > chunk.start]

    def context_text(self, index: int) -> str:
        """The paragraph holding a sentence and the paragraph before it: where "he" is named."""
        found = self._contexts.get(index)
        if found is None:
            found = self._contexts[index] = self._context_text(index)
        return found

    def _context_text(self, index: int) -> str:
        lo = hi = index
        while lo > 0 and _same_line(self.sentences[lo - 1], self.sentences[lo]):
            lo -= 1
        if lo > 0 and self.sentences[lo - 1].source == self.sentences[lo].source:
            lo -= 1
            while lo > 0 and _same_line(self.sentences[lo - 1], self.sentences[lo]):
                lo -= 1
        while hi + 1 < len(self.sentences) and _same_line(self.sentences[hi], self.sentences[hi + 1]):
            hi += 1
        return " ".join(self.sentences[k].text for k in range(lo, hi + 1))

    def span_text(self, first: int, last: int) -> str:
        """The exact document text from sentence `first` through sentence `last` (same document)."""
        parts = [self.sentences[first].text]
        parts += [self.sentences[k].lead + self.sentences[k].text for k in range(first + 1, last + 1)]
        return "".join(parts)

    def span(self, first: int, last: int, score: float) -> Span:
        """Sentences `first` through `last` (same document) as a span, scored by `score`."""
        head, tail = self.sentences[first], self.sentences[last]
        record = self.documents.get(head.source)
        return Span(
            self.span_text(first, last), head.source, head.start, tail.end, score, record.title if record else ""
        )

    def neighbours(self, first: int, last: int) -> list[int]:
        """The sentences just before and after a run, within its document."""
        out = []
        if first > 0 and self.sentences[first - 1].source == self.sentences[first].source:
            out.append(first - 1)
        if last + 1 < len(self.sentences) and self.sentences[last + 1].source == self.sentences[last].source:
            out.append(last + 1)
        return out


_REFERRING = re.compile(
    r"^[\"'“]?(he|she|it|they|this|that|these|those|his|her|its|their|such|the former|the latter|"
    r"at that time|then)\b",
    re.IGNORECASE,
)
_MAX_UNIT = 3


def _chunks_of_sentence(chunk_sentences: list[np.ndarray], n: int) -> list[list[int]]:
    """For each sentence, the chunks that hold it, ascending (the inverse of `chunk_sentences`)."""
    sizes = [len(inside) for inside in chunk_sentences]
    inside = np.concatenate(chunk_sentences) if chunk_sentences else np.zeros(0, dtype=np.int64)
    owner = np.repeat(np.arange(len(chunk_sentences), dtype=np.int64), sizes)
    order = np.argsort(inside, kind="stable")
    ends = np.cumsum(np.bincount(inside, minlength=n))
    flat = owner[order].tolist()
    return [flat[a:b] for a, b in zip([0, *ends[:-1].tolist()], ends.tolist())]


def _moved(came_from: np.ndarray, old_size: int) -> np.ndarray:
    """For each old row, its new row (-1: gone), from each new row's old row (-1: new)."""
    moved = np.full(old_size, -1, dtype=np.int64)
    kept = np.flatnonzero(came_from >= 0)
    moved[came_from[kept]] = kept
    return moved


def _same_line(a: Sentence, b: Sentence) -> bool:
    return a.source == b.source and a.paragraph == b.paragraph and a.position + 1 == b.position


def _units(sentences: list[Sentence]) -> list[tuple[int, int]]:
    """For each sentence, the run of sentences it belongs to: a sentence opening with a pronoun
    ("He hopes...") continues the one before it, so the two are quoted and judged together."""
    units: list[tuple[int, int]] = []
    first = 0
    for i, s in enumerate(sentences):
        continues = i > 0 and _same_line(sentences[i - 1], s) and bool(_REFERRING.match(s.text.strip()))
        if not continues or i - first >= _MAX_UNIT:
            first = i
        units.append((first, i))
    last = list(range(len(sentences)))
    for i in range(len(sentences) - 1, -1, -1):
        if i + 1 < len(sentences) and units[i + 1][0] == units[i][0]:
            last[i] = last[i + 1]
    return [(units[i][0], last[i]) for i in range(len(sentences))]


def _relative_positions(sentences: list[Sentence]) -> np.ndarray:
    """Each sentence's place in its document, 0.0 (first) to 1.0 (last)."""
    count = Counter(s.source for s in sentences)
    return np.array([s.position / max(1, count[s.source] - 1) for s in sentences], dtype=np.float32)


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


def _group_by_source(sentences: list[Sentence]) -> dict[str, tuple[list[int], list[int]]]:
    groups: dict[str, tuple[list[int], list[int]]] = {}
    for i, s in enumerate(sentences):
        starts, idxs = groups.setdefault(s.source, ([], []))
        starts.append(s.start)
        idxs.append(i)
    return groups
