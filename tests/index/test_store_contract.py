"""The store contract: one suite every store must pass, run against the embedded Chroma folder and a real
Chroma server (as haystack runs one DocumentStore suite over every store).

Vectors come from a small deterministic stand-in (a hash of the words), so the suite checks the store,
not the embedding model.
"""

import dataclasses
import hashlib
import time
import uuid

import numpy as np
import pytest
from crashing import killed_at_commit

from qa.index import chroma_store
from qa.index.chroma_client import open_http_client, open_persistent_client
from qa.index.chroma_store import ChromaStore
from qa.index.chunking import Chunker
from qa.index.documents import Document
from qa.index.ingestion import chunk_vectors
from qa.index.store import EmbeddedDocument, Store

DIM = 16


def _vector(text: str) -> np.ndarray:
    vector = np.zeros(DIM, dtype=np.float32)
    for word in text.lower().split():
        vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % DIM] += 1.0
    return vector / (np.linalg.norm(vector) or 1.0)


def _document(source: str, text: str) -> Document:
    return Document(source, text, text.split(".")[0], "", hashlib.sha256(text.encode()).hexdigest())


def _write(store: Store, doc: Document) -> None:
    chunker = Chunker(64, 8)
    chunks, sentences = chunker.chunks(doc), chunker.sentences(doc)
    vectors = np.vstack([_vector(s.text) for s in sentences])
    store.write(EmbeddedDocument(doc, chunks, chunk_vectors(chunks, sentences, vectors), sentences, vectors))


@pytest.fixture(params=["embedded", "server"])
def store(request, tmp_path):
    if request.param == "embedded":
        client = open_persistent_client(tmp_path / "index")
    else:
        client = open_http_client(request.getfixturevalue("chroma_url"))
    return ChromaStore(client, f"contract{uuid.uuid4().hex[:8]}", "stand-in-embedder", DIM)


GARDEN = _document("docs/garden.txt", "The greenhouse grows saffron crocuses. The shed holds twelve rakes.\n")
TOWER = _document("docs/tower.txt", "The observatory telescope was built in 1911. The dome turns on rails.\n")


def test_an_empty_store_holds_nothing(store):
    assert store.documents() == {}
    assert store.document_text("docs/garden.txt") is None
    assert store.nearest_sentences(_vector("saffron"), 0) == []
    assert store.remove("docs/garden.txt") is False


def test_written_documents_are_committed_with_their_text_and_records(store):
    _write(store, GARDEN)
    _write(store, TOWER)
    records = store.documents()
    assert set(records) == {GARDEN.source, TOWER.source}
    assert records[GARDEN.source].content_hash == GARDEN.content_hash and records[GARDEN.source].sentences == 2
    assert store.document_text(TOWER.source) == TOWER.text
    sentences = store.records("sentences", {GARDEN.content_hash}, vectors=True)
    assert sorted(sentences["texts"]) == ["The greenhouse grows saffron crocuses.", "The shed holds twelve rakes."]
    assert sentences["vectors"].shape == (2, DIM)
    for text, meta in zip(sentences["texts"], sentences["metadatas"]):
        assert GARDEN.text[meta["start"] : meta["end"]] == text


def test_nearest_sentences_rank_by_cosine_and_respect_a_source_filter(store):
    _write(store, GARDEN)
    _write(store, TOWER)
    [(best, similarity)] = store.nearest_sentences(_vector("The greenhouse grows saffron crocuses."), 1)
    assert similarity == pytest.approx(1.0, abs=1e-5)
    ids = store.records("sentences", {GARDEN.content_hash})["ids"]
    assert best in ids
    only_tower = store.nearest_sentences(_vector("greenhouse saffron"), 2, sources={TOWER.source})
    tower_ids = set(store.records("sentences", {TOWER.content_hash})["ids"])
    assert len(only_tower) == 2 and {i for i, _ in only_tower} <= tower_ids


def test_a_new_version_replaces_the_old_and_remove_forgets_it(store):
    _write(store, GARDEN)
    changed = _document(GARDEN.source, "The greenhouse now grows tulips. The shed is empty.\n")
    _write(store, changed)
    assert store.documents()[GARDEN.source].content_hash == changed.content_hash
    assert store.records("sentences", {GARDEN.content_hash})["ids"] == []
    assert store.repair() == 0
    assert store.remove(GARDEN.source) is True
    assert store.documents() == {} and store.records("sentences", {changed.content_hash})["ids"] == []


def test_siblings_are_separate_and_delete_removes_them(store):
    other = store.sibling(f"contract{uuid.uuid4().hex[:8]}")
    _write(other, TOWER)
    assert store.documents() == {} and set(other.documents()) == {TOWER.source}
    other.delete()
    assert store.sibling(other._name).documents() == {}


def test_reads_and_repairs_that_take_several_calls_see_every_record(store, monkeypatch):
    """Chroma refuses a call over 32,766 records, so the store reads and deletes in pages; shrunk to 3 here."""
    monkeypatch.setattr(chroma_store, "_RECORDS_PER_CALL", 3)
    long = _document("docs/long.txt", " ".join(f"Line {n} of the long file is here." for n in range(8)) + "\n")
    _write(store, long)
    assert len(store.records("sentences", {long.content_hash})["ids"]) == 8
    crashed = _document("docs/crashed.txt", " ".join(f"Entry {n} never got committed." for n in range(7)) + "\n")
    chunker = Chunker(64, 8)
    left_behind = len(chunker.chunks(crashed)) + len(chunker.sentences(crashed))
    with killed_at_commit(store, monkeypatch):
        _write(store, crashed)
    assert set(store.documents()) == {long.source}
    assert store.repair() == left_behind == 7 + len(chunker.chunks(crashed))
    assert store.repair() == 0 and len(store.records("sentences", {long.content_hash})["ids"]) == 8


def test_a_removal_killed_before_its_records_are_gone_is_repaired(store, monkeypatch):
    _write(store, GARDEN)
    _write(store, TOWER)

    def killed(*args: object, **kwargs: object) -> int:
        raise RuntimeError("killed after the uncommit")

    monkeypatch.setattr(store, "_delete_stale", killed)
    with pytest.raises(RuntimeError):
        store.remove(GARDEN.source)
    monkeypatch.undo()
    assert set(store.documents()) == {TOWER.source}
    chunker = Chunker(64, 8)
    assert store.repair() == len(chunker.chunks(GARDEN)) + len(chunker.sentences(GARDEN))
    assert store.records("sentences", {GARDEN.content_hash})["ids"] == [] and store.repair() == 0
    assert len(store.records("sentences", {TOWER.content_hash})["ids"]) == 2


@pytest.mark.parametrize("per_query", [5_000, 1])
def test_documents_since_an_earlier_read_equal_a_full_read(store, monkeypatch, per_query):
    """Added, replaced, removed and rewritten (same text, a new version) documents, with the known ingest
    times named in one query or one a query (the stretches between them must still cover every time)."""
    monkeypatch.setattr(chroma_store, "_TIMES_PER_QUERY", per_query)
    cellar = _document("docs/cellar.txt", "The cellar keeps forty barrels of cider. Its door sticks in winter.\n")
    mill = _document("docs/mill.txt", "The mill grinds rye on Tuesdays. Its wheel is oak.\n")
    for doc in (GARDEN, TOWER, cellar):
        _write(store, doc)
    known = store.documents()
    ghost = dataclasses.replace(known["docs/garden.txt"], source="docs/ghost.txt", ingested_at=time.time() + 1e6)
    known["docs/ghost.txt"] = ghost  # a known time after every new one: they fall between known times
    _write(store, mill)
    _write(store, _document("docs/tower.txt", "The observatory telescope was rebuilt in 1950. The dome is new.\n"))
    _write(store, cellar)
    store.remove("docs/garden.txt")
    since = store.documents_since(known)
    assert since == store.documents()
    assert set(since) == {"docs/tower.txt", "docs/cellar.txt", "docs/mill.txt"}
    assert since["docs/cellar.txt"].ingested_at > known["docs/cellar.txt"].ingested_at
    assert store.documents_since({}) == store.documents()
    del known["docs/ghost.txt"]
    assert store.documents_since(known) == store.documents()


def test_documents_since_reads_back_only_the_records_of_new_versions(store, monkeypatch):
    for doc in (GARDEN, TOWER):
        _write(store, doc)
    known = store.documents()
    _write(store, _document("docs/mill.txt", "The mill grinds rye on Tuesdays. Its wheel is oak.\n"))
    read: list[str] = []
    records = chroma_store._document_record
    monkeypatch.setattr(chroma_store, "_document_record", lambda meta: read.append(meta["source"]) or records(meta))
    assert set(store.documents_since(known)) == {"docs/garden.txt", "docs/tower.txt", "docs/mill.txt"}
    assert read == ["docs/mill.txt"]


def test_the_generation_is_settled_only_with_no_write_under_way(store, monkeypatch):
    _write(store, GARDEN)
    assert store.settled_generation() == store.generation() != ""

    def died(*args, **kwargs):
        raise RuntimeError("the process died here")

    monkeypatch.setattr(store, "_changed", died)
    with pytest.raises(RuntimeError):
        _write(store, TOWER)
    monkeypatch.undo()
    assert store.settled_generation() == ""
    before = store.generation()
    store.repair()
    assert store.settled_generation() == store.generation() not in ("", before)


def test_remove_reads_only_the_document_it_removes(store, monkeypatch):
    _write(store, GARDEN)
    _write(store, TOWER)
    monkeypatch.setattr(store, "documents", lambda: pytest.fail("every document record was read"))
    assert store.remove("docs/garden.txt") is True
    assert store.remove("docs/nowhere.txt") is False
    monkeypatch.undo()
    assert set(store.documents()) == {"docs/tower.txt"}


def test_write_returns_the_committed_record_and_documents_of_reads_only_those_named(store, monkeypatch):
    # an ingest time embedded Chroma gives back changed in its last digit (1796375780.7794125)
    monkeypatch.setattr(chroma_store, "_ingest_time", lambda: 1796375780.7794123)
    chunker = Chunker(64, 8)
    chunks, sentences = chunker.chunks(GARDEN), chunker.sentences(GARDEN)
    vectors = np.vstack([_vector(s.text) for s in sentences])
    record = store.write(
        EmbeddedDocument(GARDEN, chunks, chunk_vectors(chunks, sentences, vectors), sentences, vectors)
    )
    _write(store, TOWER)
    monkeypatch.undo()
    assert record == store.documents()[GARDEN.source], "the record as every reader gets it"
    assert store.documents_of([GARDEN.source, "docs/never.txt"]) == {GARDEN.source: record}
    assert store.documents_of([]) == {}
    monkeypatch.setattr(chroma_store, "_RECORDS_PER_CALL", 1)
    assert store.documents_of([TOWER.source, GARDEN.source]) == store.documents()


def test_a_first_write_after_a_crashed_one_of_the_same_file_leaves_no_records_behind(store, monkeypatch):
    """A first version skips the search for older records, unless a crashed write of the file left some."""
    crashed = _document(GARDEN.source, "The greenhouse was half built. Nobody finished the roof.\n")
    with killed_at_commit(store, monkeypatch):
        _write(store, crashed)
    assert store.documents() == {} and store.records("sentences", {crashed.content_hash})["ids"] != []
    _write(store, GARDEN)
    assert store.records("sentences", {crashed.content_hash})["ids"] == []
    assert store.records("chunks", {crashed.content_hash})["ids"] == []
    assert store.repair() == 0 and len(store.records("sentences", {GARDEN.content_hash})["ids"]) == 2


def test_only_a_document_with_an_older_version_searches_for_its_records(store, monkeypatch):
    searched = []
    delete_stale = store._delete_stale
    monkeypatch.setattr(
        store, "_delete_stale", lambda source, keep_hash: searched.append(source) or delete_stale(source, keep_hash)
    )
    _write(store, GARDEN)
    _write(store, TOWER)
    assert searched == []
    _write(store, _document(GARDEN.source, "The greenhouse now grows tulips. The shed is empty.\n"))
    assert searched == [GARDEN.source] and store.records("sentences", {GARDEN.content_hash})["ids"] == []
