"""An in-memory snapshot of the committed index: chunk and sentence texts, BM25, term statistics.

Chroma holds the vectors and answers the dense search; lexical search and sentence selection
need every text at hand, so the service loads this snapshot once and reloads it after ingest.
"""

import bisect
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass

import bm25s
import numpy as np

from qa.index.chunking import Chunk, Sentence
from qa.index.store import DocumentRecord, Store
from qa.text import terms

log = logging.getLogger(__name__)
logging.getLogger("bm25s").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Passage:
    """A chunk with its document's headline and date, as shown to models and users."""

    chunk: Chunk
    title: str
    date: str


class Corpus:
    """Committed documents, their chunks and sentences, and the lexical indexes over them."""

    def __init__(self, documents: dict[str, DocumentRecord], chunks: list[Chunk],
                 sentences: list[Sentence], sentence_vectors: np.ndarray):
        self.documents = documents
        self.passages = [Passage(c, documents[c.source].title, documents[c.source].date) for c in chunks]
        self.sentences = sentences
        self.sentence_vectors = sentence_vectors
        self.sentence_index = {s.id: i for i, s in enumerate(sentences)}
        self.sentence_terms = [set(terms(s.text)) for s in sentences]
        self._by_source = _group_by_source(sentences)
        self.chunks_of_sentence: list[list[int]] = [[] for _ in sentences]
        for ci, passage in enumerate(self.passages):
            for si in self.sentences_in(passage.chunk):
                self.chunks_of_sentence[si].append(ci)
        self.units = _units(sentences)
        self._bm25 = _bm25([terms(c.text) for c in chunks])
        self._idf = _idf(self.sentence_terms)
        self._max_idf = math.log(1 + (len(sentences) + 0.5) / 0.5)
        self._vocabulary = sorted(self._idf)

    @classmethod
    def load(cls, store: Store) -> "Corpus":
        """Read the committed part of the store."""
        documents = store.documents()
        hashes = {d.content_hash for d in documents.values()}
        chunks = [_chunk(i, t, m) for i, t, m in _rows(store.records("chunks", hashes))]
        chunks.sort(key=lambda c: (c.source, c.position))
        found = store.records("sentences", hashes, vectors=True)
        sentences = [_sentence(i, t, m) for i, t, m in _rows(found)]
        order = sorted(range(len(sentences)), key=lambda k: (sentences[k].source, sentences[k].position))
        vectors = found["vectors"][order] if order else np.zeros((0, 0), dtype=np.float32)
        log.info("corpus: %d documents, %d chunks, %d sentences", len(documents), len(chunks), len(sentences))
        return cls(documents, chunks, [sentences[k] for k in order], vectors)

    def __len__(self) -> int:
        return len(self.passages)

    def bm25_scores(self, query_terms: list[str]) -> np.ndarray:
        """BM25 score of every chunk for the query terms (zeros when nothing matches)."""
        if self._bm25 is None or not query_terms:
            return np.zeros(len(self.passages), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(query_terms), dtype=np.float32)

    def idf(self, term: str) -> float:
        """Inverse sentence frequency; a term the corpus never uses gets the maximum."""
        return self._idf.get(term, self._max_idf)

    def sentences_in(self, chunk: Chunk) -> list[int]:
        """Indexes of the sentences that overlap the chunk, in document order."""
        starts, idxs = self._by_source.get(chunk.source, ([], []))
        lo = max(0, bisect.bisect_right(starts, chunk.start) - 1)
        hi = bisect.bisect_left(starts, chunk.end)
        return [idxs[k] for k in range(lo, hi) if self.sentences[idxs[k]].end > chunk.start]

    def knows(self, term: str) -> bool:
        """Does any sentence use this term (or a longer word it starts)?"""
        if term in self._idf:
            return True
        if len(term) < 4:
            return False
        at = bisect.bisect_left(self._vocabulary, term)
        return at < len(self._vocabulary) and self._vocabulary[at].startswith(term)

    def context_text(self, index: int) -> str:
        """The paragraph holding a sentence and the paragraph before it: where "he" is named."""
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


_REFERRING = re.compile(
    r"^[\"'“]?(he|she|it|they|this|that|these|those|his|her|its|their|such|the former|the latter|"
    r"at that time|then)\b",
    re.IGNORECASE,
)
_MAX_UNIT = 3


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


def _rows(records: dict) -> zip:
    return zip(records["ids"], records["texts"], records["metadatas"])


def _chunk(id_: str, text: str, meta: dict) -> Chunk:
    return Chunk(id_, meta["source"], int(meta["position"]), int(meta["start"]), int(meta["end"]), text)


def _sentence(id_: str, text: str, meta: dict) -> Sentence:
    return Sentence(id_, meta["source"], int(meta["position"]), int(meta["start"]), int(meta["end"]), text,
                    int(meta.get("paragraph", 0)), str(meta.get("lead", "")))


def _group_by_source(sentences: list[Sentence]) -> dict[str, tuple[list[int], list[int]]]:
    groups: dict[str, tuple[list[int], list[int]]] = {}
    for i, s in enumerate(sentences):
        starts, idxs = groups.setdefault(s.source, ([], []))
        starts.append(s.start)
        idxs.append(i)
    return groups


def _bm25(tokenised: list[list[str]]) -> bm25s.BM25 | None:
    if not any(tokenised):
        return None
    index = bm25s.BM25()
    index.index([t or [""] for t in tokenised], show_progress=False)
    return index


def _idf(sentence_terms: list[set[str]]) -> dict[str, float]:
    n = len(sentence_terms)
    df = Counter(t for ts in sentence_terms for t in ts)
    return {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
