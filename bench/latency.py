"""Query latency on the bundled article: warm `service.ask` p50/p95, against the floor of one
query embedding measured in the same run, plus the cold wall time of `qa ask` in a new process.
Warm asks repeat the golden test set round after round (what a process has seen before is kept); first-time
asks are questions this process has never been asked (`training/article-train-4.jsonl`, each once).

    python bench/latency.py [--rounds 5]
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import qa
from qa.eval.golden import load_cases


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def warm_latency(service: qa.QAService, cases: list, rounds: int) -> tuple[list[float], list[float]]:
    """Milliseconds of each warm `ask`, and of one query embedding of the same question right after it."""
    service.ask(cases[0].question)
    asks, embeds = [], []
    for _ in range(rounds):
        for case in cases:
            t = time.perf_counter()
            service.ask(case.question, history=case.history)
            asks.append(1000 * (time.perf_counter() - t))
            t = time.perf_counter()
            service.embedder.embed_queries([case.question])
            embeds.append(1000 * (time.perf_counter() - t))
    return asks, embeds


def first_time_latency(service: qa.QAService, cases: list) -> tuple[list[float], list[float]]:
    """As `warm_latency`, each question asked once, in a process that has answered others before."""
    return warm_latency(service, cases, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    index = Path(tempfile.mkdtemp(prefix="bench-index-"))
    service = qa.load(index_dir=index)
    began = time.perf_counter()
    report = service.ingest()
    ingest_s = time.perf_counter() - began
    asks, embeds = warm_latency(service, load_cases(Path("tests/golden/article.jsonl")), args.rounds)
    fresh, fresh_embeds = first_time_latency(service, load_cases(Path("training/article-train-4.jsonl")))
    colds = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "qa.apps.cli", "--index-dir", str(index), "ask", "Who bought Joyo.com?"],
            check=True,
            capture_output=True,
        )
        colds.append(time.perf_counter() - t)
    p50, p95, e50 = statistics.median(asks), percentile(asks, 0.95), statistics.median(embeds)
    print(f"ingest article: {ingest_s:.2f} s ({report.chunks} chunks, {report.sentences} sentences)")
    print(f"warm ask over {len(asks)} questions: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    print(f"floor, one query embedding: p50 {e50:.1f} ms; ask/embedding ratio {p50 / e50:.2f}x")
    f50, fe50 = statistics.median(fresh), statistics.median(fresh_embeds)
    print(
        f"first-time ask over {len(fresh)} questions: p50 {f50:.1f} ms; embedding p50 {fe50:.1f} ms; "
        f"ratio {f50 / fe50:.2f}x"
    )
    print(f"cold `qa ask` wall time (median of 3): {statistics.median(colds):.2f} s")


if __name__ == "__main__":
    main()
