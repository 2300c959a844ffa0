"""BM25 in numpy arrays: Lucene's idf and length normalisation, on a corpus small enough to check by hand."""

import math
import random

import numpy as np
import pytest

from qa.query.lexical import Bm25, grown, inverted

CHUNKS = [["lei", "jun", "xiaomi"], ["xiaomi"], [], ["kingsoft", "xiaomi", "xiaomi", "phone", "phone", "phone"]]


def test_a_score_is_lucene_idf_times_the_saturated_length_normalised_term_frequency():
    index = Bm25(CHUNKS)
    average = (3 + 1 + 1 + 6) / 4  # an empty chunk counts as one token
    idf = math.log(1 + (4 - 1 + 0.5) / (1 + 0.5))  # "lei" is in one chunk of four
    expected = idf * 1 / (1.5 * (0.25 + 0.75 * 3 / average) + 1)
    assert index.scores(["lei"])[0] == pytest.approx(expected, rel=1e-6)
    assert index.scores(["lei"]).tolist()[1:] == [0.0, 0.0, 0.0]


def test_rarer_terms_weigh_more_and_shorter_chunks_win_at_the_same_count():
    index = Bm25(CHUNKS)
    assert index.scores(["kingsoft"])[3] > index.scores(["xiaomi"])[3]
    xiaomi = index.scores(["xiaomi"])
    assert xiaomi[1] > xiaomi[0] > 0 and xiaomi[2] == 0


def test_unknown_and_no_terms_score_zero_and_a_repeated_term_counts_again():
    index = Bm25(CHUNKS)
    assert not index.scores(["samsung"]).any() and not index.scores([]).any()
    np.testing.assert_allclose(index.scores(["phone", "phone"]), 2 * index.scores(["phone"]))
    assert index.scores(["phone"]).dtype == np.float32 and len(index.scores(["phone"])) == len(CHUNKS)


def test_an_empty_corpus_scores_nothing():
    assert Bm25([]).scores(["xiaomi"]).shape == (0,)


def test_a_grown_index_answers_as_one_built_from_scratch():
    """`grown` renumbers an old index after rows were dropped and new ones inserted anywhere (kept rows in
    order, as a snapshot reload after ingest makes them): every term's rows and counts, and the BM25 scores,
    equal a full build of the new table."""
    rng = random.Random(5)
    words = [f"w{i}" for i in range(40)]
    for _ in range(200):
        old = [[rng.choice(words) for _ in range(rng.randint(0, 7))] for _ in range(rng.randint(0, 25))]
        table: list[list[str]] = []
        moved = np.full(len(old), -1, dtype=np.int64)
        fresh, fresh_rows = [], []
        for i, tokens in enumerate(old + [None]):
            while rng.random() < 0.25:
                new = [rng.choice(words + ["brand", "new"]) for _ in range(rng.randint(0, 6))]
                fresh_rows.append(len(table))
                fresh.append(new)
                table.append(new)
            if tokens is not None and rng.random() < 0.8:
                moved[i] = len(table)
                table.append(tokens)
        rows = np.array(fresh_rows, dtype=np.int64)
        full, incremental = inverted(table), grown(inverted(old), moved, fresh, rows, len(table))
        for term in set(full.vocabulary) | set(incremental.vocabulary):
            np.testing.assert_array_equal(full.row_of(term), incremental.row_of(term))
            np.testing.assert_array_equal(_counts(full, term), _counts(incremental, term))
        if table:
            scorer = Bm25(old).grown(moved, fresh, rows, len(table))
            for query in (["w1"], ["w2", "w3", "w2"], ["brand"], ["absent"], words[:8]):
                np.testing.assert_array_equal(Bm25(table).scores(query), scorer.scores(query))


def _counts(index, term):
    t = index.vocabulary.get(term)
    return index.counts[index.starts[t] : index.starts[t + 1]] if t is not None else index.counts[:0]
