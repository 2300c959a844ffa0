"""`ChromaStore`: a corpus (`store.Store`) in three Chroma collections, in a local folder or on a Chroma server.

`chroma_client.py` opens either; the rest of the product cannot tell the two apart. Each collection records
the embedder that built it (`embedder_record.py`); an index built by another embedder refuses every read and
write (a rebuild or deleting it still works). A fourth collection, "state", holds the generation and the
markers of writes under way (see `repair`).
"""

import logging
import math
import threading
import time
import uuid
from collections.abc import Collection, Iterator, Mapping
from typing import Any

import numpy as np

from qa.errors import IndexUnavailable
from qa.index import writing
from qa.index.chroma_client import server_url, short_error, unreachable
from qa.index.embedder_record import EmbedderRecord
from qa.index.embedding import Embedder
from qa.index.store import DocumentRecord, EmbeddedDocument

log = logging.getLogger(__name__)

# "state" holds one record, the generation: a token written after every commit and removal, so that other
# processes sharing the index (a Chroma server) can tell cheaply that it changed.
_KINDS = ("documents", "chunks", "sentences", "state")
_GENERATION = "generation"
_DOC = "doc:"  # a document record's id is this and its source
_last_ingest_time = 0.0
_time_lock = threading.Lock()
_TIMES_PER_QUERY = 5_000  # known ingest times named in one query (SQLite refused 11,000 with a second list)
_WRITING = "writing:"  # state records of documents being written, until their write is done (see repair)
_DOCUMENTS_PER_READ = 8
# Records per read or delete call: Chroma (SQLite underneath) refuses a call over 32,766 records ("too many
# SQL variables"), which a whole collection passes at about 190 COVID-QA papers and one large book alone.
_RECORDS_PER_CALL = 10_000


class ChromaStore:
    """One corpus in Chroma; vectors come from our embedder, never from a Chroma default."""

    def __init__(self, client: Any, name: str, embedder_name: str, dim: int, embedder: Embedder | None = None):
        """`embedder` (the one named) lets the store record and check its reference vectors; without it,
        only the name and dimension are recorded and checked."""
        self._client = client
        self._name = name
        self._embedder_name = embedder_name
        self._dim = dim
        self._embedder = embedder
        self._record = EmbedderRecord(embedder_name, dim, embedder)
        self._refusal: IndexUnavailable | None = None
        self._cols = {kind: self._collection(kind) for kind in _KINDS}

    def _collection(self, kind: str) -> Any:
        meta = {"hnsw:space": "cosine", **self._record.metadata()}
        try:
            col = self._client.get_or_create_collection(f"{self._name}-{kind}", metadata=meta, embedding_function=None)
        except Exception as exc:
            raise self._failure(f"Cannot open collection {self._name}-{kind}", exc) from None
        self._refusal = self._refusal or self._record.mismatch(col.metadata or {}, self._name)
        return col

    @property
    def refusal(self) -> IndexUnavailable | None:
        """Why this index cannot be used with the embedder in use (see `EmbedderRecord.mismatch`), or None."""
        return self._refusal

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if self._refusal is not None:
            raise IndexUnavailable(str(self._refusal), hint=self._refusal.hint)
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise self._failure(f"Index {what} failed", exc) from None

    def _failure(self, what: str, exc: Exception) -> IndexUnavailable:
        """The error for a failed Chroma call. A transport error (refused, reset, timed out) means the
        Chroma server is down or restarting, not that the index is damaged. The error says so and tells
        the user to start the server, not to rebuild the index.

        Nothing has to be reset for a later call to work: the HTTP client opens a new connection for each
        call after a failure, and collection handles are ids, which stay valid when `chroma run` restarts on
        the same --path. So each request fails once, quickly, while the server is down, and requests work
        again as soon as it is back (tests/index/test_chroma_server.py kills and restarts a real server).
        """
        import httpx

        if isinstance(exc, httpx.TransportError):
            return unreachable(server_url(self._client), exc)
        return IndexUnavailable(f"{what}: {short_error(exc)}")

    def documents(self) -> dict[str, DocumentRecord]:
        pages = self._pages("documents", include=["metadatas"])
        records = [_document_record(m) for got in pages for m in got["metadatas"] or []]
        return {r.source: r for r in records}

    def documents_since(self, known: Mapping[str, DocumentRecord]) -> dict[str, DocumentRecord]:
        """The ids of every document (a document's id is its source), and the records only of versions whose
        ingest time `known` does not hold (at 1,000 documents 20-42 ms for both, where reading every record
        took 0.13-0.17 s). Each query names at most `_TIMES_PER_QUERY` known times, within their own time range,
        so the queries split the time line and stay within SQLite's limit on query variables. A version is
        written with its writer's clock (strictly increasing within a process); one whose time equals a known
        time to the float is taken for that one: then an older version is served until the next full read."""
        if not known:
            return self.documents()
        sources = [i[len(_DOC) :] for got in self._pages("documents", include=[]) for i in got["ids"]]
        fresh: dict[str, DocumentRecord] = {}
        for where in _unknown_times(sorted({r.ingested_at for r in known.values()})):
            for got in self._pages("documents", where=where, include=["metadatas"]):
                fresh.update(_records_by_source(got))
        unknown = [_doc_id(s) for s in sources if s not in fresh and s not in known]
        for start in range(0, len(unknown), _RECORDS_PER_CALL):
            ids = unknown[start : start + _RECORDS_PER_CALL]
            got = self._call("read", self._cols["documents"].get, ids=ids, include=["metadatas"])
            fresh.update(_records_by_source(got))
        return {s: fresh.get(s) or known[s] for s in sources if s in fresh or s in known}

    def documents_of(self, sources: Collection[str]) -> dict[str, DocumentRecord]:
        ids = [_doc_id(s) for s in sorted(set(sources))]
        found: dict[str, DocumentRecord] = {}
        for start in range(0, len(ids), _RECORDS_PER_CALL):
            chosen = ids[start : start + _RECORDS_PER_CALL]
            got = self._call("read", self._cols["documents"].get, ids=chosen, include=["metadatas"])
            found.update(_records_by_source(got))
        return found

    def document_text(self, source: str) -> str | None:
        got = self._call("read", self._cols["documents"].get, ids=[_doc_id(source)], include=["documents"])
        return got["documents"][0] if got["ids"] else None

    def write(self, entry: EmbeddedDocument) -> DocumentRecord:
        """The records, then the commit, then the previous version's records deleted. A document with no
        committed version and no other write of it under way or left by a crash has no previous records:
        the query that looks for them (a metadata filter over every record, 0.1-1.8 s each at 10,000
        documents) is skipped."""
        doc, chunks, sentences = entry.document, entry.chunks, entry.sentences
        base = {"source": doc.source, "doc_hash": doc.content_hash}
        marker = f"{_WRITING}{doc.content_hash}:{_doc_id(doc.source)}"
        with writing.in_flight(marker):
            self._upsert(
                "state", [marker], self._marker_vector(1), [""], [writing.marker(doc.source, doc.content_hash)]
            )
            first = not self.documents_of([doc.source]) and not self._other_writes(doc.source, marker)
            self._upsert(
                "chunks",
                [c.id for c in chunks],
                entry.chunk_vectors,
                [c.text for c in chunks],
                [{**base, "position": c.position, "start": c.start, "end": c.end} for c in chunks],
            )
            self._upsert(
                "sentences",
                [s.id for s in sentences],
                entry.sentence_vectors,
                [s.text for s in sentences],
                [
                    {
                        **base,
                        "position": s.position,
                        "start": s.start,
                        "end": s.end,
                        "paragraph": s.paragraph,
                        "lead": s.lead,
                    }
                    for s in sentences
                ],
            )
            record = {
                **base,
                "title": doc.title,
                "date": doc.date,
                "chunks": len(chunks),
                "sentences": len(sentences),
                "ingested_at": _ingest_time(),
            }
            self._upsert("documents", [_doc_id(doc.source)], self._marker_vector(1), [doc.text], [record])
            if not first:
                self._delete_stale(doc.source, keep_hash=doc.content_hash)
            self._changed()
            self._call("delete", self._cols["state"].delete, ids=[marker])
        # as stored: Chroma gives back about one float in eight a bit or two off, so the record written may
        # not equal the one every reader gets (and the record cache matches on `ingested_at`)
        return self.documents_of([doc.source]).get(doc.source) or _document_record(record)

    def remove(self, source: str) -> bool:
        """Uncommit a document first, then delete its records; False if it was not indexed."""
        got = self._call("read", self._cols["documents"].get, ids=[_doc_id(source)], include=["metadatas"])
        record = _records_by_source(got).get(source)
        if record is None:
            return False
        marker = f"{_WRITING}{record.content_hash}:{_doc_id(source)}"  # repaired like a crashed write
        with writing.in_flight(marker):
            self._upsert("state", [marker], self._marker_vector(1), [""], [writing.marker(source, "")])
            self._call("delete", self._cols["documents"].delete, ids=[_doc_id(source)])
            self._delete_stale(source, keep_hash=None)
            self._changed()
            self._call("delete", self._cols["state"].delete, ids=[marker])
        return True

    def generation(self) -> str:
        got = self._call("read", self._cols["state"].get, ids=[_GENERATION], include=["metadatas"])
        return str(got["metadatas"][0]["token"]) if got["ids"] else ""

    def settled_generation(self) -> str:
        """One read of the state collection (the generation and the markers of unfinished writes, a
        handful of records). A write bumps the generation after its commit and drops its marker after
        that, so while a marker is there the generation may trail the commits."""
        got = self._call("read", self._cols["state"].get, include=["metadatas"])
        if any(i.startswith(_WRITING) for i in got["ids"]):
            return ""
        tokens = [m["token"] for i, m in zip(got["ids"], got["metadatas"] or []) if i == _GENERATION]
        return str(tokens[0]) if tokens else ""

    def _other_writes(self, source: str, mine: str) -> bool:
        """Is a marker of another write of `source` there (under way, or left by a crash)?"""
        got = self._call("read", self._cols["state"].get, include=["metadatas"])
        return any(
            i.startswith(_WRITING) and i != mine and m.get("source") == source
            for i, m in zip(got["ids"], got["metadatas"] or [])
        )

    def _changed(self) -> None:
        token = uuid.uuid4().hex
        self._upsert("state", [_GENERATION], self._marker_vector(1), [""], [{"token": token}])

    def repair(self) -> int:
        """Delete the chunk and sentence records a crashed write left: of a document that never reached its
        commit, or the previous version of one that did. Each write leaves a marker in the state collection
        until it is done, so this reads the markers and the crashed documents' records, never the whole
        corpus (which took 34 s at 1,000 documents). Leftovers are invisible before they are repaired:
        readers only take records of committed versions."""
        got = self._call("read", self._cols["state"].get, include=["metadatas"])
        markers = [
            (i, m)
            for i, m in zip(got["ids"], got["metadatas"] or [])
            if i.startswith(_WRITING) and not writing.may_be_active(i, m)
        ]
        if not markers:
            return 0
        committed = {r.source: r.content_hash for r in self.documents().values()}
        removed = 0
        for _, meta in markers:
            removed += self._delete_stale(meta["source"], keep_hash=committed.get(meta["source"]))
        self._changed()  # a crashed write may have committed without bumping it (`settled_generation`)
        self._call("delete", self._cols["state"].delete, ids=[marker for marker, _ in markers])
        return removed

    def _pages(self, kind: str, **query: Any) -> Iterator[dict[str, Any]]:
        """A `get` over one collection, `_RECORDS_PER_CALL` records a call."""
        offset = 0
        while True:
            got = self._call("read", self._cols[kind].get, limit=_RECORDS_PER_CALL, offset=offset, **query)
            yield got
            if len(got["ids"]) < _RECORDS_PER_CALL:
                return
            offset += _RECORDS_PER_CALL

    def records(self, kind: str, hashes: set[str], vectors: bool = False) -> dict[str, Any]:
        """All chunk or sentence records (text, metadata, optionally vectors) of committed documents.

        Read a few documents at a time, by content hash: reading a large corpus in one call more than
        doubled the process's peak memory (COVID-QA: +565 MB), and a committed version's records never
        change, so the batches add up to a consistent snapshot even while an ingest is writing.
        """
        include = ["documents", "metadatas"] + (["embeddings"] if vectors else [])
        found: dict[str, Any] = {"ids": [], "texts": [], "metadatas": []}
        parts = []
        ordered = sorted(hashes)
        for i in range(0, len(ordered), _DOCUMENTS_PER_READ):
            where = {"doc_hash": {"$in": ordered[i : i + _DOCUMENTS_PER_READ]}}
            for got in self._pages(kind, where=where, include=include):
                found["ids"] += got["ids"]
                found["texts"] += got["documents"]
                found["metadatas"] += got["metadatas"]
                if vectors:
                    rows = np.asarray(got["embeddings"], dtype=np.float32).reshape(len(got["ids"]), self._dim)
                    parts.append(rows)
        if vectors:
            found["vectors"] = np.vstack(parts) if parts else np.zeros((0, self._dim), dtype=np.float32)
        return found

    def nearest_sentences(
        self, vector: np.ndarray, n: int, sources: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        if n <= 0:
            return []
        where = {"source": {"$in": sorted(sources)}} if sources is not None else None
        got = self._call(
            "query",
            self._cols["sentences"].query,
            query_embeddings=[vector.tolist()],
            n_results=n,
            include=["distances"],
            where=where,
        )
        return [(i, 1.0 - float(d)) for i, d in zip(got["ids"][0], got["distances"][0])]

    @property
    def client(self) -> Any:
        """The Chroma client (embedded or HTTP) this store's collections live in."""
        return self._client

    def sibling(self, name: str) -> "ChromaStore":
        """Another corpus in the same Chroma (a notebook), with the same embedder."""
        return ChromaStore(self._client, name, self._embedder_name, self._dim, self._embedder)

    def delete(self) -> None:
        """Delete this corpus's collections for good (a deleted notebook); the object is unusable after."""
        for kind in _KINDS:
            try:
                self._client.delete_collection(f"{self._name}-{kind}")
            except Exception as exc:
                raise self._failure(f"Cannot delete collection {self._name}-{kind}", exc) from None

    def drop(self) -> None:
        """Delete this corpus's collections (for a rebuild)."""
        for kind in _KINDS:
            try:
                self._client.delete_collection(f"{self._name}-{kind}")
            except Exception as exc:
                log.debug("delete %s-%s: %s", self._name, kind, exc)
        self._refusal = None  # the new collections record the embedder in use
        self._cols = {kind: self._collection(kind) for kind in _KINDS}

    def _upsert(self, kind: str, ids: list[str], vecs: np.ndarray, texts: list[str], metas: list[dict]) -> None:
        batch = max(1, int(self._call("limits", self._client.get_max_batch_size)))
        for i in range(0, len(ids), batch):
            self._call(
                "write",
                self._cols[kind].upsert,
                ids=ids[i : i + batch],
                embeddings=np.asarray(vecs[i : i + batch], dtype=np.float32),
                documents=texts[i : i + batch],
                metadatas=metas[i : i + batch],
            )

    def _delete_stale(self, source: str, keep_hash: str | None) -> int:
        """Delete `source`'s chunk and sentence records except those of version `keep_hash`; how many."""
        where: dict[str, Any] = {"source": source}
        if keep_hash is not None:
            where = {"$and": [{"source": source}, {"doc_hash": {"$ne": keep_hash}}]}
        removed = 0
        for kind in ("chunks", "sentences"):
            ids = [i for got in self._pages(kind, where=where, include=[]) for i in got["ids"]]
            for start in range(0, len(ids), _RECORDS_PER_CALL):
                self._call("delete", self._cols[kind].delete, ids=ids[start : start + _RECORDS_PER_CALL])
            removed += len(ids)
        return removed

    def _marker_vector(self, n: int) -> np.ndarray:
        vecs = np.zeros((n, self._dim), dtype=np.float32)
        vecs[:, 0] = 1.0
        return vecs


def _doc_id(source: str) -> str:
    return f"{_DOC}{source}"


def _unknown_times(times: list[float]) -> list[dict[str, Any]]:
    """Filters that together select the records whose `ingested_at` is none of the sorted `times`: before the
    first, after the last, and in each stretch from one run of `_TIMES_PER_QUERY` of them to the next, none
    of that run."""
    runs = [times[i : i + _TIMES_PER_QUERY] for i in range(0, len(times), _TIMES_PER_QUERY)]
    filters: list[dict[str, Any]] = [{"ingested_at": {"$lt": times[0]}}, {"ingested_at": {"$gt": times[-1]}}]
    for k, run in enumerate(runs):
        end = {"$lt": runs[k + 1][0]} if k + 1 < len(runs) else {"$lte": run[-1]}
        filters.append(
            {"$and": [{"ingested_at": {"$gte": run[0]}}, {"ingested_at": end}, {"ingested_at": {"$nin": run}}]}
        )
    return filters


def _ingest_time() -> float:
    """Now, for a document version's `ingested_at`: strictly later than the last one this process wrote, so
    two versions never share one (`documents_since` tells versions apart by it)."""
    global _last_ingest_time
    with _time_lock:
        _last_ingest_time = max(time.time(), math.nextafter(_last_ingest_time, math.inf))
        return _last_ingest_time


def _records_by_source(got: dict[str, Any]) -> dict[str, DocumentRecord]:
    return {r.source: r for r in map(_document_record, got["metadatas"] or [])}


def _document_record(meta: dict) -> DocumentRecord:
    return DocumentRecord(
        source=str(meta["source"]),
        content_hash=str(meta["doc_hash"]),
        title=str(meta.get("title", "")),
        date=str(meta.get("date", "")),
        chunks=int(meta.get("chunks", 0)),
        sentences=int(meta.get("sentences", 0)),
        ingested_at=float(meta.get("ingested_at", 0.0)),
    )
