"""Documents stacked on a large snapshot (`stacked.py`): the corpus reads base and added parts as one and
answers every lookup as a corpus merged into one column set does (rows are numbered differently: the added
documents come after the base's, so rows are compared through their record ids)."""

import numpy as np
import pytest

from qa.index.chunking import Chunk
from qa.query import corpus_load
from qa.query.corpus import Corpus
from qa.query.lexical import Inverted, inverted
from qa.query.packed import Packed, Ragged
from qa.query.record_cache import CACHE_FOLDER
from qa.query.snapshot_file import FILE_NAME, meta_of
from qa.query.stacked import Postings, Stacked, StackedVectors, Terms
from qa.query.vectors import SentenceVectors

NOTES = {
    "garden.txt": "The greenhouse grows saffron crocuses. The shed holds twelve rakes.\n",
    "tower.txt": "The observatory telescope was built in 1911. He said the dome turns on rails.\n",
    "cellar.txt": "The cellar keeps forty barrels of cider. Its door sticks in winter.\n",
}
MILL = "The mill grinds rye flour on Tuesdays. Its wheel is oak, and the miller keeps bees.\n"
HARBOUR = "The harbour crane lifts forty tonnes. The greenhouse ships saffron from the quay.\n"


def test_terms_number_the_base_in_word_order_and_added_words_after_it():
    base = Terms(Packed.of(sorted({"vaccine", "vaccination", "vacuum", "virus", "été"})))
    assert base.number("virus") == 3 and base.number("viru") is None
    assert base.number("été") == 4, "UTF-8 byte order is code point order"
    assert [base[n] for n in base.starting("vacc")] == ["vaccination", "vaccine"]
    assert base.starting("zebra") == []
    terms = Terms(Packed.of(sorted({"vaccine", "vaccination", "virus"})), Packed.of(["vaccinia", "virus", "zebra"]))
    assert len(terms) == 5 and terms.number("vaccinia") == 3 and terms.number("zebra") == 4
    assert terms.added_map.tolist() == [3, 2, 4], "an added word the base knows keeps the base's number"
    assert [terms[n] for n in terms.starting("vacc")] == ["vaccination", "vaccine", "vaccinia"]


def test_a_stacked_column_reads_the_base_then_the_added_rows():
    column = Stacked(Packed.of(["a", "b"]), Packed.of(["c"]))
    assert len(column) == 3 and list(column) == ["a", "b", "c"] and column[-1] == "c" and column[1:] == ["b", "c"]
    with pytest.raises(IndexError):
        column[3]
    spans = Stacked(np.arange(8).reshape(4, 2), np.arange(8, 12).reshape(2, 2))
    assert spans[4].tolist() == [8, 9] and spans[5].tolist() == [10, 11] and spans[3].tolist() == [6, 7]


def test_stacked_postings_equal_the_index_of_the_whole_table():
    base_rows = Ragged.of([[0, 1], [1, 1, 2], [2]])
    added_rows = Ragged.of([[0, 1], [1]])  # added words 0 and 1: base term 1 and a new term, 3
    term_map = np.array([1, 3])
    stacked = Postings(inverted(base_rows, 3), inverted(added_rows, 2), term_map, offset=3)
    whole: Inverted = inverted(Ragged.of([[0, 1], [1, 1, 2], [2], [1, 3], [3]]), 4)
    for term in range(4):
        for got, want in zip(stacked.postings(term), whole.postings(term)):
            np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(stacked.frequencies(4), whole.frequencies())


@pytest.fixture
def stacked(ingest_notes, monkeypatch):
    """A service over three notes, then two more stacked on their snapshot; and a full load of the same.
    (Stacked however small the base, and until the added documents outgrow it, not an eighth of it.)"""
    monkeypatch.setattr(corpus_load, "MERGE_AT", 1)
    docs, service = ingest_notes(NOTES)
    base = service.corpus()
    (docs / "mill.txt").write_text(MILL)
    (docs / "harbour.txt").write_text(HARBOUR)
    service.ingest()
    on_top = Corpus.load(service.store, base, stack_from=0)
    assert on_top.added is not None and on_top.columns is base.columns, "the base is read as it is"
    return service, on_top, Corpus.load(service.store)


def _ids(corpus: Corpus, rows) -> list[str]:
    return [corpus.sentences[int(r)].id for r in rows]


def _assert_same_by_id(a: Corpus, b: Corpus) -> None:
    """Every lookup of `a` answers as `b`'s, row numbers translated through sentence and chunk ids."""
    assert a.documents == b.documents and sorted(a.sources) == sorted(b.sources)
    assert len(a.sentences) == len(b.sentences) and len(a.chunks) == len(b.chunks)
    rows = b.sentence_rows([s.id for s in a.sentences])
    assert None not in rows
    chunk_row = {c.chunk.id: k for k, c in enumerate(b.chunks)}
    for i, sentence in enumerate(a.sentences):
        j = int(rows[i])
        assert sentence == b.sentences[j] and a.sentence_text(i) == b.sentence_text(j)
        assert a.sentence_term_list[i] == b.sentence_term_list[j]
        assert _ids(a, a.units[i]) == _ids(b, b.units[j])
        assert a.context_text(i) == b.context_text(j)
        assert _ids(a, a.neighbours(i, i)) == _ids(b, b.neighbours(j, j))
        assert a.sentence_position[i] == b.sentence_position[j]
        assert [a.chunks[int(c)].chunk.id for c in a.chunks_of_sentence[i]] == [
            b.chunks[int(c)].chunk.id for c in b.chunks_of_sentence[j]
        ]
        # within a bit or two: the ingest kept the embedder's vectors, Chroma normalised its copy again
        np.testing.assert_allclose(a.sentence_vectors[[i]], b.sentence_vectors[[j]], rtol=0, atol=1e-7)
    for k, titled in enumerate(a.chunks):
        other = chunk_row[titled.chunk.id]
        assert titled == b.chunks[other]
        assert _ids(a, a.chunk_sentences[k]) == _ids(b, b.chunk_sentences[other])
        assert _ids(a, a.sentences_in(titled.chunk)) == _ids(b, b.sentences_in(b.chunks[other].chunk))
        first, last = a.sentences_in(titled.chunk)[0], a.sentences_in(titled.chunk)[-1]
        assert a.span(first, last, 1.0) == b.span(int(rows[first]), int(rows[last]), 1.0)
    words = list(b.columns.vocabulary) + (list(a.added.vocabulary) if a.added is not None else [])
    for word in words + ["saffro", "greenh", "unknownword"]:
        assert a.knows(word) == b.knows(word) and sorted(a.matches(word)) == sorted(b.matches(word))
        assert a.idf(word) == b.idf(word)
        assert sorted(_ids(a, a.sentences_with(word))) == sorted(_ids(b, b.sentences_with(word)))
        got, want = a.bm25_scores([word]), b.bm25_scores([word])
        assert {a.chunks[k].chunk.id: got[k] for k in range(len(got))} == {
            b.chunks[k].chunk.id: want[k] for k in range(len(want))
        }
    assert a.document_terms() == b.document_terms()
    for source in a.sources:
        chosen = a.chunks_of([source])
        assert {a.chunks[k].chunk.id for k in np.flatnonzero(chosen)} == {
            b.chunks[k].chunk.id for k in np.flatnonzero(b.chunks_of([source]))
        }
        assert len(a.sentences_of([source])) == len(b.sentences_of([source]))


def test_a_stacked_corpus_answers_every_lookup_as_a_merged_one(stacked):
    _, on_top, full = stacked
    _assert_same_by_id(on_top, full)
    assert on_top.sentence_rows(["no-such-id"]) == [None]
    assert on_top.sentences_in(Chunk("x", "docs/none.txt", 0, 0, 10, "")) == []


def test_leaving_documents_out_of_a_stacked_corpus_merges_what_is_left(stacked):
    service, on_top, full = stacked
    mill = next(s for s in on_top.sources if s.endswith("mill.txt"))
    garden = next(s for s in on_top.sources if s.endswith("garden.txt"))
    left = on_top.without({mill, garden})
    assert left.added is None
    _assert_same_by_id(left, full.without({mill, garden}))


def test_a_removed_or_replaced_base_document_merges_the_stack_and_new_ones_stay_stacked(stacked):
    service, on_top, _ = stacked
    docs = next(iter(service.settings.documents))
    (docs / "quarry.txt").write_text("The quarry yields grey slate. Its cart runs on a narrow rail.\n")
    service.ingest()
    again = Corpus.load(service.store, on_top, stack_from=0)
    assert again.added is not None and again.columns is on_top.columns and len(again.added.sources) == 3
    _assert_same_by_id(again, Corpus.load(service.store))
    (docs / "garden.txt").write_text("The greenhouse now grows tulips. The shed is empty.\n")
    service.ingest()
    merged = Corpus.load(service.store, again, stack_from=0)
    assert merged.added is None
    _assert_same_by_id(merged, Corpus.load(service.store))


def test_documents_that_outgrow_an_eighth_of_the_base_are_merged_into_it(stacked, monkeypatch):
    service, on_top, _ = stacked
    monkeypatch.setattr(corpus_load, "MERGE_AT", 8)
    base_sentences = len(on_top.columns.sentence_texts)
    assert corpus_load.MERGE_AT * (len(on_top.sentences) - base_sentences) > base_sentences
    assert Corpus.load(service.store, on_top, stack_from=0).added is None


def test_a_service_stacks_one_more_document_and_a_new_process_stacks_it_from_the_cache(
    tmp_path, make_service, ingest_notes, monkeypatch
):
    monkeypatch.setattr(corpus_load, "STACK_FROM", 0)
    monkeypatch.setattr(corpus_load, "MERGE_AT", 1)
    docs, service = ingest_notes(NOTES)
    assert "saffron" in service.ask("What does the greenhouse grow?").answer
    service._cache.wait()
    snapshot = tmp_path / "index" / CACHE_FOLDER / service.settings.collection / FILE_NAME
    written = meta_of(snapshot)
    (docs / "mill.txt").write_text(MILL)
    service.ingest([docs / "mill.txt"])
    reply = service.ask("What does the mill grind?")
    assert "rye" in reply.answer and reply.citations[0].source == str(docs / "mill.txt")
    assert service.corpus().added is not None
    service._cache.wait()
    assert meta_of(snapshot) == written, "the snapshot file is left as it was"

    again = make_service(docs)
    read: list[set[str]] = []
    records = again.store.records
    monkeypatch.setattr(
        again.store,
        "records",
        lambda kind, hashes, vectors=False: read.append(hashes) or records(kind, hashes, vectors),
    )
    reply = again.ask("What does the mill grind?")
    assert read == [] and again.corpus().added is not None
    assert "rye" in reply.answer and reply.citations[0].source == str(docs / "mill.txt")
    cited = reply.citations[0]
    assert again.document_text(cited.source)[cited.start : cited.end] == cited.text


def test_stacked_vectors_gather_rows_from_both_parts_in_the_order_asked():
    base, added = np.arange(12, dtype=np.float32).reshape(4, 3), np.arange(12, 18, dtype=np.float32).reshape(2, 3)
    vectors = StackedVectors(SentenceVectors.of(base), SentenceVectors.of(added))
    assert vectors.shape == (6, 3) and len(vectors) == 6
    np.testing.assert_array_equal(vectors[[5, 0, 4, 3]], np.vstack([added[1], base[0], added[0], base[3]]))
    np.testing.assert_array_equal(np.asarray(vectors), np.vstack([base, added]))
    assert vectors[[]].shape == (0, 3)
    with pytest.raises(IndexError):
        vectors[[6]]


def test_stacked_documents_past_an_eighth_of_the_base_are_merged_in_the_background(tmp_path, ingest_notes, monkeypatch):
    monkeypatch.setattr(corpus_load, "STACK_FROM", 0)
    docs, service = ingest_notes(NOTES)
    assert "saffron" in service.ask("What does the greenhouse grow?").answer
    service._cache.wait()
    (docs / "mill.txt").write_text(MILL)
    service.ingest([docs / "mill.txt"])
    with service._cache._writing:  # the background merge waits here, as a large one would take its time
        reply = service.ask("What does the mill grind?")
        assert "rye" in reply.answer and service.corpus().added is not None, "answered from the stack at once"
    service._cache.wait()
    merged = service.corpus()
    assert merged.added is None and isinstance(merged.columns.sentence_texts.data, np.memmap), "the merged file"
    snapshot = tmp_path / "index" / CACHE_FOLDER / service.settings.collection / FILE_NAME
    assert {d["source"] for d in meta_of(snapshot)["documents"]} == set(merged.documents)
    _assert_same_by_id(merged, Corpus.load(service.store))
    reply = service.ask("What does the mill grind?")
    assert "rye" in reply.answer and reply.citations[0].source == str(docs / "mill.txt")
