"""Concurrent queries share engine calls, and each caller gets exactly its own vectors back."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from qa.index.batching import QueryBatcher


class SlowEngine:
    """A stand-in engine that records its batches; each text's vector encodes the text's number."""

    def __init__(self, fail_on: str | None = None):
        self.batches: list[list[str]] = []
        self.running = 0
        self.overlap = False
        self.fail_on = fail_on
        self._lock = threading.Lock()

    def __call__(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            self.running += 1
            self.overlap |= self.running > 1
        threading.Event().wait(0.02)
        self.batches.append(texts)
        with self._lock:
            self.running -= 1
        if self.fail_on in texts:
            raise RuntimeError("engine failed")
        return np.array([[float(t.split()[-1]), 1.0] for t in texts], dtype=np.float32)


def test_a_lone_caller_runs_at_once_with_its_own_batch():
    engine = SlowEngine()
    vectors = QueryBatcher(engine)(["q 1", "q 2"])
    assert vectors.tolist() == [[1.0, 1.0], [2.0, 1.0]] and engine.batches == [["q 1", "q 2"]]


def test_concurrent_callers_are_batched_and_get_their_own_rows():
    engine = SlowEngine()
    batcher = QueryBatcher(engine, max_texts=8)
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda n: batcher([f"q {n}"]), range(200)))
    assert [r.tolist() for r in results] == [[[float(n), 1.0]] for n in range(200)]
    assert len(engine.batches) < 100, "waiting callers should share engine calls"
    assert max(len(b) for b in engine.batches) <= 8 and not engine.overlap


def test_a_failure_reaches_every_caller_of_its_batch_and_the_batcher_recovers():
    engine = SlowEngine(fail_on="q 3")
    batcher = QueryBatcher(engine)
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(batcher, [f"q {n}"]) for n in range(8)]
    failed = [f for f in futures if f.exception() is not None]
    assert failed and all(isinstance(f.exception(), RuntimeError) for f in failed)
    assert batcher(["q 9"]).tolist() == [[9.0, 1.0]]
    with pytest.raises(RuntimeError):
        batcher(["q 3"])


class CountingEngine(SlowEngine):
    """A SlowEngine that also records the most calls it ever ran at once."""

    def __init__(self) -> None:
        super().__init__()
        self.most = 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            self.most = max(self.most, self.running + 1)
        return super().__call__(texts)


def test_lanes_run_batches_side_by_side_but_never_more_than_the_lanes():
    engine = CountingEngine()
    batcher = QueryBatcher(engine, max_texts=4, lanes=2)
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda n: batcher([f"q {n}"]), range(200)))
    assert [r.tolist() for r in results] == [[[float(n), 1.0]] for n in range(200)]
    assert engine.most == 2, "two lanes should run two batches at once, and never three"
    assert max(len(b) for b in engine.batches) <= 4 and len(engine.batches) < 100


def test_a_batch_knows_whether_it_is_the_only_work():
    """A lone question's batch may borrow the other lanes' threads; one with others waiting or running may not."""
    seen: list[bool] = []
    started, release = threading.Event(), threading.Event()

    def engine(texts):
        seen.append(batcher.alone())
        if texts == ["first"]:
            started.set()
            release.wait(5)
        return np.zeros((len(texts), 2), dtype=np.float32)

    batcher = QueryBatcher(engine, lanes=2)
    batcher(["lone"])
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(batcher, ["first"])
        assert started.wait(5)
        second = pool.submit(batcher, ["second"])  # leads the second lane while the first runs
        second.result(5)
        release.set()
        first.result(5)
    assert seen == [True, True, False], "the first was alone when it began; the second began beside it"
