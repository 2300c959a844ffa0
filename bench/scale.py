"""How docqa grows with the corpus.

Two modes:

    pip install -e ".[bench]"
    qa --index-dir bench/out/covid-index eval ../shared/datasets/covid-qa/covid-qa-dev.json   # builds the index
    python bench/scale.py [--rounds 3]                      # 1, 10, 30 and 98 papers, plus the article
    python bench/scale.py --documents 100 1000 [10000]      # N documents made from the 98 papers

Papers mode copies the first n papers of the full COVID index, records and vectors included, into
collections of their own, and measures warm `ask` p50/p95 and peak RSS of a fresh service process at each
size, and cold `qa ask` on the full index and on the article.

Documents mode (issue 14, item 4) builds corpora of N documents out of the 98 COVID-QA papers: document i is
copy i // 98 of paper i % 98 (copy 0 is the paper itself), written through `Store.write`, the call ingestion
makes once a document is embedded, so no text is re-embedded: every copy reuses its paper's stored chunk and
sentence vectors. At each size it measures, each in its own process:

- writing the corpus into a fresh collection (the sum of the `Store.write` calls);
- cold start: wall time of `qa ask` in a new process until it has answered;
- warm `ask` p50/p95 in a fresh service process after a warm-up, and that process's peak RSS (VmHWM);
- one more document: a new text file ingested in that same process through `QAService.ingest` (chunked and
  embedded like any file), timed until its question is answered with a citation into it; its embedding time
  alone is timed too. Three rounds (ingest, answer, remove), medians reported; the first round also loads
  the chunker's tokenizer. With `--chroma-server`, a second docqa process (`--watcher`, started and warm
  before each round) asks the same question until an answer cites the new document, and the time from the
  start of the ingest is reported too: it notices the change itself (every `refresh_seconds`) and reads the
  new document's records from the record cache the ingesting process wrote on this machine (another machine
  would read them from the server).

`--reuse` keeps a collection that already holds N documents (its write time then comes from scale.json,
or is left out). `--write-only` writes the corpora, records the write times and measures nothing: a
10,000-document corpus takes well over an hour to write, so it is written once and measured with `--reuse`
(in either mode: the collections are the same files, whichever mode wrote them).

`--chroma-server` runs the same measurements with the collections served by `chroma run` over
bench/out/covid-index (a new server for each size, QA_CHROMA_URL set for every docqa process), the way
several docqa machines share one corpus: the dense index then lives in the server's memory, not in the
docqa process's, and the server's own peak RSS is reported beside it. Its rows go under
"documents-chroma-server" in scale.json.

How a copy differs from its paper. Copy k >= 1 of a paper is a distinct document: its own source
(bench/out/scale-texts/copy-000k/<paper>.txt, written to disk with exactly the indexed text), its own content
hash (sha256 of its text, as ingestion computes it) and so its own record ids (`record_id`). Its text changes
names and numbers without moving a single character: every digit goes through a per-copy permutation of 0-9
(years, counts, percentages, DOIs and hashes change), and every name on the "Authors:" line is swapped for
another author name of the same length from the 98 papers (a per-copy permutation, the same name always
becoming the same one). Both keep the text's length and every offset, so the paper's stored chunk and sentence
spans stay valid: each record's text is re-read from the copy's text at the same offsets (`start`, `end`, and
a sentence's `lead`), and `document_text(source)[start:end] == text` holds for every citation into a copy. A
length-changing rewrite (other names, reworded numbers) would have to re-split the text, and re-embed it. The
vectors stay those of the original text: a copy's changed digits and author names are not in its vectors,
which is what "reusing the vectors" means here; lexical search sees the changed text.

Writes bench/out/scale.json (papers mode: "covid" and "article"; documents mode: "documents", one row per
size) and the plots bench/scale.png (papers mode) and bench/scale-documents.png (documents mode).
"""

import argparse
import contextlib
import hashlib
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import serving  # noqa: F401  (puts the tests' helpers for starting servers on the path)

import qa
from qa.eval import squad
from qa.eval.golden import load_cases
from qa.index.chunking import Chunk, Chunker, Sentence, record_id
from qa.index.documents import Document
from qa.index.embedding import forget_recent_passages
from qa.index.store import DocumentRecord, EmbeddedDocument
from qa.service import record_cache_dir

OUT = Path("bench/out")
INDEX = OUT / "covid-index"
COVID = Path("../shared/datasets/covid-qa/covid-qa-dev.json")
FULL = squad.collection_for(COVID)
SIZES = [1, 10, 30, 98]
KINDS = ("documents", "chunks", "sentences")
COPIES = OUT / "scale-texts"
EXTRA = OUT / "scale-extra" / "harwick-valley-report.txt"
EXTRA_TEXT = """Harwick Valley Field Station: annual surveillance report

The Harwick Valley field station, on the northern shore of Lake Orrin, monitors respiratory infections in the \
valley's nine villages.
In its 2031 season the station recorded 4,812 cases of Ostrava fever, a mild respiratory illness first \
described there.
The station's director, Dr. Ilsa Marchetti, attributes the rise to a late spring thaw that kept families \
indoors for an extra month.
Samples are sequenced at the regional laboratory in Brenn within 48 hours of collection.
"""
EXTRA_ROUNDS = 3  # one more document ingested, answered and removed this many times (medians reported)
EXTRA_QUESTION = "How many cases of Ostrava fever did the Harwick Valley field station record in 2031?"
REUSED = (
    "Vectors reused: every document's chunk and sentence vectors are copied from the stored COVID-QA index, "
    "nothing is re-embedded (only the one extra document, ingested through the normal path)."
)


def copy_subset(n: int) -> str:
    """A collection holding the first `n` papers of the full index, records copied as they are."""
    service = qa.load(index_dir=INDEX, collection=FULL, auto_ingest=False)
    sources = [d.source for d in service.documents()][:n]
    name = f"scale-{n}"
    target = qa.load(index_dir=INDEX, collection=name, auto_ingest=False)
    if len(target.documents()) == n:
        return name
    target._store.drop()
    for kind in KINDS:
        got = service._store._cols[kind].get(
            where={"source": {"$in": sources}}, include=["embeddings", "documents", "metadatas"]
        )
        target._store._upsert(kind, got["ids"], got["embeddings"], got["documents"], got["metadatas"])
    return name


@dataclass
class Paper:
    """One COVID-QA paper as stored: its record, text, chunks and sentences with their vectors."""

    record: DocumentRecord
    text: str
    chunks: list[Chunk]
    chunk_vectors: np.ndarray
    sentences: list[Sentence]
    sentence_vectors: np.ndarray


def load_papers() -> list[Paper]:
    """Every paper of the full COVID index, checked against the offset invariant the copies rely on."""
    store = qa.load(index_dir=INDEX, collection=FULL, auto_ingest=False).store
    documents = store.documents()
    hashes = {d.content_hash for d in documents.values()}
    grouped: dict[str, dict[str, list]] = {s: {"chunks": [], "sentences": []} for s in documents}
    for kind in ("chunks", "sentences"):
        found = store.records(kind, hashes, vectors=True)
        for i, (id_, text, meta) in enumerate(zip(found["ids"], found["texts"], found["metadatas"])):
            grouped[meta["source"]][kind].append((id_, text, meta, found["vectors"][i]))
    papers = []
    for source in sorted(documents):
        text = store.document_text(source)
        assert text is not None, source
        parts = {kind: sorted(rows, key=lambda r: int(r[2]["position"])) for kind, rows in grouped[source].items()}
        chunks = [
            Chunk(i, source, int(m["position"]), int(m["start"]), int(m["end"]), t) for i, t, m, _ in parts["chunks"]
        ]
        sentences = [
            Sentence(
                i,
                source,
                int(m["position"]),
                int(m["start"]),
                int(m["end"]),
                t,
                int(m.get("paragraph", 0)),
                str(m.get("lead", "")),
            )
            for i, t, m, _ in parts["sentences"]
        ]
        for s in sentences:
            assert text[s.start - len(s.lead) : s.start] == s.lead, s.id
        for r in chunks + sentences:
            assert text[r.start : r.end] == r.text, r.id
        papers.append(
            Paper(
                documents[source],
                text,
                chunks,
                np.array([v for *_, v in parts["chunks"]], dtype=np.float32),
                sentences,
                np.array([v for *_, v in parts["sentences"]], dtype=np.float32),
            )
        )
    return papers


_AUTHORS = re.compile(r"^Authors: (.*)$", re.MULTILINE)
_NAME = re.compile(r"[^\W\d_]{2,}")


class Copier:
    """Makes copy k of a paper: digits permuted, author names swapped, both keeping every offset."""

    def __init__(self, papers: list[Paper]):
        names: dict[int, set[str]] = {}
        for paper in papers:
            for line in _AUTHORS.finditer(paper.text):
                for name in _NAME.findall(line.group(1)):
                    names.setdefault(len(name), set()).add(name)
        self._names = {length: sorted(found) for length, found in names.items()}
        self._digits: dict[int, dict[int, int]] = {}
        self._renames: dict[int, dict[str, str]] = {}

    def digits(self, k: int) -> dict[int, int]:
        """A permutation of 0-9 for copy k (the identity for copy 0, never for another)."""
        if k not in self._digits:
            order = list("0123456789")
            rng = random.Random(f"digits-{k}")
            while k and order == sorted(order):
                rng.shuffle(order)
            self._digits[k] = str.maketrans("0123456789", "".join(order))
        return self._digits[k]

    def renames(self, k: int) -> dict[str, str]:
        """Author names to names of the same length, a permutation within each length, for copy k."""
        if k not in self._renames:
            rng = random.Random(f"names-{k}")
            mapping = {}
            for group in self._names.values():
                shuffled = list(group)
                if k:
                    rng.shuffle(shuffled)
                mapping.update(zip(group, shuffled))
            self._renames[k] = mapping
        return self._renames[k]

    def text(self, paper: Paper, k: int) -> str:
        text = paper.text.translate(self.digits(k))
        renames = self.renames(k)
        chars = list(text)
        for line in _AUTHORS.finditer(text):
            for name in _NAME.finditer(line.group(1)):
                start = line.start(1) + name.start()
                chars[start : start + len(name.group())] = renames.get(name.group(), name.group())
        out = "".join(chars)
        assert len(out) == len(paper.text)
        return out

    def copy(self, paper: Paper, k: int) -> tuple[Document, list[Chunk], list[Sentence]]:
        """Copy k as a document with its chunks and sentences (same positions and offsets, own ids)."""
        text = self.text(paper, k)
        source = paper.record.source if k == 0 else str(COPIES / f"copy-{k:04d}" / Path(paper.record.source).name)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        title = paper.record.title.translate(self.digits(k))
        doc = Document(source=source, text=text, title=title, date=paper.record.date, content_hash=digest)
        chunks = [
            Chunk(record_id(digest, "c", c.position), source, c.position, c.start, c.end, text[c.start : c.end])
            for c in paper.chunks
        ]
        sentences = [
            Sentence(
                record_id(digest, "s", s.position),
                source,
                s.position,
                s.start,
                s.end,
                text[s.start : s.end],
                s.paragraph,
                text[s.start - len(s.lead) : s.start],
            )
            for s in paper.sentences
        ]
        if k == 0:  # copy 0 is the paper itself: the rebuilt records must be the stored ones
            assert digest == paper.record.content_hash and chunks == paper.chunks and sentences == paper.sentences
        return doc, chunks, sentences


def build_documents(n: int, papers: list[Paper], copier: Copier, reuse: bool, saved: list[dict]) -> dict:
    """A fresh collection of `n` documents (document i: copy i // 98 of paper i % 98), written through
    `Store.write` with the papers' stored vectors; how long the writes took. With `reuse`, a collection
    already holding `n` documents is kept, and its write figures are taken from `saved` (the rows of
    bench/out/scale.json as they were before this run)."""
    name = f"scale-docs-{n}"
    store = qa.load(index_dir=INDEX, collection=name, auto_ingest=False).store
    if reuse and len(store.documents()) == n:
        before = [r for r in saved if r["documents"] == n and r.get("write_s")]
        keys = ("collection", "documents", "copies_per_paper", "chunks", "sentences", "write_s", "write_docs_per_s")
        row = {k: before[-1][k] for k in keys} if before else {"collection": name, "documents": n, "write_s": None}
        row["copies_per_paper"] = -(-n // len(papers))
        row["chunks"] = sum(len(papers[i % len(papers)].chunks) for i in range(n))
        row["sentences"] = sum(len(papers[i % len(papers)].sentences) for i in range(n))
        return {**row, "reused": True}
    store.drop()
    seen: set[str] = set()
    writing = 0.0
    chunks = sentences = 0
    for i in range(n):
        paper = papers[i % len(papers)]
        doc, doc_chunks, doc_sentences = copier.copy(paper, i // len(papers))
        if doc.content_hash in seen:
            raise RuntimeError(f"copy {i // len(papers)} of {paper.record.source} repeats another document's text")
        seen.add(doc.content_hash)
        if i >= len(papers):
            path = Path(doc.source)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(doc.text, encoding="utf-8", newline="")
        began = time.perf_counter()
        store.write(EmbeddedDocument(doc, doc_chunks, paper.chunk_vectors, doc_sentences, paper.sentence_vectors))
        writing += time.perf_counter() - began
        chunks += len(doc_chunks)
        sentences += len(doc_sentences)
        if (i + 1) % 500 == 0:
            print(f"  {i + 1:,} documents written, {(i + 1) / writing:.2f} documents/s", flush=True)
    assert len(store.documents()) == n
    return {
        "collection": name,
        "documents": n,
        "copies_per_paper": -(-n // len(papers)),
        "chunks": chunks,
        "sentences": sentences,
        "write_s": writing,
        "write_docs_per_s": n / writing,
    }


def worker(collection: str, questions: list[str], rounds: int) -> dict:
    """In a fresh process: warm p50/p95 over the questions, the query-embedding floor, peak RSS."""
    index = INDEX if collection != "docqa" else Path(f"{OUT}/article-index")
    service = qa.load(index_dir=index, collection=collection)
    service.ask(questions[0])
    return {"documents": len(service.documents()), **warm(service, questions, rounds), "peak_rss_mb": peak_rss_mb()}


def warm(service: qa.QAService, questions: list[str], rounds: int) -> dict:
    times = []
    for _ in range(rounds):
        for q in questions:
            began = time.perf_counter()
            service.ask(q)
            times.append(1000 * (time.perf_counter() - began))
    times.sort()
    embeds = []
    for q in questions:
        began = time.perf_counter()
        service.embedder.embed_queries([q])
        embeds.append(1000 * (time.perf_counter() - began))
    return {
        "questions": len(questions),
        "asks": len(times),
        "p50_ms": statistics.median(times),
        "p95_ms": times[round(0.95 * (len(times) - 1))],
        "embed_p50_ms": statistics.median(embeds),
    }


def serving_worker(collection: str, questions: list[str], rounds: int) -> dict:
    """In a fresh process: load and warm up, warm asks, peak RSS; then, `EXTRA_ROUNDS` times, ingest one
    more document and time until its question is answered from it, in this same process and (with a Chroma
    server) in another running docqa process (`watcher`); the document is removed after each round."""
    began = time.perf_counter()
    service = qa.load(index_dir=INDEX, collection=collection, auto_ingest=False)
    service.warm_up()
    service.ask(questions[0])
    row: dict = {"served_documents": len(service.documents()), "load_and_first_ask_s": time.perf_counter() - began}
    row.update(warm(service, questions, rounds))
    row["peak_rss_mb"] = peak_rss_mb()
    EXTRA.parent.mkdir(parents=True, exist_ok=True)
    EXTRA.write_text(EXTRA_TEXT, encoding="utf-8")
    source = str(EXTRA)
    service.store.remove(source)  # left over from an interrupted run
    shared = bool(os.environ.get("QA_CHROMA_URL"))  # another process can share the corpus only through a server
    times: dict[str, list[float]] = {"ingest": [], "first_answer": [], "answerable": [], "other_process": []}
    for _ in range(EXTRA_ROUNDS):
        other = _start_watcher(collection) if shared else None
        began_wall, began = time.time(), time.perf_counter()
        report = service.ingest([EXTRA])
        assert source in report.added, report
        ingested = time.perf_counter()
        reply = service.ask(EXTRA_QUESTION)
        answered = time.perf_counter()
        assert any(c.source == source for c in reply.citations), reply
        times["ingest"].append(ingested - began)
        times["first_answer"].append(answered - ingested)
        times["answerable"].append(answered - began)
        if other is not None:
            cited_at = json.loads(other.communicate(timeout=300)[0].strip().splitlines()[-1])["cited_at"]
            times["other_process"].append(cited_at - began_wall)
        service.store.remove(source)
        service.ask(questions[0])  # the removal reloaded before the next round
    passages = [s.text for s in _sentences_of(EXTRA_TEXT)]
    forget_recent_passages()  # the ingest just embedded them: time the engine, not the memory of it
    embed_began = time.perf_counter()
    service.embedder.embed_passages(passages)
    row.update(
        {
            "extra_rounds": EXTRA_ROUNDS,
            "extra_ingest_s": statistics.median(times["ingest"]),
            "extra_first_answer_s": statistics.median(times["first_answer"]),
            "extra_answerable_s": statistics.median(times["answerable"]),
            "extra_answerable_each_s": times["answerable"],
            "extra_ingest_each_s": times["ingest"],
            "extra_first_answer_each_s": times["first_answer"],
            "extra_embed_s": time.perf_counter() - embed_began,
            "extra_sentences": len(passages),
            "extra_answer": reply.answer,
            "peak_rss_after_extra_mb": peak_rss_mb(),
        }
    )
    if times["other_process"]:
        row["extra_other_process_s"] = statistics.median(times["other_process"])
        row["extra_other_process_each_s"] = times["other_process"]
        row["refresh_seconds"] = service.settings.refresh_seconds
    return row


def _start_watcher(collection: str) -> subprocess.Popen:
    """A second docqa process over the same Chroma server (`watcher`), once it has loaded and answered."""
    other = subprocess.Popen([sys.executable, __file__, "--watcher", collection], stdout=subprocess.PIPE, text=True)
    assert other.stdout is not None
    if other.stdout.readline().strip() != "ready":
        raise RuntimeError(f"the watcher process for {collection} did not start")
    return other


def watcher(collection: str) -> dict:
    """In another process: load and answer, say "ready", then ask the extra document's question until an
    answer cites it (the service notices another process's ingest itself, every `refresh_seconds`); when
    that happened (wall clock)."""
    service = qa.load(index_dir=INDEX, collection=collection, auto_ingest=False)
    service.warm_up()
    service.ask(EXTRA_QUESTION)
    print("ready", flush=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        reply = service.ask(EXTRA_QUESTION)
        if any(c.source == str(EXTRA) for c in reply.citations):
            return {"cited_at": time.time(), "answer": reply.answer}
        time.sleep(0.02)
    raise RuntimeError("the other process never answered from the new document")


def _sentences_of(text: str) -> list[Sentence]:
    doc = Document(str(EXTRA), text, "", "", hashlib.sha256(text.encode("utf-8")).hexdigest())
    return Chunker.sentences(doc)


def peak_rss_mb(pid: int | str = "self") -> float:
    """A process's high-water RSS (this one's by default). Not ru_maxrss: Linux carries that over from the
    parent across fork and exec, so a worker would report the (larger) parent's peak."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def cold_ask(collection: str, question: str, index: Path, runs: int = 3) -> tuple[float, float]:
    """Wall time of `qa ask` in a new process (imports, model load, snapshot load, answer): the first with
    the collection's record cache deleted (it reads every record from Chroma, and writes the cache), then
    the median of `runs` more (they read the cache)."""
    shutil.rmtree(record_cache_dir(qa.load_settings(index_dir=index)) / collection, ignore_errors=True)
    times = []
    for _ in range(runs + 1):
        began = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "qa.apps.cli",
                "--index-dir",
                str(index),
                "--collection",
                collection,
                "ask",
                question,
            ],
            check=True,
            capture_output=True,
        )
        times.append(time.perf_counter() - began)
    return times[0], statistics.median(times[1:])


def measure(collection: str, questions: list[str], rounds: int, mode: str = "--worker") -> dict:
    done = subprocess.run(
        [sys.executable, __file__, mode, collection, "--rounds", str(rounds)],
        input=json.dumps(questions),
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"{mode} {collection} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    papers = [r["documents"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(papers, [r["p50_ms"] for r in rows], "o-", label="p50")
    left.plot(papers, [r["p95_ms"] for r in rows], "s--", label="p95")
    left.plot(papers, [r["embed_p50_ms"] for r in rows], "^:", color="grey", label="query embedding p50 (floor)")
    left.set(xlabel="COVID-QA papers indexed", ylabel="warm ask latency (ms)", title="Query latency")
    left.legend()
    right.plot(papers, [r["peak_rss_mb"] for r in rows], "o-", color="tab:red")
    right.set(xlabel="COVID-QA papers indexed", ylabel="peak RSS (MB)", title="Service memory")
    for axis in (left, right):
        axis.set_xscale("log")
        axis.set_xticks(papers, [str(p) for p in papers])
        axis.grid(alpha=0.3)
    fig.suptitle("docqa on COVID-QA, 2 cores shared with other jobs (noisy; see RESULTS.md)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_documents(rows: list[dict], path: Path, server: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["documents"] for r in rows]
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    (start, latency), (memory, extra) = axes
    start.plot(sizes, [r["cold_ask_s"] for r in rows], "o-", label="cold `qa ask` (new process, record cache)")
    uncached = [r.get("cold_uncached_s") or float("nan") for r in rows]
    start.plot(sizes, uncached, "o:", label="cold `qa ask`, no record cache (reads Chroma)")
    writes = [r.get("write_s") or float("nan") for r in rows]  # with --reuse a write may not have been timed
    start.plot(sizes, writes, "s--", label="write the corpus (no embedding)")
    start.set(ylabel="seconds (log)", title="Cold start and corpus write", yscale="log")
    latency.plot(sizes, [r["p50_ms"] for r in rows], "o-", label="p50")
    latency.plot(sizes, [r["p95_ms"] for r in rows], "s--", label="p95")
    latency.plot(sizes, [r["embed_p50_ms"] for r in rows], "^:", color="grey", label="query embedding p50 (floor)")
    latency.set(ylabel="warm ask latency (ms)", title="Warm ask")
    memory.plot(sizes, [r["peak_rss_mb"] for r in rows], "o-", color="tab:red", label="docqa serving process")
    if server:
        servers = [r.get("chroma_server_peak_rss_mb") or float("nan") for r in rows]
        memory.plot(sizes, servers, "s--", color="tab:purple", label="Chroma server")
    memory.set(ylabel="peak RSS (MB)", title="Memory")
    extra.plot(sizes, [r["extra_answerable_s"] for r in rows], "o-", label="ingest + first answer, same process")
    if server:
        others = [r.get("extra_other_process_s") or float("nan") for r in rows]
        extra.plot(sizes, others, "s--", label="answered by another running process")
    extra.plot(sizes, [r["extra_embed_s"] for r in rows], "^:", color="grey", label="its embedding alone")
    extra.set(ylabel="seconds (median of rounds)", title="One more document")
    for axis in (start, latency, memory, extra):
        axis.set_xscale("log")
        axis.set_xticks(sizes, [f"{s:,}" for s in sizes])
        axis.set_xlabel("documents (98 COVID-QA papers, replicated)")
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=8)
    mode = "corpus served by `chroma run`" if server else "embedded Chroma"
    fig.suptitle(f"docqa vs corpus size ({mode}), 2 cores; vectors reused, nothing re-embedded")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def saved_rows(key: str) -> list[dict]:
    """The rows saved under `key` ("documents" or "documents-chroma-server") in bench/out/scale.json."""
    path = OUT / "scale.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return data.get(key, {}).get("rows", [])


def save(key: str, value: object) -> None:
    """Set one key of bench/out/scale.json, keeping what the other mode wrote."""
    path = OUT / "scale.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    data[key] = value
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def with_other_sizes(rows: list[dict], saved: list[dict]) -> list[dict]:
    """This run's rows and the saved rows of the sizes it did not measure, by size (a run of one more size
    keeps the others' figures in scale.json and on the plot)."""
    measured = {r["documents"] for r in rows}
    return sorted(rows + [r for r in saved if r["documents"] not in measured], key=lambda r: r["documents"])


def server_rss(row: dict) -> str:
    found = row.get("chroma_server_peak_rss_mb")
    return f" / {found:.0f} MB" if found else ""


@contextlib.contextmanager
def chroma_served(enabled: bool) -> Iterator[dict]:
    """With `enabled`, a `chroma run` over the index folder for the block, QA_CHROMA_URL pointing every docqa
    process of this run at it; yields a dict that gets the server's peak RSS when the block ends."""
    found: dict = {}
    if not enabled:
        yield found
        return
    from chroma_server import start_chroma  # the tests' own helpers, on the path `serving` sets
    from processes import free_port, stop

    url, server = start_chroma(INDEX, free_port())
    os.environ["QA_CHROMA_URL"] = url
    try:
        yield found
        found["chroma_server_peak_rss_mb"] = peak_rss_mb(server.pid)
    finally:
        cache = record_cache_dir(qa.load_settings(index_dir=INDEX))  # named after this server's (random) port
        del os.environ["QA_CHROMA_URL"]
        stop(server, seconds=10)
        shutil.rmtree(cache, ignore_errors=True)


def run_documents(
    sizes: list[int], rounds: int, cold_runs: int, limit: int, reuse: bool, server: bool, write_only: bool = False
) -> None:
    data = squad.load_squad(COVID, INDEX / "eval-texts" / FULL)
    questions = [q.text for q in data.questions]
    if limit and len(questions) > limit:
        questions = [questions[round(i * (len(questions) - 1) / (limit - 1))] for i in range(limit)]
    with chroma_served(server):
        papers = load_papers()
    copier = Copier(papers)
    key = "documents-chroma-server" if server else "documents"
    saved = saved_rows(key)  # read before this run overwrites them
    written_before = saved + saved_rows("documents" if server else "documents-chroma-server")
    print(REUSED, flush=True)
    rows: list[dict] = []
    for n in sizes:
        with chroma_served(server) as chroma:
            row = build_documents(n, papers, copier, reuse, written_before)
            written = "reused" if row.get("reused") else "written"
            print(f"{n} documents: {written}, write {row['write_s']} s", flush=True)
            rows.append(row)
            save(
                key, {"note": REUSED, "rows": with_other_sizes(rows, saved)}
            )  # each step saved, so a failure keeps what was measured
            if write_only:
                continue
            row["cold_uncached_s"], row["cold_ask_s"] = cold_ask(row["collection"], questions[0], INDEX, cold_runs)
            row["cold_runs"] = cold_runs
            save(key, {"note": REUSED, "rows": with_other_sizes(rows, saved)})
            row.update(measure(row["collection"], questions, rounds, "--serving-worker"))
            row["rounds"] = rounds
        row.update(chroma)
        row["chroma"] = "server" if server else "embedded"
        save(key, {"note": REUSED, "rows": with_other_sizes(rows, saved)})
        print(json.dumps(row), flush=True)
    if write_only:
        return
    print()
    print(REUSED)
    print(
        "| documents | chunks / sentences | write corpus | cold `qa ask`: no record cache / cached"
        " | warm ask p50 / p95 (questions x rounds)"
        f" | peak RSS{' (docqa / Chroma server)' if server else ''}"
        " | one more document: answerable after (ingest + first answer), median of rounds"
        f"{' | in another process' if server else ''} | its embedding |"
    )
    print("|---|---|---|---|---|---|---|---|" + ("---|" if server else ""))
    for r in rows:
        write = f"{r['write_s']:.1f} s" if r.get("write_s") else "reused, not timed"
        print(
            f"| {r['documents']:,} | {r.get('chunks', 0):,} / {r.get('sentences', 0):,} | {write}"
            f" | {r['cold_uncached_s']:.1f} s / {r['cold_ask_s']:.1f} s (median of {r['cold_runs']})"
            f" | {r['p50_ms']:.0f} / {r['p95_ms']:.0f} ms ({r['questions']} x {r['rounds']})"
            f" | {r['peak_rss_mb']:.0f} MB{server_rss(r)}"
            f" | {r['extra_answerable_s']:.2f} s ({r['extra_ingest_s']:.2f} + {r['extra_first_answer_s']:.2f})"
            + (f" | {r['extra_other_process_s']:.2f} s" if server else "")
            + f" | {r['extra_embed_s']:.2f} s |"
        )
    try:
        plot_documents(with_other_sizes(rows, saved), Path("bench/scale-documents.png"), server)
    except ImportError:
        print("matplotlib is not installed: no plot")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3, help="passes over the questions for warm asks")
    parser.add_argument("--documents", type=int, nargs="+", help="documents mode: corpus sizes, e.g. 100 1000")
    parser.add_argument("--cold-runs", type=int, default=3, help="documents mode: cold `qa ask` runs per size")
    parser.add_argument("--questions", type=int, default=200, help="documents mode: questions asked (0: all 687)")
    parser.add_argument("--reuse", action="store_true", help="documents mode: keep collections already built")
    parser.add_argument(
        "--chroma-server", action="store_true", help="documents mode: collections served by `chroma run`"
    )
    parser.add_argument(
        "--write-only", action="store_true", help="documents mode: write the corpora, measure nothing (then --reuse)"
    )
    parser.add_argument("--worker")
    parser.add_argument("--serving-worker")
    parser.add_argument("--watcher")
    args = parser.parse_args()
    if args.watcher:
        print(json.dumps(watcher(args.watcher)), flush=True)
        return
    if args.worker:
        print(json.dumps(worker(args.worker, json.loads(sys.stdin.read()), args.rounds)))
        return
    if args.serving_worker:
        print(json.dumps(serving_worker(args.serving_worker, json.loads(sys.stdin.read()), args.rounds)))
        return
    if args.documents:
        run_documents(
            args.documents,
            args.rounds,
            args.cold_runs,
            args.questions,
            args.reuse,
            args.chroma_server,
            args.write_only,
        )
        return
    data = squad.load_squad(COVID, INDEX / "eval-texts" / FULL)
    rows = []
    for n in SIZES:
        name = copy_subset(n)
        sources = {d.source for d in qa.load(index_dir=INDEX, collection=name, auto_ingest=False).documents()}
        questions = [q.text for q in data.questions if q.source in sources]
        rows.append({"papers": n, **measure(name, questions, args.rounds)})
        print(rows[-1], flush=True)
    rows[-1]["cold_uncached_s"], rows[-1]["cold_ask_s"] = cold_ask(FULL, data.questions[0].text, INDEX)
    article = [c.question for c in load_cases(Path("tests/golden/article.jsonl")) if not c.history]
    qa.load(index_dir=OUT / "article-index").ingest()
    article_row = {"papers": "article", **measure("docqa", article, args.rounds)}
    article_row["cold_uncached_s"], article_row["cold_ask_s"] = cold_ask(
        "docqa", "Who bought Joyo.com?", OUT / "article-index"
    )
    print(article_row)
    save("covid", rows)
    save("article", article_row)
    plot(rows, Path("bench/scale.png"))


if __name__ == "__main__":
    main()
