"""Fusion: one score per chunk from its dense and BM25 signals (and document-level ones).

`learned` (the default) is a model fitted on COVID-QA training papers (`qa/models/fusion.json`,
rebuilt by `bench/train_ranker.py`); `weighted` (min-max normalised scores mixed by a weight) and
`rrf` (reciprocal rank) are the fixed rules it replaced, kept to measure against.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from qa.errors import ConfigError
from qa.query import learned
from qa.query.ordering import best_first, ranks

CHUNK_FEATURES = (
    "dense",
    "dense_gap",
    "dense_minmax",
    "dense_signal_rank",
    "lexical_norm",
    "lexical_signal_rank",
    "lexical_none",
    "doc_dense_gap",
    "doc_lexical_norm",
    "doc_hits",
    "neighbour_dense_gap",
    "neighbour_lexical_norm",
)
_DOC_HITS_TOP = 20
LEXICAL_CANDIDATES = 1000  # BM25's best chunks scored by the learned fusion: 20 times the largest pool
# Up to this many chunks the learned fusion scores all of them (2 ms or less a question): on the 98 COVID-QA
# papers (5,237 chunks) scoring candidates only changed the best 50 of 2 of 687 questions, at 980 documents none
EVERY_CHUNK_UP_TO = 20_000


@dataclass(frozen=True)
class ChunkSignals:
    """Per chunk of the corpus: best sentence cosine, BM25 score, and the document it belongs to."""

    dense: np.ndarray
    lexical: np.ndarray
    doc: np.ndarray


class Fusion(Protocol):
    """Scores every chunk; higher ranks first."""

    def score(self, signals: ChunkSignals) -> np.ndarray: ...


class WeightedFusion:
    """`weight` x min-max dense + (1 - `weight`) x min-max BM25."""

    def __init__(self, weight: float = 0.5):
        self._weight = weight

    def score(self, signals: ChunkSignals) -> np.ndarray:
        return self._weight * minmax(signals.dense) + (1 - self._weight) * minmax(signals.lexical)


class ReciprocalRankFusion:
    """Sum of 1 / (k + rank) over the two rankings."""

    def __init__(self, k: int = 60):
        self._k = k

    def score(self, signals: ChunkSignals) -> np.ndarray:
        return minmax(1.0 / (self._k + ranks(signals.dense)) + 1.0 / (self._k + ranks(signals.lexical)))


class LearnedFusion:
    """The probability that a chunk holds the answer, from `chunk_features`: in a corpus of more than
    `EVERY_CHUNK_UP_TO` chunks only for those that can rank (`candidate_rows`); every other chunk then scores
    0 and ranks after them, in corpus order."""

    def __init__(self, model: learned.LearnedModel):
        self._model = model

    def score(self, signals: ChunkSignals) -> np.ndarray:
        if signals.dense.size == 0:
            return signals.dense
        every = len(signals.dense) <= EVERY_CHUNK_UP_TO
        rows = np.arange(len(signals.dense)) if every else candidate_rows(signals)
        scores = np.zeros(len(signals.dense))
        scores[rows] = self._model.probability(chunk_features(signals, rows))
        return scores


def candidate_rows(signals: ChunkSignals) -> np.ndarray:
    """The chunks worth scoring, ascending: every chunk with a dense signal (a sentence the dense search
    returned), the `LEXICAL_CANDIDATES` best by BM25, the chunks next to those (the neighbour features), and
    every chunk of the documents of the best 20 by either signal (the document features).

    Scoring every chunk cost 92.7 ms a question at 523,700 chunks (`bench/fusion_candidates.py`), mostly
    for chunks with neither signal, which rank far below a pool of at most 50 (`MAX_TOP_K`). The rest of the
    corpus enters only through exact global figures (ranks, best values, document maxima), so a candidate's
    features and probability are the ones scoring every chunk gives it (`tests/query/test_fusion.py`)."""
    d, lex, doc = signals.dense, signals.lexical, signals.doc
    core = np.union1d(np.flatnonzero(d > d.min()), best_first(lex, LEXICAL_CANDIDATES))
    near = np.concatenate((core, core[core > 0] - 1, core[core < len(d) - 1] + 1))
    leaders = np.union1d(best_first(d, _DOC_HITS_TOP), best_first(lex, _DOC_HITS_TOP))
    return np.union1d(near, np.flatnonzero(np.isin(doc, doc[leaders])))


def chunk_features(signals: ChunkSignals, rows: np.ndarray | None = None) -> np.ndarray:
    """The columns of CHUNK_FEATURES for every chunk, or for `rows` only (len(rows) x n_features): a row's
    values are the same either way, its ranks and document figures taken over the whole corpus. The work
    that covers every chunk is a few vector passes and sorts of the values above each signal's lowest."""
    d, lex, doc = signals.dense.astype(np.float64), signals.lexical.astype(np.float64), signals.doc
    rows = np.arange(len(d)) if rows is None else np.asarray(rows, dtype=np.int64)
    top_lex = float(lex.max()) if lex.size else 0.0
    n_docs = int(doc.max()) + 1 if doc.size else 0
    doc_dense = np.full(n_docs, max(-1.0, float(d.min())) if d.size else -1.0)
    raised = np.flatnonzero(d > doc_dense[0]) if n_docs else rows[:0]
    np.maximum.at(doc_dense, doc[raised], d[raised])  # every other chunk is at the lowest value
    doc_lex = np.zeros(n_docs)
    if top_lex > 0:
        scored = np.flatnonzero(lex > 0)
        np.maximum.at(doc_lex, doc[scored], lex[scored] / top_lex)
    rank_d, rank_l = ranks(d), ranks(lex)
    top = np.flatnonzero((rank_d <= _DOC_HITS_TOP) | (rank_l <= _DOC_HITS_TOP))
    hits = np.bincount(doc[top], minlength=n_docs).astype(np.float64)
    prev, after = np.maximum(rows - 1, 0), np.minimum(rows + 1, len(d) - 1)
    same_prev = (rows > 0) & (doc[prev] == doc[rows])
    same_next = (rows < len(d) - 1) & (doc[after] == doc[rows])

    def norm(values: np.ndarray) -> np.ndarray:
        return values / top_lex if top_lex > 0 else np.zeros_like(values)

    prev_d, next_d = np.where(same_prev, d[prev], -1.0), np.where(same_next, d[after], -1.0)
    prev_l, next_l = np.where(same_prev, norm(lex[prev]), 0.0), np.where(same_next, norm(lex[after]), 0.0)
    best = float(d.max()) if d.size else 0.0
    mine, own_doc = d[rows], doc[rows]
    columns = [
        mine,
        best - mine,
        minmax(mine, over=d),
        np.log1p(signal_rank(rank_d[rows], d)),
        norm(lex[rows]),
        np.log1p(signal_rank(rank_l[rows], lex)),
        np.full_like(mine, float(top_lex <= 0)),
        best - doc_dense[own_doc],
        doc_lex[own_doc],
        hits[own_doc] / _DOC_HITS_TOP,
        best - np.maximum(prev_d, next_d),
        np.maximum(prev_l, next_l),
    ]
    return np.column_stack(columns)


def signal_rank(rank: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The rank a feature reads, the same in a corpus of any size: every chunk without the signal (at its
    lowest value) ranks one past those with it, and no rank passes `LEXICAL_CANDIDATES` + 1.

    The plain rank placed such chunks by their position in the corpus (up to 5,237 among the 98 COVID-QA
    papers, 523,700 at 10,000 documents), a value outside anything the model was fitted on as the corpus
    grew: a model that read it favoured chunks late in corpus order."""
    unranked = int(np.count_nonzero(scores > scores.min())) + 1 if scores.size else 1
    return np.minimum(rank, min(unranked, LEXICAL_CANDIDATES + 1))


def minmax(values: np.ndarray, tie: float = 0.0, over: np.ndarray | None = None) -> np.ndarray:
    """Scaled to 0..1 by the range of `over` (default: `values` itself; `values` may be some of its items);
    every value `tie` when they are all the same (0: no signal to rank by; 1: all best)."""
    whole = values if over is None else over
    if values.size == 0 or whole.size == 0:
        return values
    lo, hi = float(whole.min()), float(whole.max())
    if hi - lo < 1e-9:
        return np.full_like(values, tie)
    return (values - lo) / (hi - lo)


def build_fusion(name: str, dense_weight: float) -> Fusion:
    """The fusion named in settings."""
    makers: dict[str, Callable[[], Fusion]] = {
        "learned": lambda: LearnedFusion(learned.load("fusion", CHUNK_FEATURES)),
        "weighted": lambda: WeightedFusion(dense_weight),
        "rrf": lambda: ReciprocalRankFusion(),
    }
    if name not in makers:
        raise ConfigError(f"Unknown fusion {name!r}; choose one of {', '.join(makers)}.")
    return makers[name]()
