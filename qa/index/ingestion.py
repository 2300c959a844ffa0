"""Ingestion: files -> chunks and sentences -> vectors -> store, incrementally and crash-safely.

Unchanged files (same content hash) are skipped; a changed file's records are replaced; files
that disappeared from an ingested folder are removed. A file that cannot be read is reported
and skipped; it never stops the others.
"""

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from qa.errors import DocumentError, ModelUnavailable
from qa.index.chunking import Chunk, Chunker, Sentence
from qa.index.documents import Document, discover, read_document
from qa.index.embedding import Embedder
from qa.index.store import DocumentRecord, EmbeddedDocument, Store

log = logging.getLogger(__name__)

_EMBED_BATCH = 32


@dataclass
class IngestReport:
    """What one ingest did, for the CLI and the logs."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[DocumentError] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    chunks: int = 0
    sentences: int = 0
    repaired: int = 0
    seconds: float = 0.0


class Ingestor:
    """Brings the store in line with a set of files and folders."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        chunker: Chunker,
        max_file_bytes: int,
        follow_links: bool = False,
        max_text_chars: int = 20_000_000,
        written: Callable[[DocumentRecord, EmbeddedDocument], None] | None = None,
    ):
        """`written` is told of each document once it is committed (the service keeps its records, so
        that the reload after an ingest need not read them back from the store)."""
        self._store = store
        self._written = written
        self._embedder = embedder
        self._chunker = chunker
        self._max_bytes = max_file_bytes
        self._max_chars = max_text_chars
        self._bar_lock = threading.Lock()
        self._follow_links = follow_links

    def run(
        self,
        paths: list[Path],
        progress: bool = False,
        follow_links: bool | None = None,
        known: Mapping[str, DocumentRecord] | None = None,
    ) -> IngestReport:
        """Index what changed under `paths`. `known`: the committed documents as last read (a snapshot's), so
        that only what changed since is read back (`Store.documents_since`)."""
        began = time.perf_counter()
        report = IngestReport(repaired=self._store.repair())
        follow = self._follow_links if follow_links is None else follow_links
        files, report.errors, report.skipped = discover(paths, follow)
        if any(p.is_dir() for p in paths):
            committed = self._store.documents_since(known or {})
        else:  # files named one by one: only theirs are needed, not a read of every document's record
            committed = self._store.documents_of([str(f) for f in files])
        todo: list[Document] = []
        for path in files:
            try:
                doc = read_document(path, self._max_bytes, self._max_chars)
            except DocumentError as exc:
                report.errors.append(exc)
                self._forget_stale(str(path), committed, report)
                continue
            indexed = committed.get(doc.source)
            if indexed and indexed.content_hash == doc.content_hash:
                report.unchanged.append(doc.source)
            else:
                todo.append(doc)
                (report.updated if indexed else report.added).append(doc.source)
        self._index(todo, report, progress)
        self._prune(paths, files, committed, report)
        report.seconds = time.perf_counter() - began
        return report

    def _index(self, docs: list[Document], report: IngestReport, progress: bool) -> None:
        """Split and embed documents ahead in worker threads while finished ones are written, in order.

        Writes stay one document at a time (its records, then its commit record), so a crash leaves what it
        always left. Reading ahead is bounded: as many documents as the embedder can take at once (one for
        the local engine; two per server for embedding servers, so each has a batch waiting), plus one.
        """
        ahead = max(1, int(getattr(self._embedder, "concurrency", 1))) + 1
        if docs:
            self._chunker.load()
        with (
            tqdm(total=0, unit="sentence", desc="Embedding", disable=not progress or not docs) as bar,
            ThreadPoolExecutor(max_workers=ahead, thread_name_prefix="ingest") as pool,
        ):
            pending: deque[Future] = deque()
            written = 0
            try:
                for doc in docs:
                    pending.append(pool.submit(self._prepare, doc, bar))
                    if len(pending) >= ahead:
                        written = self._write(pending.popleft().result(), report, bar, written, len(docs))
                while pending:
                    written = self._write(pending.popleft().result(), report, bar, written, len(docs))
            except ModelUnavailable as exc:  # the embedding servers failed for good: stop, say what is missing
                for future in pending:
                    future.cancel()
                self._not_indexed(docs[written:], exc, report)

    @staticmethod
    def _not_indexed(docs: list[Document], cause: ModelUnavailable, report: IngestReport) -> None:
        """Documents left out when embedding failed: reported one by one, never half-written (a document is
        committed only after all its records), so the next ingest completes the index."""
        for doc in docs:
            for listed in (report.added, report.updated):
                if doc.source in listed:
                    listed.remove(doc.source)
            report.errors.append(DocumentError(f"{doc.source}: not indexed: {cause.user_message()}"))

    def _prepare(self, doc: Document, bar: tqdm) -> EmbeddedDocument:
        chunks, sentences = self._chunker.chunks(doc), self._chunker.sentences(doc)
        with self._bar_lock:
            bar.total += len(sentences)
            bar.refresh()
        vectors = self._embed(sentences, bar)
        return EmbeddedDocument(doc, chunks, chunk_vectors(chunks, sentences, vectors), sentences, vectors)

    def _write(self, entry: EmbeddedDocument, report: IngestReport, bar: tqdm, written: int, total: int) -> int:
        record = self._store.write(entry)
        if self._written is not None:
            self._written(record, entry)
        chunks, sentences = len(entry.chunks), len(entry.sentences)
        report.chunks += chunks
        report.sentences += sentences
        log.info("indexed %s: %d chunks, %d sentences", entry.document.source, chunks, sentences)
        bar.set_postfix_str(f"{written + 1}/{total} documents")
        return written + 1

    def _embed(self, sentences: list[Sentence], bar: tqdm) -> np.ndarray:
        parts = []
        size = int(getattr(self._embedder, "batch_hint", _EMBED_BATCH))
        for i in range(0, len(sentences), size):
            batch = [s.text for s in sentences[i : i + size]]
            parts.append(self._embedder.embed_passages(batch))
            with self._bar_lock:
                bar.update(len(batch))
        return np.vstack(parts) if parts else np.zeros((0, self._embedder.dim), dtype=np.float32)

    def _forget_stale(self, source: str, committed: dict, report: IngestReport) -> None:
        """A file that was indexed and can no longer be read (emptied, damaged, grown too large) leaves the
        index: its old text no longer matches the file, and citations into it would point at text that is gone."""
        if source in committed and self._store.remove(source):
            log.warning("%s: removed from the index, since its file can no longer be read", source)
            report.removed.append(source)

    def _prune(self, paths: list[Path], files: list[Path], committed: dict, report: IngestReport) -> None:
        """Forget documents of an ingested folder whose files are gone."""
        present = {str(f) for f in files}
        folders = [p for p in paths if p.is_dir()]
        if not folders:
            return  # only files named: nothing to look for (a stat of every indexed file, 1,000 at 1,000 documents)
        for source in committed:
            inside = source not in present and any(_inside(source, folder) for folder in folders)
            if inside and not Path(source).exists() and self._store.remove(source):
                report.removed.append(source)


def _inside(source: str, folder: Path) -> bool:
    return Path(source).is_relative_to(folder)


def chunk_vectors(chunks: list[Chunk], sentences: list[Sentence], vectors: np.ndarray) -> np.ndarray:
    """A chunk's vector is the normalised mean of its sentences' vectors: no second model pass."""
    out = np.zeros((len(chunks), vectors.shape[1] if vectors.size else 1), dtype=np.float32)
    for n, chunk in enumerate(chunks):
        inside = [k for k, s in enumerate(sentences) if s.end > chunk.start and s.start < chunk.end]
        if inside:
            mean = vectors[inside].mean(axis=0)
            out[n] = mean / (np.linalg.norm(mean) or 1.0)
        else:
            out[n, 0] = 1.0
    return out
