"""Sentence vectors kept in blocks: any gather equals the same rows of the stacked matrix, and joining or
selecting rows copies no block."""

import numpy as np
import pytest

from qa.query.vectors import FileRows, SentenceVectors

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


def test_rows_read_from_a_file_equal_the_matrix_rows(tmp_path):
    """Vectors read with pread (scattered, repeated, unsorted rows; runs and gaps) equal the matrix's rows."""
    matrix = RNG.standard_normal((300, 4)).astype(np.float32)
    path = tmp_path / "vectors.bin"
    path.write_bytes(b"header.." + matrix.astype("<f4").tobytes())
    rows = FileRows(path, offset=8, rows=300, dim=4)
    picks = [299, 0, 5, 5, 6, 7, 40, 41, 120, 3, 299]
    np.testing.assert_array_equal(rows[picks], matrix[picks])
    np.testing.assert_array_equal(rows[np.arange(300)], matrix)
    assert rows[[]].shape == (0, 4)
    vectors = SentenceVectors.joined([SentenceVectors.of(rows), A], [300, 2, 301, 1])  # file rows beside memory
    np.testing.assert_array_equal(np.asarray(vectors), np.vstack([matrix, A])[[300, 2, 301, 1]])


def test_reading_past_the_file_or_the_table_is_refused(tmp_path):
    matrix = RNG.standard_normal((10, 4)).astype(np.float32)
    path = tmp_path / "vectors.bin"
    path.write_bytes(matrix.tobytes())
    with pytest.raises(IndexError):
        FileRows(path, offset=0, rows=10, dim=4)[[10]]
    with pytest.raises(IndexError):
        FileRows(path, offset=0, rows=10, dim=4)[[-1]]
    with pytest.raises(OSError, match="ended"):
        FileRows(path, offset=0, rows=12, dim=4)[[11]]  # the file holds 10 rows, not the 12 it claims


def test_a_file_renamed_over_keeps_serving_the_rows_it_was_opened_on(tmp_path):
    path = tmp_path / "vectors.bin"
    path.write_bytes(A.tobytes())
    rows = FileRows(path, offset=0, rows=3, dim=4)
    newer = tmp_path / "newer.bin"
    newer.write_bytes((A + 1).tobytes())
    newer.replace(path)
    np.testing.assert_array_equal(rows[[0, 1, 2]], A)
