"""QAService: the one facade the Python API, the CLI and the web chat share.

It builds the parts from Settings (or takes them ready-made, so tests can swap any of them),
builds the index on first use when it is empty, and turns a question into a Reply.
"""

import hashlib
import inspect
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ParamSpec

from qa.answering import AnswerModel, Context
from qa.answering.factory import build_model
from qa.errors import DocumentError, InvalidQuestion
from qa.index.chroma_client import open_http_client, open_persistent_client
from qa.index.chroma_store import ChromaStore
from qa.index.chunking import Chunker
from qa.index.embedding import Embedder, build_embedder
from qa.index.ingestion import Ingestor, IngestReport
from qa.index.store import DocumentRecord, Store
from qa.index.uploads import UploadFolder
from qa.memory import give_back
from qa.query.conversation import Condenser, Message, condense, validate_history
from qa.query.corpus import Corpus
from qa.query.evidence import EvidenceRanker, RankerFactory, evidence_ranker
from qa.query.fusion import Fusion, build_fusion
from qa.query.record_cache import CACHE_FOLDER, RecordCache
from qa.query.retrieval import HybridRetriever, Retriever
from qa.reply import Delta, Reply
from qa.settings import MAX_TOP_K, Settings
from qa.text import clean_text

log = logging.getLogger(__name__)

_P = ParamSpec("_P")

_FUSION_OF = {
    "learned": "learned",
    "rules": "weighted",
    "vetoed": "weighted",
    "read": "weighted",
    "learned-read": "learned",
}  # each ranker's own fusion


def _ask_of(stream: Callable[_P, Iterator[Delta | Reply]]) -> Callable[_P, Reply]:
    """The `ask` of a `stream` method: it takes the very parameters of `stream`, so the two cannot drift
    apart, and returns only the final Reply (help() shows those parameters and that return type)."""

    def ask(*args: _P.args, **kwargs: _P.kwargs) -> Reply:
        """Only the final Reply of `stream`, which takes the same arguments."""
        final = None
        for event in stream(*args, **kwargs):
            if isinstance(event, Reply):
                final = event
        assert final is not None, "answer models always end with a Reply"
        return final

    ask.__qualname__ = stream.__qualname__.removesuffix(stream.__name__) + ask.__name__
    ask.__signature__ = inspect.signature(stream).replace(return_annotation=Reply)  # type: ignore[attr-defined]
    return ask


@dataclass
class _Engine:
    """Everything that depends on one corpus snapshot; swapped whole after an ingest."""

    corpus: Corpus
    retriever: Retriever
    ranker: EvidenceRanker
    generation: str  # the store's generation the corpus was loaded at


def record_cache_dir(settings: Settings) -> Path:
    """Where this machine keeps its copy of the committed documents' records (qa/query/record_cache.py): in the
    index folder, and with a Chroma server in a folder of that server's own (two servers may hold collections
    of the same name). A copy is used only while it matches the committed record, so a server that another
    machine writes to stays the truth."""
    folder = settings.index_dir / CACHE_FOLDER
    if settings.chroma_url:
        url = settings.chroma_url.rstrip("/")
        folder = folder / f"server-{hashlib.sha256(url.encode()).hexdigest()[:16]}"
    return folder


class QAService:
    """Ask questions of the indexed documents; ingest documents into the index."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        embedder: Embedder,
        model: AnswerModel,
        condenser: Condenser = condense,
        fusion: Fusion | None = None,
        ranker: RankerFactory | None = None,
        cache_dir: Path | None = None,
    ):
        self.settings = settings
        self._cache_dir = cache_dir  # each collection's RecordCache is a folder in it; None: no cache
        self._cache = RecordCache(cache_dir / settings.collection, embedder.name, embedder.dim) if cache_dir else None
        self._store = store
        self._embedder = embedder
        self._model = model
        self._condense = condenser
        self._fusion = fusion or build_fusion(settings.fusion or _FUSION_OF[settings.evidence], settings.dense_weight)
        self._ranker = ranker or evidence_ranker(settings.evidence, settings.answer_threshold)
        self._ingestor = Ingestor(
            store,
            embedder,
            Chunker(settings.chunk_size, settings.chunk_overlap),
            settings.max_file_bytes,
            settings.follow_links,
            settings.max_text_chars,
            written=self._cache.put_written if self._cache is not None else None,
        )
        self._engine: _Engine | None = None
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._swap = threading.Lock()  # held only to replace the engine, never while loading one
        self._checked = 0.0  # when the store's generation was last compared with the engine's
        self._last_corpus: Corpus | None = None  # the latest snapshot: a reload reads only what changed since

    @property
    def model(self) -> AnswerModel:
        """The answer model in use (its `name`; LLM backends keep verification statistics)."""
        return self._model

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    @property
    def store(self) -> Store:
        return self._store

    def delete_index(self) -> None:
        """Delete this service's collection from the store, and the local copy of its records."""
        self._store.delete()
        if self._cache is not None:
            self._cache.clear()

    def sibling(self, collection: str, upload_dir: Path) -> "QAService":
        """A service over another collection of the same Chroma (a notebook), sharing embedder and model."""
        settings = self.settings.model_copy(
            update={"collection": collection, "upload_dir": upload_dir, "auto_ingest": False}
        )
        return QAService(
            settings,
            self._store.sibling(collection),
            self._embedder,
            self._model,
            self._condense,
            self._fusion,
            self._ranker,
            self._cache_dir,
        )

    def corpus(self) -> Corpus:
        """The current snapshot of the indexed text (what citations point into)."""
        return self._ready().corpus

    def with_model(self, model: AnswerModel, condenser: Condenser = condense) -> "QAService":
        """A service over the same index and embedder that answers with another model."""
        other = QAService(
            self.settings, self._store, self._embedder, model, condenser, self._fusion, self._ranker, self._cache_dir
        )
        other._engine, other._last_corpus = self._engine, self._last_corpus
        return other

    @classmethod
    def from_settings(cls, settings: Settings) -> "QAService":
        """The production wiring: persistent Chroma, the shipped embedder, the configured model."""
        embedder = build_embedder(settings)  # local, or the embed_url servers
        client = (
            open_http_client(settings.chroma_url) if settings.chroma_url else open_persistent_client(settings.index_dir)
        )
        store = ChromaStore(client, settings.collection, embedder.name, embedder.dim, embedder)
        model, condenser = build_model(settings, embedder)
        return cls(settings, store, embedder, model, condenser, cache_dir=record_cache_dir(settings))

    def ingest(
        self,
        paths: Sequence[Path | str] | None = None,
        rebuild: bool = False,
        progress: bool = False,
        follow_links: bool | None = None,
    ) -> IngestReport:
        """Bring the index in line with `paths` (default: the configured documents). Links out of an
        ingested folder are skipped unless `follow_links` (default: the `follow_links` setting)."""
        targets = [Path(p) for p in (paths or self.settings.documents)]
        with self._lock:
            if rebuild:
                self._store.drop()
            known = self._last_corpus.documents if self._last_corpus is not None and not rebuild else None
            report = self._ingestor.run(targets, progress=progress, follow_links=follow_links, known=known)
            self._replace(None)
        for error in report.errors:
            log.warning("%s", error)
        return report

    def add_files(self, files: Sequence[tuple[str, bytes]], progress: bool = False) -> IngestReport:
        """Keep uploaded files (name, bytes) in the upload folder and index them.

        Each file is checked on its own: its kind comes from its bytes, its size from `max_file_bytes`; one
        that cannot be used is reported in `errors` and leaves nothing behind, and the others still go in.
        """
        s = self.settings
        if len(files) > s.max_upload_files:
            raise DocumentError(
                f"{len(files)} files in one upload; the limit is {s.max_upload_files}.",
                hint="Send fewer at a time, or raise QA_MAX_UPLOAD_FILES.",
            )
        folder = UploadFolder(s.upload_dir)
        if len(self.documents()) + len(files) > s.max_documents:
            raise DocumentError(
                f"This collection would hold more than {s.max_documents} documents; nothing was added.",
                hint="Remove some documents, start another notebook, or raise QA_MAX_DOCUMENTS.",
            )
        kept = folder.size() + sum(len(data) for _, data in files)
        if kept > s.max_upload_bytes:
            raise DocumentError(
                f"Uploads here would take {kept} bytes, over the limit of {s.max_upload_bytes}; nothing was added.",
                hint="Remove some documents, or raise QA_MAX_UPLOAD_BYTES.",
            )
        saved: list[Path] = []
        errors: list[DocumentError] = []
        for name, data in files:
            if len(data) > s.max_file_bytes:
                errors.append(
                    DocumentError(
                        f"{name}: {len(data)} bytes is over the limit of {s.max_file_bytes} (QA_MAX_FILE_BYTES)"
                    )
                )
                continue
            try:
                path = folder.save(name, data)
            except DocumentError as exc:
                errors.append(exc)
                continue
            if path not in saved:  # the same bytes under the same name twice are one document
                saved.append(path)
        report = self.ingest(saved, progress=progress) if saved else IngestReport()
        indexed = self._store.documents()
        for path in saved:
            if str(path) not in indexed:
                folder.discard(path)
        report.errors[:0] = errors
        return report

    def document(self, document_id: str) -> DocumentRecord | None:
        """The indexed document with this `id` (see `DocumentRecord.id`), if any."""
        return next((d for d in self._store.documents().values() if d.id == document_id), None)

    def documents(self) -> list[DocumentRecord]:
        """The documents in the index, by source."""
        return sorted(self._store.documents().values(), key=lambda d: d.source)

    def remove(self, source: str | Path) -> bool:
        """Forget one document (by the source shown in `documents()`); False if it was not indexed.
        An uploaded file (one kept in the upload folder) is deleted as well: nobody else owns it."""
        with self._lock:
            removed = self._store.remove(str(Path(source)))
            self._replace(None)
        if removed:
            UploadFolder(self.settings.upload_dir).discard(Path(source))
        return removed

    def document_text(self, source: str | Path) -> str | None:
        """The text a document's citation offsets index (for PDF, HTML, DOCX: the extracted text)."""
        return self._store.document_text(str(Path(source)))

    def warm_up(self) -> None:
        """Load (or first build) the index and retrieve once, so the first real question is fast.

        The answer model is not called: an LLM server may still be starting, and it is not ours to wait for.
        """
        engine = self._ready()
        engine.ranker.rank(engine.retriever.retrieve(condense("What do the documents say?", []), None))

    def stream(
        self,
        question: str,
        history: Sequence[Message] | None = None,
        top_k: int | None = None,
        explain: bool = False,
        sources: Sequence[str] | None = None,
    ) -> Iterator[Delta | Reply]:
        """Text deltas as the answer is composed, then the final Reply: an answer with citations, or a
        refusal when the documents do not hold the answer. With `explain`, the reply says why
        (`Reply.explanation`); with `sources` (sources or ids from `documents()`), only those documents
        are searched."""
        question = self.clean_question(question)
        turns = validate_history(history)
        top_k = _checked_top_k(top_k)
        engine = self._ready()
        chosen = _chosen_sources(sources, engine.corpus)
        retrieval = engine.retriever.retrieve(self._condense(question, turns), top_k, chosen)
        context = Context(question, retrieval, engine.ranker.rank(retrieval), engine.corpus)
        for event in self._model.stream(context):
            if explain and isinstance(event, Reply):
                event = replace(event, explanation=engine.ranker.explain(context.ranking))
            yield event

    ask = _ask_of(stream)

    def clean_question(self, question: object) -> str:
        """The question with control characters removed; InvalidQuestion if nothing is left."""
        if not isinstance(question, str):
            raise InvalidQuestion(f"The question must be text, not {type(question).__name__}.")
        cleaned = clean_text(question)
        cleaned = " ".join(cleaned.split())
        if not cleaned:
            raise InvalidQuestion("The question is empty.", hint="Type a question about the documents.")
        limit = self.settings.max_question_chars
        if len(cleaned) > limit:
            raise InvalidQuestion(
                f"The question is {len(cleaned)} characters long; the limit is {limit}.",
                hint="Shorten it, or raise QA_MAX_QUESTION_CHARS.",
            )
        return cleaned

    def _ready(self) -> _Engine:
        """The current engine, building the index first when it is empty, and reloading it when another
        process changed the index (checked every `refresh_seconds`)."""
        engine = self._engine
        if engine is not None:
            self._catch_up(engine)
            self._serve_mapped()
            return self._engine or engine
        with self._lock:
            if self._engine is None:
                generation = self._store.generation()
                corpus = Corpus.load(self._store, self._last_corpus, self._cache)
                if not corpus.documents and self.settings.auto_ingest:
                    log.info("index is empty: ingesting %s", ", ".join(map(str, self.settings.documents)))
                    self._ingestor.run(list(self.settings.documents), progress=False)
                    generation = self._store.generation()
                    corpus = Corpus.load(self._store, cache=self._cache)
                self._replace(self._build(corpus, generation))
                self._checked = time.monotonic()
            assert self._engine is not None
            return self._engine

    def _catch_up(self, engine: _Engine) -> None:
        """Reload the snapshot if the store's generation moved on since `engine` was built. One caller
        checks at a time and pays for the reload; the others keep answering from the current snapshot."""
        every = self.settings.refresh_seconds
        if not every or time.monotonic() - self._checked < every:
            return
        if self._lock.locked() or not self._refreshing.acquire(blocking=False):
            return  # this service is ingesting (it replaces the engine when done), or another caller checks
        try:
            self._checked = time.monotonic()
            generation = self._store.generation()
            if generation != engine.generation:
                log.info("the index changed in another process: reloading it")
                self._replace(
                    self._build(Corpus.load(self._store, engine.corpus, self._cache), generation),
                    unless_replaced=engine,
                )
        finally:
            self._refreshing.release()

    def _serve_mapped(self) -> None:
        """Once the snapshot combined in memory after a change is written to its file, answer from the file
        (`RecordCache.mapped_for`): the same columns, mapped, so the private copy is given back. Likewise once
        the documents stacked on a snapshot were merged with it into a new file in the background."""
        engine = self._engine
        if self._cache is None or engine is None:
            return
        current = engine.corpus
        merged = self._cache.mapped_for(current.added) if current.added is not None else None
        if merged is not None:
            corpus = Corpus(current.documents, merged)
        else:
            base = self._cache.mapped_for(current.columns)
            if base is None:
                return
            corpus = Corpus(current.documents, base, current.added)
        log.info("serving the snapshot from its file")
        self._replace(self._build(corpus, engine.generation), unless_replaced=engine)
        del engine, current, corpus  # questions still running on the old engine free it when they finish
        give_back()

    def _replace(self, new: _Engine | None, unless_replaced: _Engine | None = None) -> None:
        """Install `new` (None: rebuild on next use). With `unless_replaced`, only if that engine is still
        the current one: a reload that raced with this process's own ingest or removal must not undo it."""
        with self._swap:
            if unless_replaced is None or self._engine is unless_replaced:
                self._engine = new
                if new is not None:
                    self._last_corpus = new.corpus

    def _build(self, corpus: Corpus, generation: str) -> _Engine:
        s = self.settings
        retriever = HybridRetriever(
            self._store,
            corpus,
            self._embedder,
            self._fusion,
            s.top_k,
            s.dense_candidates,
            s.evidence_chunks,
            s.exact_search_limit,
        )
        return _Engine(corpus, retriever, self._ranker(corpus), generation)


def _checked_top_k(value: object) -> int | None:
    """top_k as a whole number in range (5.0 from a JSON client is 5); InvalidQuestion for anything else."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TOP_K:
        raise InvalidQuestion(f"top_k must be between 1 and {MAX_TOP_K}")
    return value


def _chosen_sources(sources: object, corpus: Corpus) -> set[str] | None:
    """The documents a question is restricted to, each named by its source or its id; InvalidQuestion
    for an empty choice or a document the index does not hold."""
    if sources is None:
        return None
    if isinstance(sources, str) or not isinstance(sources, Sequence) or not all(isinstance(s, str) for s in sources):
        raise InvalidQuestion("sources must be a list of document sources or ids.")
    if not sources:
        raise InvalidQuestion("No sources are selected.", hint="Select at least one document to ask about.")
    by_id = {record.id: source for source, record in corpus.documents.items()}
    chosen = {source if source in corpus.documents else by_id.get(source, "") for source in sources}
    unknown = [source for source in sources if source not in corpus.documents and source not in by_id]
    if unknown:
        raise InvalidQuestion(
            f"Not in the index: {', '.join(map(repr, unknown[:3]))}.",
            hint="GET /v1/documents (or service.documents()) lists the documents.",
        )
    return chosen
