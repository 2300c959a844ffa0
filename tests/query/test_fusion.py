"""The learned fusion scores only the chunks that can rank, and gives them what scoring every chunk gives."""

import numpy as np
import pytest

from qa.query import learned
from qa.query.fusion import CHUNK_FEATURES, ChunkSignals, LearnedFusion, candidate_rows, chunk_features, minmax
from qa.query.ordering import best_first


def _reference_features(signals: ChunkSignals) -> np.ndarray:
    """Every chunk's features as the fusion computed them before it learned to skip chunks (kept verbatim
    but for the signal ranks, which no longer follow corpus order past the chunks with a signal)."""
    d, lex, doc = signals.dense.astype(np.float64), signals.lexical.astype(np.float64), signals.doc
    top_lex = float(lex.max()) if lex.size else 0.0
    lex_norm = lex / top_lex if top_lex > 0 else np.zeros_like(lex)
    n_docs = int(doc.max()) + 1 if doc.size else 0
    doc_dense = np.full(n_docs, -1.0)
    np.maximum.at(doc_dense, doc, d)
    doc_lex = np.zeros(n_docs)
    np.maximum.at(doc_lex, doc, lex_norm)

    def ranks(scores: np.ndarray) -> np.ndarray:
        out = np.empty(len(scores))
        out[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
        return out

    rank_d, rank_l = ranks(d), ranks(lex)
    top = (rank_d <= 20) | (rank_l <= 20)
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
        np.log1p(np.minimum(rank_d, min(np.sum(d > d.min()) + 1, 1001))),
        lex_norm,
        np.log1p(np.minimum(rank_l, min(np.sum(lex > lex.min()) + 1, 1001))),
        np.full_like(d, float(top_lex <= 0)),
        best - doc_dense[doc],
        doc_lex[doc],
        hits[doc] / 20,
        best - np.maximum(prev_d, next_d),
        np.maximum(prev_l, next_l),
    ]
    return np.column_stack(columns)


def _question(rng: np.random.Generator, chunks: int, documents: int) -> ChunkSignals:
    """Signals shaped like a question's: the dense search's lowest similarity for most chunks, a few
    hundred above it; BM25 zero for most, repeated values among the rest (copies of one text score alike)."""
    doc = np.sort(rng.integers(0, documents, chunks)).astype(np.int32)
    dense = np.full(chunks, 0.78, dtype=np.float32)
    hit = rng.choice(chunks, min(chunks, 300), replace=False)
    dense[hit] = rng.uniform(0.78, 0.92, len(hit)).astype(np.float32)
    lexical = np.where(rng.random(chunks) < 0.3, rng.choice([0.0, 1.5, 2.25, 4.0, 7.5, 9.1], chunks), 0.0)
    strong = rng.choice(chunks, min(chunks, 40), replace=False)
    lexical[strong] += rng.uniform(5, 30, len(strong))
    return ChunkSignals(dense, lexical.astype(np.float32), doc)


@pytest.mark.parametrize("chunks,documents", [(1, 1), (3, 2), (40, 4), (5000, 90), (60000, 1100)])
def test_features_of_chosen_rows_are_those_of_every_chunk(chunks, documents):
    rng = np.random.default_rng(chunks)
    signals = _question(rng, chunks, documents)
    every = chunk_features(signals)
    assert np.array_equal(every, _reference_features(signals))
    rows = np.sort(rng.choice(chunks, max(1, chunks // 7), replace=False))
    assert np.array_equal(chunk_features(signals, rows), every[rows])


def test_the_candidates_hold_every_chunk_that_ranks_in_the_largest_pool():
    model = learned.load("fusion", CHUNK_FEATURES)
    fusion = LearnedFusion(model)
    rng = np.random.default_rng(7)
    for chunks, documents in [(800, 20), (5000, 98), (60000, 1100), (120000, 2000)]:
        for _ in range(5):
            signals = _question(rng, chunks, documents)
            full = model.probability(_reference_features(signals))
            fused = fusion.score(signals)
            rows = candidate_rows(signals)
            assert len(rows) < chunks or chunks < 2000
            assert np.array_equal(fused[rows], full[rows])
            assert np.array_equal(best_first(fused, 50), best_first(full, 50))
