"""The store: what the rest of docqa asks of an index (`Store`), and the records it keeps.

The contract lives here, the Chroma implementation in `chroma_store.py`; `tests/index/test_store_contract.py`
runs one suite against it both embedded and on a Chroma server.

Writes are ordered so that a reader never sees half a document: a document's chunks and
sentences are written first, then its document record (the commit), then records of its older
version are deleted. Readers only trust chunks and sentences whose hash matches a committed
document record, so a crash at any point leaves an index that the next ingest repairs.
"""

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from qa.errors import IndexUnavailable
from qa.index.chunking import Chunk, Sentence
from qa.index.documents import Document


@dataclass(frozen=True)
class DocumentRecord:
    """What the index knows of one committed document."""

    source: str
    content_hash: str
    title: str
    date: str
    chunks: int
    sentences: int
    ingested_at: float

    @property
    def id(self) -> str:
        """A short stable name for the document in URLs (`DELETE /v1/documents/{id}`): a digest of its source."""
        return hashlib.sha256(self.source.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class EmbeddedDocument:
    """A document split and embedded, as a store writes it: row n of `chunk_vectors` is the vector of
    `chunks[n]`, row n of `sentence_vectors` that of `sentences[n]`."""

    document: Document
    chunks: list[Chunk]
    chunk_vectors: np.ndarray
    sentences: list[Sentence]
    sentence_vectors: np.ndarray


class Store(Protocol):
    """One corpus in an index: what ingestion writes, what a corpus snapshot and dense search read.

    Writes commit a document whole (its chunks and sentences, then its record), so readers that trust only
    records of committed documents (`records` by content hash) never see half of one.
    """

    @property
    def refusal(self) -> IndexUnavailable | None:
        """Why this index cannot be used with the embedder in use, or None."""
        ...

    @property
    def client(self) -> Any:
        """The backend's client, where the notebook catalog (`catalog.py`) lives beside the corpora."""
        ...

    def documents(self) -> dict[str, DocumentRecord]:
        """Committed documents by source."""
        ...

    def documents_since(self, known: Mapping[str, DocumentRecord]) -> dict[str, DocumentRecord]:
        """`documents()`, given `known` (an earlier read of them): only what changed since is read back."""
        ...

    def documents_of(self, sources: Collection[str]) -> dict[str, DocumentRecord]:
        """The committed records of these sources only (those indexed), without reading the rest."""
        ...

    def document_text(self, source: str) -> str | None:
        """The indexed text of a document, which its citation offsets index; None if not indexed."""
        ...

    def write(self, entry: EmbeddedDocument) -> DocumentRecord:
        """Add a document's records, commit it, then drop its previous version's records; the committed
        record (its `ingested_at` is set by the write)."""
        ...

    def remove(self, source: str) -> bool:
        """Forget a document; False if it was not indexed."""
        ...

    def repair(self) -> int:
        """Delete records no committed document owns (left by a crash); how many."""
        ...

    def generation(self) -> str:
        """A token that changes whenever a document is committed or removed, by this or another process."""
        ...

    def settled_generation(self) -> str:
        """`generation()` when no write or removal is under way or left unfinished by a crash, else "".
        The committed documents are then exactly those of the last change that set it, so a snapshot taken
        at it can be trusted without reading them back."""
        ...

    def records(self, kind: str, hashes: set[str], vectors: bool = False) -> dict[str, Any]:
        """Chunk or sentence records of the documents with these content hashes: `ids`, `texts`,
        `metadatas` (source, doc_hash, position, start, end; sentences also paragraph and lead) and,
        with `vectors`, `vectors` (one row per id)."""
        ...

    def nearest_sentences(
        self, vector: np.ndarray, n: int, sources: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """The `n` sentences closest to `vector` as (id, cosine similarity), only from `sources` when given.

        `n` must not exceed the number of stored sentences; callers bound it by their snapshot.
        """
        ...

    def sibling(self, name: str) -> "Store":
        """Another corpus in the same index (a notebook), with the same embedder."""
        ...

    def delete(self) -> None:
        """Delete this corpus for good (a deleted notebook)."""
        ...

    def drop(self) -> None:
        """Empty this corpus for a rebuild; it records the embedder in use afresh."""
        ...
