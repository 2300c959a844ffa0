"""A document larger than one Chroma call can carry: Chroma (SQLite underneath) refuses to read more than
32,766 records at once, which a whole collection passes at about 190 COVID-QA papers, and one large book
alone. The store must still read it back, forget it and repair around it."""

import hashlib

import numpy as np
import pytest

from qa.index.chroma_client import open_persistent_client
from qa.index.chroma_store import ChromaStore
from qa.index.chunking import Chunk, Sentence
from qa.index.documents import Document
from qa.index.store import EmbeddedDocument

SENTENCES = 33_000
DIM = 8


@pytest.mark.slow
def test_a_document_of_33000_sentences_is_read_repaired_and_removed(tmp_path):
    text = "".join(f"S{n:05d}. " for n in range(SENTENCES))
    doc = Document("docs/book.txt", text, "S00000.", "", hashlib.sha256(text.encode()).hexdigest())
    sentences = [Sentence(f"s-{n}", doc.source, n, 8 * n, 8 * n + 7, text[8 * n : 8 * n + 7]) for n in range(SENTENCES)]
    chunks = [Chunk("c-0", doc.source, 0, 0, 70, text[:70])]
    vectors = np.tile(np.eye(DIM, dtype=np.float32)[0], (SENTENCES, 1))
    store = ChromaStore(open_persistent_client(tmp_path / "index"), "books", "stand-in-embedder", DIM)
    store.write(EmbeddedDocument(doc, chunks, vectors[:1], sentences, vectors))

    records = store.records("sentences", {doc.content_hash}, vectors=True)
    assert len(set(records["ids"])) == SENTENCES and records["vectors"].shape == (SENTENCES, DIM)
    assert store.repair() == 0, "every record belongs to the committed document"
    assert store.remove(doc.source) is True
    assert store.records("sentences", {doc.content_hash})["ids"] == [] and store.repair() == 0
