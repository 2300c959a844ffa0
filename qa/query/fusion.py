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

CHUNK_FEATURES = (
    "dense",
    "dense_gap",
    "dense_minmax",
    "dense_rank",
    "lexical_norm",
    "lexical_rank",
    "lexical_none",
    "doc_dense_gap",
    "doc_lexical_norm",
    "doc_hits",
    "neighbour_dense_gap",
    "neighbour_lexical_norm",
)
_DOC_HITS_TOP = 20


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
    """The probability that a chunk holds the answer, from `chunk_features`."""

    def __init__(self, model: learned.LearnedModel):
        self._model = model

    def score(self, signals: ChunkSignals) -> np.ndarray:
        if signals.dense.size == 0:
            return signals.dense
        return self._model.probability(chunk_features(signals))


def chunk_features(signals: ChunkSignals) -> np.ndarray:
    """The columns of CHUNK_FEATURES for every chunk (n_chunks x n_features)."""
    d, lex, doc = signals.dense.astype(np.float64), signals.lexical.astype(np.float64), signals.doc
    top_lex = float(lex.max()) if lex.size else 0.0
    lex_norm = lex / top_lex if top_lex > 0 else np.zeros_like(lex)
    n_docs = int(doc.max()) + 1 if doc.size else 0
    doc_dense = np.full(n_docs, -1.0)
    np.maximum.at(doc_dense, doc, d)
    doc_lex = np.zeros(n_docs)
    np.maximum.at(doc_lex, doc, lex_norm)
    rank_d, rank_l = ranks(d), ranks(lex)
    top = (rank_d <= _DOC_HITS_TOP) | (rank_l <= _DOC_HITS_TOP)
    hits = np.bincount(doc[top], minlength=n_docs).astype(np.float64)
    same_prev = np.r_[False, doc[1:] == doc[:-1]]
    same_next = np.r_[doc[:-1] == doc[1:], False]
    prev_d = np.where(same_prev, np.r_[d[:1], d[:-1]], -1.0)
    next_d = np.where(same_next, np.r_[d[1:], d[-1:]], -1.0)
    prev_l = np.where(same_prev, np.r_[lex_norm[:1], lex_norm[:-1]], 0.0)
    next_l = np.where(same_next, np.r_[lex_norm[1:], lex_norm[-1:]], 0.0)
    best = float(d.max())
    columns = [
        d,
        best - d,
        minmax(d),
        np.log1p(rank_d),
        lex_norm,
        np.log1p(rank_l),
        np.full_like(d, float(top_lex <= 0)),
        best - doc_dense[doc],
        doc_lex[doc],
        hits[doc] / _DOC_HITS_TOP,
        best - np.maximum(prev_d, next_d),
        np.maximum(prev_l, next_l),
    ]
    return np.column_stack(columns)


def ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of each item, best first (ties keep their order)."""
    out = np.empty(len(scores))
    out[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
    return out


def minmax(values: np.ndarray, tie: float = 0.0) -> np.ndarray:
    """Scaled to 0..1; every value `tie` when they are all the same (0: no signal to rank by; 1: all best)."""
    if values.size == 0:
        return values
    lo, hi = float(values.min()), float(values.max())
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
