"""A reload reads only what changed: `Corpus.load(store, previous)` equals a full load of the store, while
reading just the documents committed since `previous`."""

import dataclasses

import numpy as np

from qa.query import corpus_load
from qa.query.corpus import Corpus

NOTES = {
    "garden.txt": "The greenhouse grows saffron crocuses. The shed holds twelve rakes.\n",
    "tower.txt": "The observatory telescope was built in 1911. The dome turns on rails.\n",
    "cellar.txt": "The cellar keeps forty barrels of cider. Its door sticks in winter.\n",
}


def test_a_reload_after_changes_equals_a_full_load_and_reads_only_the_changes(tmp_path, make_service, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("garden.txt", "tower.txt", "cellar.txt"):
        (docs / name).write_text(NOTES[name])
    service = make_service(docs)
    service.ingest()
    before = service.corpus()
    (docs / "tower.txt").write_text("The observatory telescope was rebuilt in 1950. The dome is new.\n")
    (docs / "cellar.txt").unlink()
    (docs / "mill.txt").write_text("The mill grinds rye on Tuesdays. Its wheel is oak.\n")
    service.ingest()
    store = service.store

    read: list[set[str]] = []
    records = store.records
    monkeypatch.setattr(
        store, "records", lambda kind, hashes, vectors=False: read.append(hashes) or records(kind, hashes, vectors)
    )
    reloaded = Corpus.load(store, before)
    changed = {d.content_hash for s, d in store.documents().items() if not s.endswith("garden.txt")}
    assert read and all(hashes == changed for hashes in read), "only the changed and new documents are read"
    monkeypatch.setattr(store, "records", records)
    full = Corpus.load(store)

    assert reloaded.documents == full.documents
    for name, array in _arrays(full.columns).items():  # every row column as a full load builds it
        np.testing.assert_array_equal(_arrays(reloaded.columns)[name], array, err_msg=name)
    assert [c.chunk for c in reloaded.chunks] == [c.chunk for c in full.chunks]
    assert reloaded.sentences == full.sentences
    assert reloaded.sentence_term_list == full.sentence_term_list
    np.testing.assert_array_equal(reloaded.sentence_vectors, full.sentence_vectors)
    for query in (["telescop"], ["rye", "mill"], ["saffron"], ["cider"]):
        np.testing.assert_array_equal(reloaded.bm25_scores(query), full.bm25_scores(query))
    assert not any(s.source.endswith("cellar.txt") for s in reloaded.sentences)

    # The lexical indexes were merged, not rebuilt (lexical.merged): they must answer as the full build's.
    known = [w for w in full.columns.vocabulary if full.knows(w)]
    assert known == [w for w in reloaded.columns.vocabulary if reloaded.knows(w)]
    assert [full.idf(w) for w in known] == [reloaded.idf(w) for w in known]
    assert not reloaded.knows("cider") and not full.knows("cider"), "a removed document's words are gone"
    for term in known + ["cider", "barrel", "unknownword"]:
        np.testing.assert_array_equal(reloaded.sentences_with(term), full.sentences_with(term))
        np.testing.assert_array_equal(reloaded.bm25_scores([term]), full.bm25_scores([term]))
    assert reloaded.units == full.units
    assert [list(a) for a in reloaded.chunks_of_sentence] == [list(b) for b in full.chunks_of_sentence]
    assert [list(a) for a in reloaded.chunk_sentences] == [list(b) for b in full.chunk_sentences]


def _arrays(columns) -> dict[str, np.ndarray]:
    """The arrays of the columns, by field name, but for the vectors (kept in the blocks they were read in)
    and what numbers terms (a reload keeps a removed document's words in its vocabulary, unused)."""
    found = {}
    for f in dataclasses.fields(columns):
        value = getattr(columns, f.name)
        if f.name == "vocabulary" or "terms" in f.name or "postings" in f.name:
            continue
        if isinstance(value, np.ndarray):
            found[f.name] = value
        elif f.name != "vectors":
            for part, array in vars(value).items():
                found[f"{f.name}.{part}"] = array
    return found


def test_a_load_read_a_document_at_a_time_equals_one_read_whole(ingest_notes, monkeypatch):
    docs, service = ingest_notes(NOTES)
    whole = Corpus.load(service.store)
    monkeypatch.setattr(corpus_load, "DOCUMENTS_PER_PART", 1)
    parts = Corpus.load(service.store)
    assert parts.documents == whole.documents and len(parts.sources) == 3
    for name in ("vocabulary", "sentence_terms", "chunk_terms", "sentence_postings", "chunk_postings"):
        for part, array in vars(getattr(whole.columns, name)).items():
            np.testing.assert_array_equal(vars(getattr(parts.columns, name))[part], array, err_msg=name)
    for name, array in _arrays(whole.columns).items():
        np.testing.assert_array_equal(_arrays(parts.columns)[name], array, err_msg=name)
    np.testing.assert_array_equal(parts.sentence_vectors, whole.sentence_vectors)
