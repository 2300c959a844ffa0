"""Ingestion throughput, with its two yardsticks measured in the same run on the same documents:
the floor (embedding the same sentences and nothing else) and LlamaIndex's default ingestion
(`VectorStoreIndex.from_documents` over Chroma, default SentenceSplitter) with the same embedder.

    pip install -e ".[bench]"
    python bench/ingest.py [--papers 10] [--rounds 3]

Corpora: the bundled article, and the first N COVID-QA papers (written out as in `qa eval`).
Each round uses fresh temporary indexes; the table shows medians and the median of per-round ratios.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import chromadb
from baseline import COVID, SameEmbedding
from chromadb.config import Settings as ChromaSettings
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.node_parser import SentenceSplitter
from llama_index.vector_stores.chroma import ChromaVectorStore

import qa
from qa.eval import squad
from qa.index.chunking import Chunker
from qa.index.documents import discover, read_document
from qa.index.embedding import build_embedder, forget_recent_passages

BATCH = 32


def covid_papers(n: int, folder: Path) -> Path:
    """The first `n` COVID-QA contexts as text files in `folder`."""
    data = squad.load_squad(COVID, folder)
    squad.write_contexts(squad.SquadSet(dict(list(data.contexts.items())[:n]), []), folder)
    return folder


def product(paths: list[Path]) -> tuple[float, int, int]:
    """Seconds for `qa ingest` into a fresh index, chunks and sentences written."""
    service = qa.load(index_dir=Path(tempfile.mkdtemp(prefix="bench-ingest-")), auto_ingest=False)
    forget_recent_passages()  # each round embeds from scratch, as a first ingest does
    began = time.perf_counter()
    report = service.ingest(paths)
    return time.perf_counter() - began, report.chunks, report.sentences


def floor(paths: list[Path], embedder) -> float:
    """Seconds to embed the same sentences in the same batches, and nothing else."""
    settings = qa.load_settings()
    chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
    texts = [s.text for f in discover(paths)[0] for s in chunker.sentences(read_document(f, 10**8))]
    forget_recent_passages()
    began = time.perf_counter()
    for i in range(0, len(texts), BATCH):
        embedder.embed_passages(texts[i : i + BATCH])
    return time.perf_counter() - began


def llamaindex(paths: list[Path], embed: SameEmbedding) -> tuple[float, int]:
    """Seconds for the tutorial ingestion over a fresh persistent Chroma, and its chunk count."""
    client = chromadb.PersistentClient(
        path=tempfile.mkdtemp(prefix="bench-li-"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    store = ChromaVectorStore(chroma_collection=client.get_or_create_collection("baseline"))
    docs = [Document(text=f.read_text(encoding="utf-8"), metadata={"source": str(f)}) for f in discover(paths)[0]]
    began = time.perf_counter()
    VectorStoreIndex.from_documents(
        docs,
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=embed,
        transformations=[SentenceSplitter()],
    )
    return time.perf_counter() - began, store._collection.count()


def measure(name: str, paths: list[Path], rounds: int, embedder, embed: SameEmbedding) -> str:
    runs = []
    for _ in range(rounds):
        seconds, chunks, sentences = product(paths)
        runs.append((seconds, chunks, sentences, floor(paths, embedder), *llamaindex(paths, embed)))
    med = statistics.median
    seconds, chunks, sentences = med(r[0] for r in runs), runs[0][1], runs[0][2]
    return (
        f"| {name} | {seconds:.1f} | {chunks} / {sentences} | {chunks / seconds:.1f} | "
        f"{med(r[3] for r in runs):.1f} | {med(r[0] / r[3] for r in runs):.2f}x | "
        f"{med(r[4] for r in runs):.1f} ({runs[0][5]} chunks) | {med(r[0] / r[4] for r in runs):.2f}x |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--papers", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    embedder = build_embedder("multilingual-e5-small", 2)
    embed = SameEmbedding(embedder)
    papers = covid_papers(args.papers, Path(tempfile.mkdtemp(prefix="bench-covid-")))
    print(
        "| corpus | ingest s | chunks / sentences | chunks/s | embedding floor s | vs floor "
        "| LlamaIndex default s | vs LlamaIndex |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(measure("article (seeds/)", [Path("seeds")], args.rounds, embedder, embed))
    print(measure(f"COVID-QA, {args.papers} papers", [papers], args.rounds, embedder, embed))


if __name__ == "__main__":
    main()
