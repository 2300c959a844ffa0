"""`ranks` and `best_first` give exactly what a full stable descending sort gives."""

import numpy as np
import pytest

from qa.query.ordering import best_first, ranks


def _reference_ranks(scores: np.ndarray) -> np.ndarray:
    out = np.empty(len(scores))
    out[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
    return out


def _reference_best(scores: np.ndarray, n: int, allowed: np.ndarray | None) -> np.ndarray:
    order = np.argsort(-scores, kind="stable")
    if allowed is not None:
        order = order[allowed[order]]
    return order[:n]


def _signals(rng: np.random.Generator, size: int) -> list[np.ndarray]:
    """Scores shaped like a question's: most items at the lowest value, some tied above it, a NaN case."""
    floor = np.full(size, 0.7)
    floor[rng.choice(size, size // 10, replace=False)] = rng.choice([0.75, 0.8, 0.8, 0.9], size // 10)
    lexical = np.where(rng.random(size) < 0.2, rng.integers(0, 5, size).astype(float), 0.0)
    spread = rng.normal(size=size)
    with_nan = spread.copy()
    with_nan[3] = np.nan
    return [floor, lexical, spread, with_nan, np.zeros(size), np.round(spread, 1)]


@pytest.mark.parametrize("size", [0, 1, 2, 7, 500])
def test_ranks_equal_a_full_stable_sort(size):
    rng = np.random.default_rng(size)
    for scores in _signals(rng, size) if size > 3 else [rng.normal(size=size), np.zeros(size)]:
        assert np.array_equal(ranks(scores), _reference_ranks(scores))


@pytest.mark.parametrize("size", [1, 2, 7, 500])
def test_best_first_equals_the_head_of_a_full_stable_sort(size):
    rng = np.random.default_rng(100 + size)
    signals = _signals(rng, size) if size > 3 else [rng.normal(size=size), np.zeros(size)]
    for scores in signals:
        for allowed in (None, rng.random(size) < 0.5, np.zeros(size, dtype=bool)):
            for n in (0, 1, 3, size // 2, size, size + 5):
                got = best_first(scores, n, allowed)
                assert np.array_equal(got, _reference_best(scores, n, allowed)), (n, allowed)
