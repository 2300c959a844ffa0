"""How query latency and memory grow with the corpus: 1, 10, 30 and 98 COVID-QA papers, plus the
article; warm `ask` p50/p95, peak RSS of a fresh service process, and cold `qa ask` wall time.

    pip install -e ".[bench]"
    qa --index-dir bench/out/covid-index eval ../shared/datasets/covid-qa/covid-qa-dev.json   # builds the index
    python bench/scale.py [--rounds 3]

Subsets are copied, vectors included, from the full COVID index into collections of their own
(no re-embedding). Each size is measured in its own process, so peak RSS is that corpus's alone.
Writes bench/out/scale.json and the plot bench/scale.png.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import qa
from qa.eval import squad
from qa.eval.golden import load_cases

OUT = Path("bench/out")
INDEX = OUT / "covid-index"
COVID = Path("../shared/datasets/covid-qa/covid-qa-dev.json")
FULL = squad.collection_for(COVID)
SIZES = [1, 10, 30, 98]
KINDS = ("documents", "chunks", "sentences")


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


def worker(collection: str, questions: list[str], rounds: int) -> dict:
    """In a fresh process: warm p50/p95 over the questions, the query-embedding floor, peak RSS."""
    index = INDEX if collection != "docqa" else Path(f"{OUT}/article-index")
    service = qa.load(index_dir=index, collection=collection)
    service.ask(questions[0])
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
        service._embedder.embed_queries([q])
        embeds.append(1000 * (time.perf_counter() - began))
    return {
        "documents": len(service.documents()),
        "questions": len(questions),
        "asks": len(times),
        "p50_ms": statistics.median(times),
        "p95_ms": times[round(0.95 * (len(times) - 1))],
        "embed_p50_ms": statistics.median(embeds),
        "peak_rss_mb": peak_rss_mb(),
    }


def peak_rss_mb() -> float:
    """This process's high-water RSS. Not ru_maxrss: Linux carries that over from the parent
    across fork and exec, so a worker would report the (larger) parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def cold_ask(collection: str, question: str, index: Path) -> float:
    """Median wall time of `qa ask` in a new process (imports, model load, snapshot load, answer)."""
    times = []
    for _ in range(3):
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
    return statistics.median(times)


def measure(collection: str, questions: list[str], rounds: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", collection, "--rounds", str(rounds)],
        input=json.dumps(questions),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, json.loads(sys.stdin.read()), args.rounds)))
        return
    data = squad.load_squad(COVID, INDEX / "eval-texts" / FULL)
    rows = []
    for n in SIZES:
        name = copy_subset(n)
        sources = {d.source for d in qa.load(index_dir=INDEX, collection=name, auto_ingest=False).documents()}
        questions = [q.text for q in data.questions if q.source in sources]
        rows.append({"papers": n, **measure(name, questions, args.rounds)})
        print(rows[-1], flush=True)
    rows[-1]["cold_ask_s"] = cold_ask(FULL, data.questions[0].text, INDEX)
    article = [c.question for c in load_cases(Path("tests/golden/article.jsonl")) if not c.history]
    qa.load(index_dir=OUT / "article-index").ingest()
    article_row = {"papers": "article", **measure("docqa", article, args.rounds)}
    article_row["cold_ask_s"] = cold_ask("docqa", "Who bought Joyo.com?", OUT / "article-index")
    print(article_row)
    (OUT / "scale.json").write_text(json.dumps({"covid": rows, "article": article_row}, indent=2), encoding="utf-8")
    plot(rows, Path("bench/scale.png"))


if __name__ == "__main__":
    main()
