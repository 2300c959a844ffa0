"""Training rows: each question goes through the product's own retrieval and feature code.

Chunk rows (for the fusion) and run rows (for the evidence model) are labelled against the gold
evidence: a chunk is positive when it holds the gold span (or most of it), a run when it overlaps
the gold span by at least half of the shorter of the two, or, for golden cases, when it contains
the evidence text. Every row of an unanswerable question is negative.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from qa.eval.golden import normalise
from qa.index.embedding import Embedder
from qa.index.store import Store
from qa.learn.questions import LabelledQuestion
from qa.query.conversation import condense
from qa.query.corpus import Corpus
from qa.query.features import FeatureExtractor, candidates
from qa.query.fusion import Fusion, chunk_features
from qa.query.ordering import ranks
from qa.query.retrieval import HybridRetriever, Retrieval
from qa.settings import EXACT_SEARCH_SENTENCES

_CHUNK_NEGATIVES = 60  # per question: the best-ranked negatives by either signal


class CachedEmbedder:
    """Remembers query vectors: a question asked with and without its paper is embedded once."""

    def __init__(self, embedder: Embedder):
        self._embedder = embedder
        self.name, self.dim = embedder.name, embedder.dim
        self._cache: dict[str, np.ndarray] = {}

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            for t, v in zip(missing, self._embedder.embed_queries(missing)):
                self._cache[t] = v
        return np.stack([self._cache[t] for t in texts])

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._embedder.embed_passages(texts)


@dataclass
class RunRows:
    """The candidate runs of one question: features, labels, and where each run is."""

    question: LabelledQuestion
    x: np.ndarray
    y: np.ndarray
    units: list[tuple[int, int]]
    chunk_rank: np.ndarray
    corpus: Corpus
    retrieval: Retrieval


@dataclass(eq=False)  # a working object holding a cache: equal only to itself
class Examples:
    """Retrieval and features for labelled questions over one store, with leave-out corpora."""

    store: Store
    corpus: Corpus
    embedder: CachedEmbedder
    fusion: Fusion
    top_k: int = 5
    dense_candidates: int = 256
    pool: int = 10
    exact_up_to: int = EXACT_SEARCH_SENTENCES  # as the product searches (`Settings.exact_search_sentences`)
    _left_out: tuple[frozenset[str], Corpus] | None = field(default=None, init=False, repr=False)

    def corpus_for(self, q: LabelledQuestion) -> Corpus:
        if not q.leave_out:
            return self.corpus
        if self._left_out is None or self._left_out[0] != q.leave_out:
            self._left_out = (q.leave_out, self.corpus.without(set(q.leave_out)))
        return self._left_out[1]

    def retrieve(self, q: LabelledQuestion, fusion: Fusion | None = None) -> tuple[Corpus, Retrieval]:
        corpus = self.corpus_for(q)
        retriever = HybridRetriever(
            self.store,
            corpus,
            self.embedder,
            fusion or self.fusion,
            self.top_k,
            self.dense_candidates,
            self.pool,
            self.exact_up_to,
        )
        return corpus, retriever.retrieve(condense(q.text, list(q.history)))

    def chunk_rows(self, q: LabelledQuestion) -> tuple[np.ndarray, np.ndarray]:
        """Chunk features and labels: every positive chunk and the best-ranked negatives."""
        corpus = self.corpus_for(q)
        _, retrieval = self.retrieve(q)
        x = chunk_features(retrieval.signals)
        y = np.array([chunk_label(corpus, i, q) for i in range(len(corpus))], dtype=np.int8)
        signals = retrieval.signals
        rank = np.minimum(ranks(signals.dense), ranks(signals.lexical))
        keep = (y == 1) | (rank <= np.sort(rank)[min(_CHUNK_NEGATIVES, len(rank) - 1)])
        return x[keep], y[keep]

    def run_rows(self, q: LabelledQuestion) -> RunRows:
        corpus, retrieval = self.retrieve(q)
        pool = [(r.index, r.score) for r in retrieval.pool]
        found = candidates(corpus, pool)
        x = FeatureExtractor(corpus).compute(
            retrieval.query.focus,
            retrieval.query.search,
            retrieval.focus_vector,
            retrieval.search_vector,
            found,
            corpus.chunk_doc[[i for i, _ in pool]],
            retrieval.sentence_similarity,
        )
        y = np.array([run_label(corpus, u, q) for u in found.units], dtype=np.int8)
        return RunRows(q, x, y, found.units, found.chunk_rank, corpus, retrieval)

    def all_run_rows(self, questions: list[LabelledQuestion]) -> Iterator[RunRows]:
        """Rows for many questions, grouped so each leave-out corpus is built once."""
        for q in sorted(questions, key=lambda q: (sorted(q.leave_out), q.id)):
            yield self.run_rows(q)


def chunk_label(corpus: Corpus, index: int, q: LabelledQuestion) -> int:
    chunk = corpus.chunks[index].chunk
    if q.evidence is not None:
        return int(normalise(q.evidence) in normalise(chunk.text))
    for source, s, e in q.spans:
        if source == chunk.source and min(e, chunk.end) - max(s, chunk.start) >= 0.5 * (e - s):
            return 1
    return 0


def run_label(corpus: Corpus, unit: tuple[int, int], q: LabelledQuestion) -> int:
    first, last = unit
    if q.evidence is not None:
        return int(normalise(q.evidence) in normalise(corpus.span_text(first, last)))
    head, tail = corpus.sentences[first], corpus.sentences[last]
    for source, s, e in q.spans:
        overlap = min(e, tail.end) - max(s, head.start)
        if source == head.source and overlap > 0 and overlap >= 0.5 * min(e - s, tail.end - head.start):
            return 1
    return 0
