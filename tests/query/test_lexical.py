"""BM25 in numpy arrays: Lucene's idf and length normalisation, on a corpus small enough to check by hand;
the sorted vocabulary, and indexes merged from parts that answer as one built whole."""

import math
import random

import numpy as np
import pytest

from qa.query.lexical import WordBm25, inserted, inverted, merged, merged_vocabulary
from qa.query.packed import Packed, Ragged

CHUNKS = [["lei", "jun", "xiaomi"], ["xiaomi"], [], ["kingsoft", "xiaomi", "xiaomi", "phone", "phone", "phone"]]


def test_a_score_is_lucene_idf_times_the_saturated_length_normalised_term_frequency():
    index = WordBm25(CHUNKS)
    average = (3 + 1 + 1 + 6) / 4  # an empty chunk counts as one token
    idf = math.log(1 + (4 - 1 + 0.5) / (1 + 0.5))  # "lei" is in one chunk of four
    expected = idf * 1 / (1.5 * (0.25 + 0.75 * 3 / average) + 1)
    assert index.scores(["lei"])[0] == pytest.approx(expected, rel=1e-6)
    assert index.scores(["lei"]).tolist()[1:] == [0.0, 0.0, 0.0]


def test_rarer_terms_weigh_more_and_shorter_chunks_win_at_the_same_count():
    index = WordBm25(CHUNKS)
    assert index.scores(["kingsoft"])[3] > index.scores(["xiaomi"])[3]
    xiaomi = index.scores(["xiaomi"])
    assert xiaomi[1] > xiaomi[0] > 0 and xiaomi[2] == 0


def test_unknown_and_no_terms_score_zero_and_a_repeated_term_counts_again():
    index = WordBm25(CHUNKS)
    assert not index.scores(["samsung"]).any() and not index.scores([]).any()
    np.testing.assert_allclose(index.scores(["phone", "phone"]), 2 * index.scores(["phone"]))
    assert index.scores(["phone"]).dtype == np.float32 and len(index.scores(["phone"])) == len(CHUNKS)


def test_an_empty_corpus_scores_nothing():
    assert WordBm25([]).scores(["xiaomi"]).shape == (0,)


@pytest.mark.parametrize("keep", [0.8, 1.0], ids=["rows-left-out", "only-added"])
def test_a_merged_index_answers_as_one_built_from_scratch(keep):
    """`merged` joins the indexes of two tables whose rows are interleaved into a new one (some rows left
    out, each part's kept rows in order, as a snapshot reload after ingest makes them), with their own
    vocabularies merged: every term's rows and counts equal a build of the new table from its words, both when
    rows are left out of the largest part and when every old row is kept (documents only added)."""
    rng = random.Random(5)
    words = [f"w{i}" for i in range(40)]
    for _ in range(200):
        old = [[rng.choice(words) for _ in range(rng.randint(0, 7))] for _ in range(rng.randint(0, 25))]
        new = [
            [rng.choice(words + ["brand", "new"]) for _ in range(rng.randint(0, 6))] for _ in range(rng.randint(0, 9))
        ]
        table: list[list[str]] = []
        maps = [np.full(len(old), -1, dtype=np.int64), np.full(len(new), -1, dtype=np.int64)]
        queue = [(0, i) for i in range(len(old))], [(1, i) for i in range(len(new))]
        while queue[0] or queue[1]:
            part, row = queue[rng.choice([k for k in (0, 1) if queue[k]])].pop(0)
            if part == 1 or rng.random() < keep:
                maps[part][row] = len(table)
                table.append((old if part == 0 else new)[row])
        parts = []
        vocabularies = []
        for rows in (old, new):
            vocabulary = sorted({w for ws in rows for w in ws})
            number = {w: n for n, w in enumerate(vocabulary)}
            vocabularies.append(Packed.of(vocabulary))
            parts.append(inverted(Ragged.of([[number[w] for w in ws] for ws in rows]), len(vocabulary)))
        union, term_maps = merged_vocabulary(vocabularies[0], [vocabularies[1]])
        assert list(union) == sorted(set(vocabularies[0]) | set(vocabularies[1]))
        together = merged([(parts[k], term_maps[k], maps[k]) for k in (0, 1)], len(union), len(table))
        number = {w: n for n, w in enumerate(union)}
        whole = inverted(Ragged.of([[number[w] for w in ws] for ws in table]), len(union))
        for name in ("starts", "rows", "counts"):
            np.testing.assert_array_equal(getattr(together, name), getattr(whole, name))


@pytest.mark.parametrize("size,count", [(0, 0), (0, 3), (5, 0), (40, 7), (1000, 300)])
def test_inserting_equals_numpy_insert(size, count):
    rng = np.random.default_rng(size + count)
    array = rng.integers(0, 100, size).astype(np.int32)
    at = np.sort(rng.integers(0, size + 1, count))
    values = rng.integers(-50, 0, count)
    got = inserted(array, at, values)
    assert got.dtype == array.dtype
    np.testing.assert_array_equal(got, np.insert(array, at, values))
