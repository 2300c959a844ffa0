"""Chunk offsets, stable ids and document metadata: the ground the offset contract stands on."""

from pathlib import Path

from qa.index.chunking import Chunker
from qa.index.documents import read_document

SEED = Path("seeds/lei-jun-xiaomi.txt")


def test_chunks_and_sentences_quote_the_document_exactly():
    doc = read_document(SEED, 10_000_000)
    chunker = Chunker(128, 16)
    chunks = chunker.chunks(doc)
    assert len(chunks) > 5
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
    for s in chunker.sentences(doc):
        assert doc.text[s.start : s.end] == s.text
        assert doc.text[: s.start].count("\n") == s.paragraph


def test_ids_are_stable_and_change_with_content():
    doc = read_document(SEED, 10_000_000)
    again = read_document(SEED, 10_000_000)
    chunker = Chunker(128, 16)
    assert [c.id for c in chunker.chunks(doc)] == [c.id for c in chunker.chunks(again)]
    assert len({c.id for c in chunker.chunks(doc)}) == len(chunker.chunks(doc))


def test_seed_metadata_is_recorded():
    doc = read_document(SEED, 10_000_000)
    assert doc.date == "2025-02-08"
    assert doc.title.startswith("Lei Jun has now carved out his own niche")
