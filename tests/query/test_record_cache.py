"""The record cache: a load from it equals a load from the store, reads nothing of what it holds from the
store, follows every change of the committed documents, and never lets a bad file or folder change an answer."""

import os

import numpy as np
import pytest

import qa
from qa.query.corpus import Corpus
from qa.query.record_cache import CACHE_FOLDER, SUFFIX, RecordCache
from qa.query.snapshot_file import FILE_NAME

NOTES = {
    "garden.txt": "The greenhouse grows saffron crocuses. The shed holds twelve rakes.\n",
    "tower.txt": "The observatory telescope was built in 1911. The dome turns on rails.\n",
    "cellar.txt": "The cellar keeps forty barrels of cider. Its door sticks in winter.\n",
}


@pytest.fixture
def indexed(ingest_notes):
    docs, service = ingest_notes(NOTES)
    return docs, service


def _spy(monkeypatch, store) -> list[set[str]]:
    """The content hashes of every `records` call the store gets from now on."""
    read: list[set[str]] = []
    records = store.records
    monkeypatch.setattr(
        store, "records", lambda kind, hashes, vectors=False: read.append(set(hashes)) or records(kind, hashes, vectors)
    )
    return read


def _cache(service, folder) -> RecordCache:
    return RecordCache(folder, service.embedder.name, service.embedder.dim)


def _assert_same(a: Corpus, b: Corpus, vectors_within: float = 0.0) -> None:
    assert a.documents == b.documents
    assert [c.chunk for c in a.chunks] == [c.chunk for c in b.chunks]
    assert a.sentences == b.sentences
    assert a.sentence_term_list == b.sentence_term_list
    np.testing.assert_allclose(a.sentence_vectors, b.sentence_vectors, rtol=0, atol=vectors_within)
    for query in (["telescop"], ["saffron", "greenhous"], ["cider"]):
        np.testing.assert_array_equal(a.bm25_scores(query), b.bm25_scores(query))


def test_a_load_from_the_cache_equals_a_load_from_the_store_and_reads_none_of_it(indexed, tmp_path, monkeypatch):
    _, service = indexed
    store, cache = service.store, _cache(service, tmp_path / "cache")
    plain = Corpus.load(store)
    first = Corpus.load(store, cache=cache)
    assert len(list((tmp_path / "cache").glob(f"*{SUFFIX}"))) == 3, "one file per document"
    read = _spy(monkeypatch, store)
    second = Corpus.load(store, cache=cache)
    assert read == [], "every document came from the cache"
    _assert_same(first, plain)
    _assert_same(second, plain)


def test_changed_and_new_documents_are_read_and_removed_ones_pruned(indexed, tmp_path, monkeypatch):
    docs, service = indexed
    store, cache = service.store, _cache(service, tmp_path / "cache")
    Corpus.load(store, cache=cache)
    (docs / "tower.txt").write_text("The observatory telescope was rebuilt in 1950. The dome is new.\n")
    (docs / "cellar.txt").unlink()
    (docs / "mill.txt").write_text("The mill grinds rye on Tuesdays. Its wheel is oak.\n")
    service.ingest()
    read = _spy(monkeypatch, store)
    loaded = Corpus.load(store, cache=cache)
    changed = {d.content_hash for s, d in store.documents().items() if not s.endswith("garden.txt")}
    assert read and all(hashes == changed for hashes in read), "only the changed and new documents are read"
    _assert_same(loaded, Corpus.load(store))
    kept = sorted(p.stem for p in (tmp_path / "cache").glob(f"*{SUFFIX}"))
    assert kept == sorted(d.content_hash for d in store.documents().values()), "the removed version is pruned"


def test_a_reingested_document_is_not_taken_from_its_old_file(indexed, tmp_path, monkeypatch):
    docs, service = indexed
    store, cache = service.store, _cache(service, tmp_path / "cache")
    Corpus.load(store, cache=cache)
    service.ingest(rebuild=True)  # the same texts, committed anew (a rebuild may chunk them otherwise)
    read = _spy(monkeypatch, store)
    loaded = Corpus.load(store, cache=cache)
    assert read and set().union(*read) == {d.content_hash for d in store.documents().values()}
    _assert_same(loaded, Corpus.load(store))


def test_a_damaged_file_is_ignored_and_written_again(indexed, tmp_path, caplog):
    _, service = indexed
    store, cache = service.store, _cache(service, tmp_path / "cache")
    Corpus.load(store, cache=cache)
    cache.wait()
    (tmp_path / "cache" / FILE_NAME).unlink()  # so that the next load reads the per-document files
    damaged = sorted((tmp_path / "cache").glob(f"*{SUFFIX}"))[0]
    damaged.write_bytes(damaged.read_bytes()[:200])
    _assert_same(Corpus.load(store, cache=cache), Corpus.load(store))
    assert "ignoring the cached records" in caplog.text
    record = next(d for d in store.documents().values() if d.content_hash == damaged.stem)
    assert cache.get(record) is not None, "the file was written again"


def test_a_new_load_maps_the_snapshot_file_and_reads_no_record(indexed, tmp_path, monkeypatch):
    _, service = indexed
    store, cache = service.store, _cache(service, tmp_path / "cache")
    Corpus.load(store, cache=cache)
    cache.wait()
    assert (tmp_path / "cache" / FILE_NAME).is_file()
    read = _spy(monkeypatch, store)
    monkeypatch.setattr(cache, "get", lambda record: pytest.fail("a per-document file was read"))
    mapped = Corpus.load(store, cache=cache)
    assert read == [], "nothing was read from the store"
    assert isinstance(mapped.columns.sentence_texts.data, np.memmap), "the texts are mapped, not read"
    monkeypatch.undo()
    _assert_same(mapped, Corpus.load(store))


def test_a_snapshot_of_the_settled_generation_is_used_without_reading_the_document_list(indexed, tmp_path, monkeypatch):
    _, service = indexed
    store, cache = service.store, _cache(service, tmp_path / "cache")
    Corpus.load(store, cache=cache)
    cache.wait()
    monkeypatch.setattr(store, "documents", lambda: pytest.fail("the document list was read"))
    mapped = Corpus.load(store, cache=cache)
    monkeypatch.undo()
    _assert_same(mapped, Corpus.load(store))


def test_a_write_that_died_after_its_commit_is_seen_though_the_generation_did_not_move(indexed, tmp_path, monkeypatch):
    """A write commits a document, then bumps the generation. If it dies in between, the generation still
    names the old snapshot; the write's marker, left in the store, keeps a load from trusting it, and the
    repair that removes the marker moves the generation on."""
    docs, service = indexed
    store, cache = service.store, _cache(service, tmp_path / "cache")
    Corpus.load(store, cache=cache)
    cache.wait()
    before = store.generation()

    def crash() -> None:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(store, "_changed", crash)
    (docs / "mill.txt").write_text("The mill grinds rye on Tuesdays. Its wheel is oak.\n")
    with pytest.raises(RuntimeError, match="died"):
        service.ingest()
    monkeypatch.undo()
    assert any(s.endswith("mill.txt") for s in store.documents()), "committed before it died"
    assert store.generation() == before and store.settled_generation() == ""
    loaded = Corpus.load(store, cache=cache)
    assert any(s.endswith("mill.txt") for s in loaded.documents)
    _assert_same(loaded, Corpus.load(store))
    cache.wait()
    assert store.repair() == 0  # the mill's records are its committed version's: nothing to delete
    assert store.settled_generation() not in ("", before)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],
        lambda data: b"DOCQASNP" + (10**9).to_bytes(8, "little") + data[16:],
        lambda data: data.replace(b'"sentence_first"', b'"sentence_firsX"', 1),
        lambda data: b"\x00" * len(data),
    ],
    ids=["truncated", "header-length", "missing-array", "zeros"],
)
def test_a_damaged_snapshot_is_ignored_and_written_again(indexed, tmp_path, caplog, damage):
    _, service = indexed
    store, cache = service.store, _cache(service, tmp_path / "cache")
    Corpus.load(store, cache=cache)
    cache.wait()
    path = tmp_path / "cache" / FILE_NAME
    path.write_bytes(damage(path.read_bytes()))
    _assert_same(Corpus.load(store, cache=cache), Corpus.load(store))
    cache.wait()
    assert "ignoring the corpus snapshot" in caplog.text
    assert cache.snapshot() is not None, "the file was written again"


def test_pruning_removes_what_a_crashed_write_left_and_spares_a_live_one(indexed, tmp_path):
    _, service = indexed
    cache = _cache(service, tmp_path / "cache")
    Corpus.load(service.store, cache=cache)
    crashed = tmp_path / "cache" / ".abc.999999999.1.tmp"  # no such process
    writing = tmp_path / "cache" / f".abc.{os.getpid()}.1.tmp"  # this one, still writing
    crashed.write_bytes(b"half")
    writing.write_bytes(b"half")
    Corpus.load(service.store, cache=cache)
    assert not crashed.exists() and writing.exists()
    assert len(list((tmp_path / "cache").glob(f"*{SUFFIX}"))) == 3


def test_a_folder_that_cannot_be_written_changes_nothing(indexed, tmp_path):
    _, service = indexed
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be")
    cache = _cache(service, blocked / "cache")
    _assert_same(Corpus.load(service.store, cache=cache), Corpus.load(service.store))
    _assert_same(Corpus.load(service.store, cache=cache), Corpus.load(service.store))


def test_a_new_service_answers_from_the_cache_its_predecessor_wrote(indexed, tmp_path, monkeypatch):
    docs, service = indexed
    assert "saffron" in service.ask("What does the greenhouse grow?").answer
    folder = tmp_path / "index" / CACHE_FOLDER / service.settings.collection
    assert len(list(folder.glob(f"*{SUFFIX}"))) == 3
    again = qa.load(index_dir=tmp_path / "index", documents=[docs])
    read = _spy(monkeypatch, again.store)
    reply = again.ask("What does the greenhouse grow?")
    assert read == [] and "saffron" in reply.answer
    assert (
        reply.citations
        and again.document_text(reply.citations[0].source)[reply.citations[0].start : reply.citations[0].end]
        == reply.citations[0].text
    )


def test_the_service_that_ingests_a_document_keeps_its_records_and_reloads_without_reading_them(indexed, monkeypatch):
    docs, service = indexed
    assert "saffron" in service.ask("What does the greenhouse grow?").answer
    (docs / "mill.txt").write_text("The mill grinds rye flour on Tuesdays. Its wheel is oak.\n")
    report = service.ingest([docs / "mill.txt"])
    assert report.added == [str(docs / "mill.txt")]
    read = _spy(monkeypatch, service.store)
    reply = service.ask("What does the mill grind?")
    assert read == [], "the new document's records came from what the ingest kept"
    assert "rye" in reply.answer and reply.citations[0].source == str(docs / "mill.txt")
    monkeypatch.undo()
    # the kept vectors are the embedder's; Chroma normalises its copy again, which moves the last bit or two
    _assert_same(service.corpus(), Corpus.load(service.store), vectors_within=1e-7)
