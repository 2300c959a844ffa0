"""A lone query borrows the idle engines' threads, only when no other thread wants a core; the engine's OpenMP
environment is set for its loading only, and what the user set is kept."""

import os

import numpy as np
import pytest

from qa.index import embedding
from qa.index.embedding import E5Embedder
from qa.index.openmp import SPIN_TURNS, idle_cores, openmp_environment, usable_cores


class RecordingLimits:
    """The real thread-count limiter, recording the counts it was asked for."""

    def __init__(self, real):
        self.real = real
        self.limits: list[int] = []

    def limit(self, limits):
        self.limits.append(limits)
        return self.real.limit(limits=limits)


@pytest.fixture(scope="module")
def embedder():
    return E5Embedder(threads=2)


def test_a_lone_query_takes_the_idle_engines_thread_and_gets_the_same_vector(embedder, monkeypatch):
    recording = RecordingLimits(embedder._openmp)
    monkeypatch.setattr(embedder, "_openmp", recording)
    monkeypatch.setattr(embedder, "_borrow", True)
    question = ["Who bought Joyo.com?", "And when?"]
    monkeypatch.setattr(embedding, "idle_cores", lambda: 0)
    busy_machine = embedder.embed_queries(question)
    monkeypatch.setattr(embedding, "idle_cores", lambda: 1)
    idle_machine = embedder.embed_queries(question)
    other_batch = embedder._engines.get()  # another question's batch holds the second engine
    try:
        shared = embedder.embed_queries(question)
    finally:
        embedder._engines.put(other_batch)
    assert recording.limits == [1, 2, 1]
    assert np.array_equal(busy_machine, idle_machine) and np.array_equal(idle_machine, shared)
    assert embedder._engines.qsize() == 2, "every engine is back for the next batch"


def test_threads_that_wait_passively_are_never_borrowed(embedder, monkeypatch):
    recording = RecordingLimits(embedder._openmp)
    monkeypatch.setattr(embedder, "_openmp", recording)
    monkeypatch.setattr(embedder, "_borrow", False)
    monkeypatch.setattr(embedding, "idle_cores", lambda: 1)
    embedder.embed_queries(["Who bought Joyo.com?"])
    assert recording.limits == [1]


def test_the_environment_is_set_while_the_engine_loads_and_restored_after(monkeypatch):
    for name in ("OMP_NUM_THREADS", "GOMP_SPINCOUNT", "OMP_WAIT_POLICY"):
        monkeypatch.delenv(name, raising=False)
    with openmp_environment(2) as spinning:
        assert os.environ["OMP_NUM_THREADS"] == "2" and os.environ["GOMP_SPINCOUNT"] == str(SPIN_TURNS)
        assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
    assert spinning
    assert not {"OMP_NUM_THREADS", "GOMP_SPINCOUNT", "OMP_WAIT_POLICY"} & set(os.environ)


def test_what_the_user_set_is_kept(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("OMP_WAIT_POLICY", "passive")
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    with openmp_environment(2) as spinning:
        assert os.environ["OMP_NUM_THREADS"] == "1" and "GOMP_SPINCOUNT" not in os.environ
    assert not spinning
    assert os.environ["OMP_NUM_THREADS"] == "1" and os.environ["OMP_WAIT_POLICY"] == "passive"
    monkeypatch.delenv("OMP_WAIT_POLICY")
    monkeypatch.setenv("GOMP_SPINCOUNT", "0")
    with openmp_environment(2) as spinning:
        assert "OMP_WAIT_POLICY" not in os.environ
    assert not spinning


def test_idle_cores_counts_the_runnable_threads_besides_the_caller(tmp_path):
    cores = usable_cores()
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("0.52 0.61 0.70 1/96 4242\n")
    assert idle_cores(loadavg) == cores - 1
    loadavg.write_text(f"1.90 1.20 0.90 {cores + 3}/96 4242\n")
    assert idle_cores(loadavg) == 0
    loadavg.write_text("not a load average")
    assert idle_cores(loadavg) == 0
    assert idle_cores(tmp_path / "missing") == 0


def test_a_containers_cpu_quota_caps_the_usable_cores(tmp_path):
    cores = len(os.sched_getaffinity(0))
    v2, v1 = tmp_path / "v2", tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    v2.mkdir()
    (v2 / "cpu.max").write_text("150000 100000\n")
    assert usable_cores(v2) == 1, "one and a half CPUs: one whole one"
    (v2 / "cpu.max").write_text("max 100000\n")
    assert usable_cores.__wrapped__(v2) == cores
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert usable_cores(v1) == 1
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert usable_cores.__wrapped__(v1) == cores
    assert usable_cores(tmp_path / "no-cgroup") == cores
