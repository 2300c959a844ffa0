"""This product next to the pipeline a LlamaIndex tutorial gives, and next to BM25 alone, on the same
SQuAD-format corpus (default COVID-QA dev), the same questions and the same embedding model.

Baseline: `VectorStoreIndex.from_documents` over Chroma (`ChromaVectorStore`), default
`SentenceSplitter` (1024 tokens, overlap 200), our multilingual-e5-small wrapped as a LlamaIndex
embedding, `as_retriever(similarity_top_k=2)` and `=5`. BM25 alone: this product's BM25 over its chunks.
hit@k = one of the top k chunks covers a gold answer span (character offsets into the same text).

    pip install -e ".[bench]"
    python bench/baseline.py [--squad FILE] [--limit N] [--rebuild]

The product's index is `bench/out/covid-index` (what `qa --index-dir bench/out/covid-index eval FILE`
builds); the baseline's is `bench/out/baseline-<name>`, built once (its build time is kept beside it).
"""

import argparse
import json
import statistics
import time
from pathlib import Path

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.embeddings import BaseEmbedding
from llama_index.core.node_parser import SentenceSplitter
from llama_index.vector_stores.chroma import ChromaVectorStore
from pydantic import PrivateAttr
from tqdm import tqdm

import qa
from qa.eval import squad
from qa.index.embedding import Embedder, build_embedder
from qa.text import terms

OUT = Path("bench/out")
COVID = Path("../shared/datasets/covid-qa/covid-qa-dev.json")


class SameEmbedding(BaseEmbedding):
    """Our embedder behind LlamaIndex's interface, so both pipelines embed with the same model."""

    _embedder: Embedder = PrivateAttr()

    def __init__(self, embedder: Embedder, **kwargs):
        super().__init__(model_name=embedder.name, embed_batch_size=32, **kwargs)
        self._embedder = embedder

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embedder.embed_queries([query])[0].tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embedder.embed_passages([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.embed_passages(texts).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


def baseline_index(
    data: squad.SquadSet, embed: SameEmbedding, folder: Path, rebuild: bool
) -> tuple[VectorStoreIndex, dict]:
    """The tutorial pipeline over a persistent Chroma collection; built once unless `rebuild`."""
    client = chromadb.PersistentClient(path=str(folder), settings=ChromaSettings(anonymized_telemetry=False))
    meta_file = folder / "build.json"
    if rebuild or not meta_file.exists():
        try:
            client.delete_collection("baseline")
        except Exception:  # absent on the first build
            pass
        store = ChromaVectorStore(chroma_collection=client.get_or_create_collection("baseline"))
        docs = [Document(text=text, metadata={"source": source}) for source, text in data.contexts.items()]
        began = time.perf_counter()
        index = VectorStoreIndex.from_documents(
            docs,
            storage_context=StorageContext.from_defaults(vector_store=store),
            embed_model=embed,
            transformations=[SentenceSplitter()],
            show_progress=True,
        )
        meta = {"seconds": time.perf_counter() - began, "chunks": store._collection.count()}
        meta_file.write_text(json.dumps(meta), encoding="utf-8")
        return index, meta
    store = ChromaVectorStore(chroma_collection=client.get_or_create_collection("baseline"))
    return VectorStoreIndex.from_vector_store(store, embed_model=embed), json.loads(meta_file.read_text())


def rank_of(hits: list[tuple[str, int, int]], q: squad.Question) -> int | None:
    """1-based rank of the first (source, start, end) that covers a gold span."""
    for n, (source, start, end) in enumerate(hits, 1):
        if source == q.source and any(start <= s and e <= end for s, e in q.spans):
            return n
    return None


def retrieval_row(ranks: list[int | None], k: int, chars: list[int], ms: list[float]) -> dict:
    n = len(ranks)
    return {
        "hit@1": sum(r == 1 for r in ranks) / n,
        f"hit@{k}": sum(r is not None for r in ranks) / n,
        "mrr": sum(1 / r for r in ranks if r) / n,
        "chars": statistics.mean(chars),
        "p50_ms": statistics.median(ms),
    }


def run_baseline(index: VectorStoreIndex, questions: list[squad.Question], k: int, folder: Path) -> dict:
    retriever = index.as_retriever(similarity_top_k=k)
    ranks, chars, ms = [], [], []
    for q in tqdm(questions, desc=f"LlamaIndex top-{k}", unit="question"):
        began = time.perf_counter()
        nodes = retriever.retrieve(q.text)
        ms.append(1000 * (time.perf_counter() - began))
        hits = [(str(folder / n.node.metadata["source"]), n.node.start_char_idx, n.node.end_char_idx) for n in nodes]
        ranks.append(rank_of(hits, q))
        chars.append(sum(e - s for _, s, e in hits))
    return retrieval_row(ranks, k, chars, ms)


def run_bm25(service: qa.QAService, questions: list[squad.Question], k: int) -> dict:
    corpus = service._ready().corpus
    ranks, chars, ms = [], [], []
    for q in tqdm(questions, desc="BM25 alone", unit="question"):
        began = time.perf_counter()
        top = np.argsort(-corpus.bm25_scores(terms(q.text)), kind="stable")[:k]
        ms.append(1000 * (time.perf_counter() - began))
        hits = [(p.chunk.source, p.chunk.start, p.chunk.end) for p in (corpus.chunks[i] for i in top)]
        ranks.append(rank_of(hits, q))
        chars.append(sum(e - s for _, s, e in hits))
    return retrieval_row(ranks, k, chars, ms)


def product_row(results: list[squad.Result]) -> dict:
    found = squad.metrics(results)
    chars = [sum(p.end - p.start for p in r.reply.passages) for r in results]
    return {
        "hit@1": found["hit@1"],
        "hit@5": found["hit@5"],
        "mrr": found["mrr"],
        "chars": statistics.mean(chars),
        "p50_ms": found["latency_p50_ms"],
        "answer_recall": found["answer_recall"],
        "f1": found["f1"],
        "citation_precision": found["citation_precision"],
    }


def table(rows: dict[str, dict]) -> str:
    product = rows["this product (top 5)"]
    cols = ["hit@1", "hit@2", "hit@5", "mrr", "chars", "p50_ms"]
    out = ["| pipeline | " + " | ".join(cols) + " | product hit@5 / its hit@k |", "|---" * (len(cols) + 2) + "|"]
    for name, row in rows.items():
        k_hit = row.get("hit@5", row.get("hit@2"))
        cells = [
            f"{row[c]:.3f}"
            if c in row and c.startswith(("hit", "mrr"))
            else (f"{row[c]:.0f}" if c == "chars" else f"{row[c]:.1f}")
            if c in row
            else "—"
            for c in cols
        ]
        out.append(f"| {name} | " + " | ".join(cells) + f" | {product['hit@5'] / k_hit:.2f}x |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--squad", type=Path, default=COVID)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the baseline index (times it)")
    parser.add_argument("--out", type=Path, default=OUT, help="where both indexes live")
    args = parser.parse_args()
    name = squad.collection_for(args.squad)
    settings = qa.load_settings(index_dir=args.out / "covid-index")
    folder = settings.index_dir / "eval-texts" / name
    data = squad.load_squad(args.squad, folder)
    questions = data.questions[: args.limit]
    results = squad.evaluate_file(args.squad, settings, args.limit, progress=True)
    service = qa.load(index_dir=settings.index_dir, collection=name, auto_ingest=False)
    embed = SameEmbedding(build_embedder(settings.embedder, settings.embed_threads))
    index, build = baseline_index(data, embed, args.out / f"baseline-{name}", args.rebuild)
    rows = {
        "this product (top 5)": product_row(results),
        "LlamaIndex tutorial, top 2": run_baseline(index, questions, 2, folder),
        "LlamaIndex tutorial, top 5": run_baseline(index, questions, 5, folder),
        "BM25 alone (product chunks), top 5": run_bm25(service, questions, 5),
    }
    print(
        f"{len(questions)} questions, {len(data.contexts)} documents; baseline index: {build['chunks']} chunks "
        f"built in {build['seconds']:.0f} s"
    )
    print(table(rows))
    product = rows["this product (top 5)"]
    print(
        f"product answers: recall {product['answer_recall']:.3f}, F1 {product['f1']:.3f}, "
        f"citation precision {product['citation_precision']:.3f}"
    )
    report = json.dumps({"rows": rows, "build": build}, indent=2)
    (args.out / f"baseline-{name}.json").write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
