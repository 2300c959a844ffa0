"""Repair leaves alone the writes that may still be in progress: another thread of this process, another
live process on this machine, or another machine within the grace period. Only a crashed writer's leftovers
go."""

import os
import threading
import time

import pytest
from crashing import killed_at_commit
from test_store_contract import GARDEN, TOWER, _write

from qa.index import writing
from qa.index.chroma_client import open_persistent_client
from qa.index.chroma_store import ChromaStore
from qa.index.chunking import Chunker

LEFT_BEHIND = len(Chunker(64, 8).chunks(TOWER)) + len(Chunker(64, 8).sentences(TOWER))


@pytest.fixture
def store(tmp_path):
    store = ChromaStore(open_persistent_client(tmp_path / "index"), "writing", "stand-in-embedder", 16)
    _write(store, GARDEN)
    return store


def _crash_before_commit(store, monkeypatch, document=TOWER) -> str:
    """Write `document` up to its commit, then fail as a killed writer would; its marker's id."""
    with killed_at_commit(store, monkeypatch):
        _write(store, document)
    [marker] = [i for i in store._cols["state"].get()["ids"] if i.startswith("writing:")]
    return marker


def _rewrite(store, marker: str, **changes) -> None:
    meta = store._cols["state"].get(ids=[marker], include=["metadatas"])["metadatas"][0]
    store._cols["state"].update(ids=[marker], metadatas=[{**meta, **changes}])


def test_a_write_another_thread_has_in_progress_is_left_alone(store, monkeypatch):
    reached_commit, go_on = threading.Event(), threading.Event()
    upsert = store._upsert

    def slow_commit(kind, *args):
        if kind == "documents":
            reached_commit.set()
            go_on.wait(30)
        upsert(kind, *args)

    monkeypatch.setattr(store, "_upsert", slow_commit)
    writer = threading.Thread(target=_write, args=(store, TOWER))
    writer.start()
    assert reached_commit.wait(30)
    assert store.repair() == 0, "the write is in progress, not crashed"
    go_on.set()
    writer.join(30)
    assert set(store.documents()) == {GARDEN.source, TOWER.source}
    assert len(store.records("sentences", {TOWER.content_hash})["ids"]) == 2


def test_a_crashed_write_of_this_process_is_repaired(store, monkeypatch):
    _crash_before_commit(store, monkeypatch)
    assert store.repair() == LEFT_BEHIND and store.repair() == 0


def test_a_live_process_on_this_machine_keeps_its_write(store, monkeypatch):
    marker = _crash_before_commit(store, monkeypatch)
    _rewrite(store, marker, pid=os.getppid())  # pytest's parent is alive
    assert store.repair() == 0
    _rewrite(store, marker, pid=2**22 + 12345)  # above Linux's pid_max: no such process
    assert store.repair() == LEFT_BEHIND


def test_another_machine_keeps_its_write_for_the_grace_period(store, monkeypatch):
    marker = _crash_before_commit(store, monkeypatch)
    _rewrite(store, marker, host="another-machine", started=time.time())
    assert store.repair() == 0
    _rewrite(store, marker, started=time.time() - writing.GRACE - 1)
    assert store.repair() == LEFT_BEHIND


def test_a_marker_without_a_writer_process_is_taken_for_a_crash():
    this_machine = writing.marker("docs/a.txt", "h")
    for pid in (None, 0, -1):
        meta = {k: v for k, v in this_machine.items() if k != "pid"} | ({} if pid is None else {"pid": pid})
        assert writing.may_be_active("writing:h:x", meta) is False
