"""A local copy of each committed document's records, so a new process need not read the whole store.

Loading the snapshot (`Corpus.load`) reads every chunk and sentence record out of Chroma and tokenises
them: at 1,000 COVID-QA-sized documents (167,578 sentences) that was 48 s before the first answer, of
which about 30 s were Chroma calls turning records into Python objects and 7 s tokenising. A committed
document version never changes (its records are keyed by its content hash, and a re-ingest gives it a new
`ingested_at`), so what one process read can be kept as it is: one file per document version,
holding the texts, offsets and ids of its chunks and sentences, their terms and the sentence vectors.

The files are a cache, never the truth: a file is used only when its document, content hash, ingest time,
embedder and vector size match the committed record, and one that cannot be read is ignored and replaced.
Files are written whole under a temporary name and renamed, so a crash leaves no half file; several
processes may share the folder. Plain arrays of integers, floats and UTF-8 bytes: nothing is unpickled.
"""

import contextlib
import json
import logging
import os
import shutil
import threading
import weakref
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from qa.index.chunking import Chunk, Sentence
from qa.index.store import DocumentRecord, EmbeddedDocument
from qa.query import snapshot_file
from qa.query.columns import CorpusColumns
from qa.text import terms

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """A snapshot file's documents and columns, and the store generation they were committed as of."""

    documents: dict[str, DocumentRecord]
    columns: CorpusColumns
    generation: str


CACHE_FOLDER = "query-cache"  # inside the index folder: it goes (and is set aside) with the index it mirrors
FORMAT = "docqa-records"
VERSION = "1"
SUFFIX = ".records"
_MAGIC = b"DOCQAREC"
_DTYPES = {"<i8", "<f4", "|u1"}  # all a file may hold: integers, vectors, UTF-8 bytes


@dataclass(frozen=True)
class DocumentRecords:
    """One document's chunks and sentences with their terms, and its sentence vectors (row n: sentence n)."""

    chunks: list[Chunk]
    chunk_terms: list[list[str]]
    sentences: list[Sentence]
    sentence_terms: list[tuple[str, ...]]
    vectors: np.ndarray


def _nothing() -> None:
    return None


class RecordCache:
    """The cached records of one collection's documents, in `folder`."""

    def __init__(self, folder: Path, embedder: str, dim: int):
        self.folder = folder
        self._embedder = embedder
        self._dim = dim
        self._writable = True
        self._lock = threading.Lock()
        self._writing = threading.Lock()  # one snapshot file write at a time
        self._writer: threading.Thread | None = None
        self._mapped: tuple[Callable[[], object], CorpusColumns | None] = (_nothing, None)

    def get(self, record: DocumentRecord) -> DocumentRecords | None:
        """The document's records if a file matching `record` is kept; None otherwise."""
        path = self._path(record)
        try:
            meta, arrays = _read(path)
            if meta != self._meta(record):
                return None
            return _records(record.source, arrays)
        except FileNotFoundError:
            return None
        except Exception as exc:  # a damaged or foreign file: read the store instead, and rewrite it
            log.warning("ignoring the cached records %s: %s", path, exc)
            return None

    def put(self, record: DocumentRecord, records: DocumentRecords) -> None:
        """Keep `records` of the committed document `record`; a folder that cannot be written turns the
        cache off for this process (answers do not depend on it)."""
        if not self._writable:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary = self.folder / f".{record.content_hash}.{os.getpid()}.{threading.get_ident()}.tmp"
            temporary.write_bytes(_written(self._meta(record), _arrays(records)))
            os.replace(temporary, self._path(record))
        except OSError as exc:
            with self._lock:
                if self._writable:
                    log.warning("not caching records in %s: %s", self.folder, exc)
                self._writable = False

    def put_written(self, record: DocumentRecord, entry: EmbeddedDocument) -> None:
        """Keep the records of a document this process has just written and committed as `record`: the
        reload after the ingest finds them here instead of reading them back from the store."""
        chunks, sentences = entry.chunks, entry.sentences
        self.put(
            record,
            DocumentRecords(
                list(chunks),
                [terms(c.text) for c in chunks],
                list(sentences),
                [tuple(terms(s.text)) for s in sentences],
                np.asarray(entry.sentence_vectors, dtype=np.float32),
            ),
        )

    def snapshot(self) -> Snapshot | None:
        """The last snapshot written for this collection (`snapshot_file.py`), mapped from the file; None
        when there is none, or it is damaged or from another embedder."""
        path = self.folder / snapshot_file.FILE_NAME
        try:
            meta, columns = snapshot_file.read(path)
            if meta.get("cache") != self._meta_head():
                return None
            documents = {d["source"]: DocumentRecord(**d) for d in meta["documents"]}
            return Snapshot(documents, columns, str(meta.get("generation", "")))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except Exception as exc:  # a damaged or foreign file: load from the records instead, and rewrite it
            log.warning("ignoring the corpus snapshot %s: %s", path, exc)
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
            return None

    def save_snapshot(
        self,
        documents: Mapping[str, DocumentRecord],
        columns: CorpusColumns | Callable[[], CorpusColumns],
        generation: str,
        key: object = None,
    ) -> None:
        """Write the snapshot of `documents`, committed as of the store's settled `generation` ("" if it was
        not settled), in the background (the answer does not wait for it; the process does not exit before
        it is whole). Writes happen one at a time, the newest last. `columns` may be a function that makes
        them, in the background too (a merge); `mapped_for(key)` (default: the columns) then finds the file."""
        if not self._writable:
            return
        meta = {
            "cache": self._meta_head(),
            "generation": generation,
            "documents": [_as_dict(d) for d in documents.values()],
        }
        self._writer = threading.Thread(
            target=self._write_snapshot, args=(meta, columns, columns if key is None else key), name="docqa-snapshot"
        )
        self._writer.start()

    def wait(self) -> None:
        """Until the last snapshot write has finished (tests, benchmarks, shutdown)."""
        if self._writer is not None:
            self._writer.join()

    def _write_snapshot(self, meta: dict, columns: CorpusColumns | Callable[[], CorpusColumns], key: object) -> None:
        """Write unless the file already holds these documents (several processes catching up after one
        ingest would otherwise each write the same file), then map it for `mapped_for`. A failure only
        costs the next start its speed."""
        path = self.folder / snapshot_file.FILE_NAME
        with self._writing:
            try:
                if snapshot_file.meta_of(path) != meta:
                    self.folder.mkdir(parents=True, exist_ok=True)
                    snapshot_file.write(path, meta, columns() if callable(columns) else columns)
                written, mapped = snapshot_file.read(path)
                if written == meta:  # not another process's newer file, renamed over ours meanwhile
                    self._mapped = (weakref.ref(key), mapped)
            except Exception as exc:
                log.warning("not writing the corpus snapshot in %s: %s", self.folder, exc)

    def mapped_for(self, key: object) -> CorpusColumns | None:
        """The columns of the snapshot file just written for `key` (the columns written, or the key given
        with a merge), mapped; None if that write has not finished or failed. A process that combined a
        snapshot in memory after a change serves from the file once it is written, and the memory of its own
        copy goes back: after one more document it would otherwise hold every column in private memory for
        good. After a merge in the background it serves the merged file instead of its stack."""
        made, mapped = self._mapped
        if made() is not key or mapped is None:
            return None
        self._mapped = (_nothing, None)
        return mapped

    def prune(self, committed: Collection[DocumentRecord]) -> None:
        """Delete the files of document versions no longer committed (and leftovers of crashed writes)."""
        keep = {self._path(r).name for r in committed}
        try:
            files = list(self.folder.iterdir())
        except OSError:
            return
        for path in files:
            if path.name not in keep and (path.suffix == SUFFIX or _stale_temporary(path)):
                path.unlink(missing_ok=True)

    def clear(self) -> None:
        """Delete the folder (its collection is gone)."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def _path(self, record: DocumentRecord) -> Path:
        return self.folder / f"{record.content_hash}{SUFFIX}"

    def _meta(self, record: DocumentRecord) -> list[str]:
        return [FORMAT, VERSION, record.source, record.content_hash, repr(record.ingested_at), *self._meta_head()[2:]]

    def _meta_head(self) -> list[str]:
        return [snapshot_file.FORMAT, snapshot_file.VERSION, self._embedder, str(self._dim)]


def split_by_source(
    chunks: list[Chunk],
    chunk_terms: list[list[str]],
    sentences: list[Sentence],
    sentence_terms: list[tuple[str, ...]],
    vectors: np.ndarray,
) -> dict[str, DocumentRecords]:
    """Records read from the store for several documents, grouped into one `DocumentRecords` each."""
    by_chunk: dict[str, list[int]] = {}
    by_sentence: dict[str, list[int]] = {}
    for i, c in enumerate(chunks):
        by_chunk.setdefault(c.source, []).append(i)
    for i, s in enumerate(sentences):
        by_sentence.setdefault(s.source, []).append(i)
    return {
        source: DocumentRecords(
            [chunks[i] for i in by_chunk.get(source, [])],
            [chunk_terms[i] for i in by_chunk.get(source, [])],
            [sentences[i] for i in rows],
            [sentence_terms[i] for i in rows],
            vectors[rows],
        )
        for source, rows in by_sentence.items()
    }


_RECORD_FIELDS = [f.name for f in fields(DocumentRecord)]


def _as_dict(record: DocumentRecord) -> dict:
    """`dataclasses.asdict` without its deep copy of every field (0.24 s for 10,000 records)."""
    return {name: getattr(record, name) for name in _RECORD_FIELDS}


def _written(meta: list[str], arrays: dict[str, np.ndarray]) -> bytes:
    """One file: a magic, the length of a JSON header (the meta, and each array's dtype, shape and offset),
    the header, then the arrays' bytes. A load is one read and views into it, where an .npz file of the
    same arrays spent most of a 1,000-document start parsing its twenty headers. The vectors come last."""
    layout, offset = {}, 0
    parts = []
    for name, array in arrays.items():
        data = np.ascontiguousarray(array)
        layout[name] = [data.dtype.str, list(data.shape), offset]
        parts.append(data.tobytes())
        offset += data.nbytes
    header = json.dumps({"meta": meta, "arrays": layout}).encode("utf-8")
    return b"".join([_MAGIC, len(header).to_bytes(8, "little"), header, *parts])


def _read(path: Path) -> tuple[list[str], dict[str, np.ndarray]]:
    """The meta and arrays of a file `_written` made; ValueError for anything else. Two reads: everything
    up to the vectors (last in the file), then the vectors into an array of their own, so that the snapshot
    keeps no copy of the rest once it has made its objects. (Mapping the vectors instead would hold a file
    descriptor per document: a thousand documents would pass the usual limit of 1,024.)"""
    with path.open("rb") as file:
        size_of_file = os.fstat(file.fileno()).st_size
        if file.read(len(_MAGIC)) != _MAGIC:
            raise ValueError("not a docqa records file")
        size = int.from_bytes(file.read(8), "little")
        header = json.loads(file.read(size).decode("utf-8"))
        start = len(_MAGIC) + 8 + size
        layout = {name: (dtype, tuple(shape), int(offset)) for name, (dtype, shape, offset) in header["arrays"].items()}
        for name, (dtype, shape, offset) in layout.items():
            if dtype not in _DTYPES:
                raise ValueError(f"unexpected dtype {dtype!r}")
            if offset < 0 or start + offset + int(np.prod(shape)) * np.dtype(dtype).itemsize > size_of_file:
                raise ValueError(f"array {name} runs past the end of the file")
        dtype, shape, offset = layout.pop("vectors")
        body = file.read(offset)
        vectors = np.fromfile(file, dtype=dtype, count=int(np.prod(shape))).reshape(shape)
    arrays = {
        name: np.frombuffer(body, dtype=dtype, count=int(np.prod(shape)), offset=offset).reshape(shape)
        for name, (dtype, shape, offset) in layout.items()
    }
    return header["meta"], {**arrays, "vectors": vectors}


def _arrays(r: DocumentRecords) -> dict[str, np.ndarray]:
    vocabulary = sorted({t for ts in r.sentence_terms for t in ts} | {t for ts in r.chunk_terms for t in ts})
    number = {t: i for i, t in enumerate(vocabulary)}
    return {
        **_packed("vocabulary", vocabulary),
        **_packed("chunk_ids", [c.id for c in r.chunks]),
        **_packed("chunk_texts", [c.text for c in r.chunks]),
        "chunk_spans": np.array([(c.position, c.start, c.end) for c in r.chunks], dtype=np.int64).reshape(-1, 3),
        **_flat("chunk_terms", r.chunk_terms, number),
        **_packed("sentence_ids", [s.id for s in r.sentences]),
        **_packed("sentence_texts", [s.text for s in r.sentences]),
        **_packed("sentence_leads", [s.lead for s in r.sentences]),
        "sentence_spans": np.array(
            [(s.position, s.start, s.end, s.paragraph) for s in r.sentences], dtype=np.int64
        ).reshape(-1, 4),
        **_flat("sentence_terms", r.sentence_terms, number),
        "vectors": np.asarray(r.vectors, dtype=np.float32),
    }


def _records(source: str, data: dict[str, np.ndarray]) -> DocumentRecords:
    vocabulary = _unpacked(data, "vocabulary")
    chunks = [
        Chunk(i, source, p, s, e, t)
        for i, (p, s, e), t in zip(
            _unpacked(data, "chunk_ids"), data["chunk_spans"].tolist(), _unpacked(data, "chunk_texts"), strict=True
        )
    ]
    sentences = [
        Sentence(i, source, p, s, e, t, g, lead)
        for i, (p, s, e, g), t, lead in zip(
            _unpacked(data, "sentence_ids"),
            data["sentence_spans"].tolist(),
            _unpacked(data, "sentence_texts"),
            _unpacked(data, "sentence_leads"),
            strict=True,
        )
    ]
    chunk_terms = [list(ts) for ts in _unflat(data, "chunk_terms", vocabulary)]
    sentence_terms = _unflat(data, "sentence_terms", vocabulary)
    vectors = data["vectors"]
    if len(chunk_terms) != len(chunks) or len(sentence_terms) != len(sentences) or len(vectors) != len(sentences):
        raise ValueError("its arrays disagree in length")
    return DocumentRecords(chunks, chunk_terms, sentences, sentence_terms, vectors)


def _packed(name: str, strings: list[str]) -> dict[str, np.ndarray]:
    """Strings as one UTF-8 text and where (in characters) each ends: compact, and no pickle."""
    text = "".join(strings)
    ends = np.cumsum([len(x) for x in strings], dtype=np.int64)
    return {name: np.frombuffer(text.encode("utf-8"), dtype=np.uint8), f"{name}_ends": ends}


def _unpacked(data: dict[str, np.ndarray], name: str) -> list[str]:
    text = data[name].tobytes().decode("utf-8")
    ends = data[f"{name}_ends"].tolist()
    return [text[a:b] for a, b in zip([0, *ends[:-1]], ends)]


def _flat(name: str, lists: list, number: dict[str, int]) -> dict[str, np.ndarray]:
    """Lists of terms as term numbers end to end, and where each list ends."""
    flat = np.array([number[t] for ts in lists for t in ts], dtype=np.int64)
    ends = np.cumsum([len(ts) for ts in lists], dtype=np.int64)
    return {name: flat, f"{name}_ends": ends}


def _unflat(data: dict[str, np.ndarray], name: str, vocabulary: list[str]) -> list[tuple[str, ...]]:
    words = [vocabulary[i] for i in data[name].tolist()]
    ends = data[f"{name}_ends"].tolist()
    return [tuple(words[a:b]) for a, b in zip([0, *ends[:-1]], ends)]


def _stale_temporary(path: Path) -> bool:
    """A temporary file of a write that did not finish: the process that wrote it is gone."""
    if not (path.name.startswith(".") and path.suffix == ".tmp"):
        return False
    try:
        pid = int(path.name.split(".")[-3])
    except (ValueError, IndexError):
        return True
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
