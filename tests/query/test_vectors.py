"""Sentence vectors kept in blocks: any gather equals the same rows of the stacked matrix, and joining or
selecting rows copies no block."""

import numpy as np

from qa.query.vectors import SentenceVectors

RNG = np.random.default_rng(7)
A, B, C = (RNG.standard_normal((n, 4)).astype(np.float32) for n in (3, 5, 2))


def test_joined_parts_in_any_order_gather_like_the_stacked_matrix():
    order = [9, 0, 4, 3, 8, 1, 7, 2, 6, 5]
    vectors = SentenceVectors.joined([A, B, C], order)
    stacked = np.vstack([A, B, C])[order]
    assert vectors.shape == (10, 4) and len(vectors) == 10
    np.testing.assert_array_equal(np.asarray(vectors), stacked)
    np.testing.assert_array_equal(vectors[[7, 0, 7]], stacked[[7, 0, 7]])
    assert vectors[[]].shape == (0, 4)


def test_a_reload_reuses_the_old_blocks_and_adds_the_new_one():
    old = SentenceVectors.joined([A, B], range(8))
    kept = old.select([0, 1, 2, 6, 7])  # a document of B's rows 0-2 was removed
    new = SentenceVectors.joined([kept, C], [0, 1, 5, 2, 6, 3, 4])
    expected = np.vstack([A, B[3:], C])[[0, 1, 5, 2, 6, 3, 4]]
    np.testing.assert_array_equal(np.asarray(new), expected)
    assert new._blocks[0] is A and new._blocks[1] is B and new._blocks[2] is C, "no block was copied"


def test_one_matrix_and_an_empty_table():
    np.testing.assert_array_equal(np.asarray(SentenceVectors.of(A)), A)
    empty = SentenceVectors.joined([], [])
    assert empty.shape == (0, 0) and len(empty) == 0
