"""A real `qa ingest` process killed with SIGKILL mid-way: queries see only whole documents, and
the next ingest repairs the index with no duplicates."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import qa
from qa.query import corpus_load
from qa.query.corpus import Corpus

FILES = 14
SENTENCES = 30
COLOURS = ["red", "green", "blue", "amber", "violet", "grey", "white", "black", "teal", "olive"]


@pytest.fixture
def many(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for k in range(FILES):
        lines = [
            f"Station {k} log entry {j}: the {COLOURS[(k + j) % 10]} gauge read {k * 1000 + j} units."
            for j in range(SENTENCES)
        ]
        (folder / f"station-{k:02d}.txt").write_text(" ".join(lines) + "\n", encoding="utf-8")
    return folder


def _ingest_until_killed(index, folder, committed_before_kill: int) -> None:
    """Run `qa -v ingest` and SIGKILL it once it has committed some documents, not all."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa.apps.cli", "-v", "--index-dir", str(index), "ingest", str(folder)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + 120
    seen = 0
    try:
        for line in proc.stderr:
            seen += "qa.index.ingestion: indexed" in line
            if seen >= committed_before_kill or time.monotonic() > deadline:
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert seen >= committed_before_kill, "the ingest finished or stalled before it could be killed"


def _raw_counts(svc):
    return {kind: svc._store._cols[kind].count() for kind in ("chunks", "sentences")}


@pytest.mark.slow
@pytest.mark.parametrize("stacked", [False, True], ids=["merged", "stacked"])
def test_kill_9_mid_ingest_is_invisible_and_repaired(tmp_path, many, monkeypatch, stacked):
    """`stacked`: the documents the repairing ingest adds are stacked on the snapshot of those committed
    before the kill (`stacked.py`), as on a large corpus, instead of merged into it."""
    if stacked:
        monkeypatch.setattr(corpus_load, "STACK_FROM", 0)
        monkeypatch.setattr(corpus_load, "MERGE_AT", 1)
    index = tmp_path / "index"
    _ingest_until_killed(index, many, committed_before_kill=7 if stacked else 3)

    svc = qa.load(index_dir=index, documents=[many], auto_ingest=False)
    committed = {d.source: d for d in svc.documents()}
    assert 3 <= len(committed) < FILES
    corpus = Corpus.load(svc._store)
    for source, record in committed.items():
        assert sum(p.chunk.source == source for p in corpus.chunks) == record.chunks
        assert sum(s.source == source for s in corpus.sentences) == record.sentences
    reply = svc.ask(f"What did the gauge read at station {FILES - 1} log entry 5?")
    assert all(p.source in committed for p in reply.passages + reply.citations)

    report = svc.ingest()
    assert sorted(report.unchanged) == sorted(committed)
    assert len(report.added) == FILES - len(committed) and not report.errors
    records = svc.documents()
    assert len(records) == FILES
    assert _raw_counts(svc) == {
        "chunks": sum(d.chunks for d in records),
        "sentences": sum(d.sentences for d in records),
    }
    assert (
        f"{(FILES - 1) * 1000 + 5} units"
        in svc.ask(f"What did the gauge read at station {FILES - 1} log entry 5?").answer
    )
    assert (svc.corpus().added is not None) == stacked

    # The snapshot file the first answer wrote held the documents committed before the kill; the next
    # process maps the one written after the repair, and it holds exactly what is committed now.
    svc._cache.wait()
    again = qa.load(index_dir=index, documents=[many], auto_ingest=False)
    mapped, plain = again.corpus(), Corpus.load(again._store)
    assert isinstance(mapped.columns.sentence_texts.data, np.memmap), "the next process mapped the file"
    assert (mapped.added is not None) == stacked, "stacked on the file written before the repair"
    assert sorted(mapped.sources) == sorted(plain.sources) and len(mapped.sources) == FILES
    assert sorted(mapped.sentences, key=lambda s: s.id) == sorted(plain.sentences, key=lambda s: s.id)
    scores = [
        {c.chunk.id: float(x) for c, x in zip(corpus.chunks, corpus.bm25_scores(["gauge", "amber"]))}
        for corpus in (mapped, plain)
    ]
    assert scores[0] == scores[1]
    if not stacked:  # one column set, written after the repair: the same rows in the same order
        assert mapped.sources == plain.sources and list(mapped.sentences) == list(plain.sentences)
        np.testing.assert_array_equal(mapped.bm25_scores(["gauge", "amber"]), plain.bm25_scores(["gauge", "amber"]))
