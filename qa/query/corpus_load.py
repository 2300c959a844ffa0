"""Loading a corpus snapshot: what a new process or a reload reads, and how documents committed since the last
snapshot join it.

A committed document version never changes, so a load takes the documents of the previous snapshot (or of the
snapshot file the record cache keeps) as they are and reads only those committed since, from the cache's
per-document files or the store. Those are merged into one column set, or, on a large snapshot, stacked after
it (`stacked.py`) and merged in the background once they grow.
"""

import logging

import numpy as np

from qa.index.chunking import Chunk, Sentence
from qa.index.store import DocumentRecord, Store
from qa.query.columns import CorpusColumns, built, combined
from qa.query.corpus import Corpus
from qa.query.record_cache import RecordCache, split_by_source
from qa.query.vectors import SentenceVectors
from qa.text import terms

log = logging.getLogger(__name__)

# Stacking new documents on a snapshot instead of merging them in (`load_corpus`) starts at this many base
# sentences (about 600 COVID-QA papers): merging copies every column, 0.9-5.5 s at 10,000 documents
# (1.69 million sentences) and under 0.2 s below this size.
STACK_FROM = 100_000
MERGE_AT = 8  # documents stacked on a base are merged into it once they hold 1/8 of its sentences
DOCUMENTS_PER_PART = 500  # documents read into Python objects at a time by a load (`_read`)


def load_corpus(
    store: Store,
    previous: Corpus | None = None,
    cache: RecordCache | None = None,
    stack_from: int | None = None,
) -> Corpus:
    """Read the committed part of the store. A committed document version never changes, so the documents
    of `previous` (an older snapshot of the same store), or else of the snapshot file `cache` keeps, are
    taken from it as they are, and only documents committed since are read (from the cache's per-document
    files, or the store); the result holds what a full load holds.

    New documents are merged into one column set and the result written back to the cache for the next
    process, unless the base holds at least `stack_from` (default `STACK_FROM`) sentences and none of its
    documents was removed or replaced: then they are stacked after the base (`stacked.py`) and the
    snapshot file is left as it is (the next process stacks them the same way, from the cache's
    per-document files). Once the stacked documents hold more than 1/`MERGE_AT` of the base's sentences,
    they are merged into one file in the background (`RecordCache.save_snapshot`) while the stack keeps
    answering; with no cache, at once. Nor is a large snapshot rewritten only because the generation
    moved while its documents stayed the same (a document added and removed again): writing the file
    out of its own mapping made all of it resident in the process, 2.3 GB at 10,000 documents; the next
    start reads the document list back instead (0.13-0.5 s there).

    A snapshot file taken at the store's current settled generation (`Store.settled_generation`) is
    the committed corpus itself: it is used without reading the document list back. Otherwise only the
    versions the base does not hold are read back (`Store.documents_since`)."""
    settled = store.settled_generation() if cache is not None else ""
    snapshot = cache.snapshot() if cache is not None and previous is None else None
    if cache is not None and snapshot is not None and settled and snapshot.generation == settled:
        cache.prune(snapshot.documents.values())
        log.info("corpus: %d documents, the snapshot of the current generation", len(snapshot.documents))
        return Corpus(snapshot.documents, snapshot.columns)
    base_docs: dict[str, DocumentRecord] = {}
    parts: list[CorpusColumns] = []
    where: dict[str, tuple[int, int]] = {}
    if previous is not None:
        base_docs, parts = previous.documents, previous.parts()
        where = {s: previous.located(s) for s in previous.sources}
    elif snapshot is not None:
        base_docs, parts = snapshot.documents, [snapshot.columns]
        where = {s: (0, n) for n, s in enumerate(snapshot.columns.sources)}
    documents = store.documents_since(base_docs)
    kept = {s for s, d in documents.items() if base_docs.get(s) == d and s in where}
    fresh = {s: d for s, d in documents.items() if s not in kept}
    held = parts[0] if parts else None  # the snapshot loaded before (None: a first full read)
    stackable = held is not None and len(held.sentence_texts) >= (STACK_FROM if stack_from is None else stack_from)
    if fresh or not parts:
        parts.append(_read(store, fresh, cache))
        where.update({s: (len(parts) - 1, n) for n, s in enumerate(parts[-1].sources)})
    picks = [where[s] for s in sorted(documents) if s in where]  # (a document with no records has no rows)
    if cache is not None and (previous is None or len(kept) < len(base_docs)):
        cache.prune(documents.values())  # (a reload prunes only when a version went: 0.14 s at 10,000 files)
    base = parts[0]
    on_top = [(p, n) for p, n in picks if p > 0]
    grown = MERGE_AT * sum(_sentences(parts[p], n) for p, n in on_top) > len(base.sentence_texts)
    if stackable and len(on_top) == len(picks) - len(base.sources) and (cache is not None or not grown):
        added = combined(parts[1:], [(p - 1, n) for p, n in on_top]) if on_top else None
        corpus = Corpus(documents, base, added)
        if cache is not None and grown and added is not None:
            log.info("corpus: merging %d stacked documents into the snapshot, in the background", len(on_top))
            merged = [corpus.located(s) for s in sorted(corpus.sources)]
            cache.save_snapshot(documents, lambda: combined([base, added], merged), settled, key=added)
        log.info("corpus: %d documents (%d added after the base snapshot)", len(documents), len(on_top))
        return corpus
    columns = combined(parts, picks)
    if cache is not None and (
        columns is not held or (snapshot is not None and settled and snapshot.generation != settled)
    ):
        cache.save_snapshot(documents, columns, settled)
    log.info(
        "corpus: %d documents (%d kept, %d read), %d chunks, %d sentences",
        len(documents),
        len(kept),
        len(fresh),
        len(columns.chunk_texts),
        len(columns.sentence_texts),
    )
    return Corpus(documents, columns)


def _sentences(columns: CorpusColumns, document: int) -> int:
    return int(columns.sentence_first[document + 1] - columns.sentence_first[document])


def _read(store: Store, fresh: dict[str, DocumentRecord], cache: RecordCache | None) -> CorpusColumns:
    """The columns of the `fresh` documents, `DOCUMENTS_PER_PART` at a time (`_read_part`), combined.

    Read whole, the records of 10,000 documents were Python objects all at once before any column was built:
    a cold start with no record cache peaked at about 12 GB. A part's objects go once its columns are built."""
    sources = sorted(fresh)
    groups = [sources[i : i + DOCUMENTS_PER_PART] for i in range(0, len(sources), DOCUMENTS_PER_PART)] or [[]]
    parts = []
    for group in groups:
        parts.append(_read_part(store, {s: fresh[s] for s in group}, cache))
        if len(groups) > 1:
            log.info("corpus: %d of %d documents read", sum(len(x.sources) for x in parts), len(sources))
    if len(parts) == 1:
        return parts[0]
    return combined(parts, [(p, n) for p, part in enumerate(parts) for n in range(len(part.sources))])


def _read_part(store: Store, fresh: dict[str, DocumentRecord], cache: RecordCache | None) -> CorpusColumns:
    """The columns of the `fresh` documents: from the cache's per-document files where it has them, else
    read from the store (and kept in the cache)."""
    cached = {s: got for s, d in fresh.items() if cache is not None and (got := cache.get(d)) is not None}
    unread = {d.content_hash for s, d in fresh.items() if s not in cached}
    chunks = [_chunk(i, t, m) for i, t, m in _rows(store.records("chunks", unread))] if unread else []
    chunk_terms = [terms(c.text) for c in chunks]
    found = store.records("sentences", unread, vectors=True) if unread else None
    sentences = [_sentence(i, t, m) for i, t, m in _rows(found)] if found else []
    sentence_terms = [tuple(terms(s.text)) for s in sentences]
    vectors: list[np.ndarray | SentenceVectors] = [found["vectors"]] if found else []
    if cache is not None and found is not None:
        for source, records in split_by_source(
            chunks, chunk_terms, sentences, sentence_terms, found["vectors"]
        ).items():
            if source in fresh and source not in cached:
                cache.put(fresh[source], records)
    for got in cached.values():
        chunks += got.chunks
        chunk_terms += got.chunk_terms
        sentences += got.sentences
        sentence_terms += got.sentence_terms
        vectors.append(got.vectors)
    return built(chunks, sentences, SentenceVectors.joined(vectors, range(len(sentences))), sentence_terms, chunk_terms)


def _rows(records: dict) -> zip:
    return zip(records["ids"], records["texts"], records["metadatas"])


def _chunk(id_: str, text: str, meta: dict) -> Chunk:
    return Chunk(id_, meta["source"], int(meta["position"]), int(meta["start"]), int(meta["end"]), text)


def _sentence(id_: str, text: str, meta: dict) -> Sentence:
    return Sentence(
        id_,
        meta["source"],
        int(meta["position"]),
        int(meta["start"]),
        int(meta["end"]),
        text,
        int(meta.get("paragraph", 0)),
        str(meta.get("lead", "")),
    )
