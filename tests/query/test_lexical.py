"""BM25 in numpy arrays: Lucene's idf and length normalisation, on a corpus small enough to check by hand."""

import math

import numpy as np
import pytest

from qa.query.lexical import Bm25

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
