"""Web chat under load: N simultaneous users call the real server's `/ask` (gradio_client), each
asking the golden questions in turn; p50/p95 latency and throughput per N, with ratios to one
user and to an in-process `service.ask` measured in the same run.

    python bench/web_concurrency.py [--users 1 5 10 20] [--questions 20]
"""

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gradio_client import Client
from serving import start_server, stop_server

import qa
from qa.eval.golden import load_cases

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def load(url: str, users: int, questions: list[str]) -> tuple[list[float], float]:
    """Every user asks every question once; per-call latencies (ms) and wall seconds."""
    clients = [Client(url, verbose=False) for _ in range(users)]

    def user(client: Client) -> list[float]:
        times = []
        for question in questions:
            began = time.perf_counter()
            client.predict(question, [], api_name="/ask")
            times.append(1000 * (time.perf_counter() - began))
        return times

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=users) as pool:
        latencies = [t for times in pool.map(user, clients) for t in times]
    return latencies, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, nargs="+", default=[1, 5, 10, 20])
    parser.add_argument("--questions", type=int, default=20)
    args = parser.parse_args()
    questions = [c.question for c in load_cases(ROOT / "tests/golden/article.jsonl") if not c.history]
    questions = questions[: args.questions]
    folder = Path(tempfile.mkdtemp(prefix="bench-web-"))
    server, url = start_server(folder)
    try:
        service = qa.load(index_dir=folder / "index")
        local = []
        for question in questions * 3:
            began = time.perf_counter()
            service.ask(question)
            local.append(1000 * (time.perf_counter() - began))
        in_process = statistics.median(local)
        load(url, 1, questions[:3])  # warm the HTTP path
        print(f"in-process service.ask p50: {in_process:.1f} ms ({len(local)} asks)")
        print("| users | calls | p50 ms | p95 ms | answers/s | p50 vs 1 user | p50 vs in-process |")
        print("|---|---|---|---|---|---|---|")
        single = None
        for users in args.users:
            latencies, wall = load(url, users, questions)
            p50 = statistics.median(latencies)
            single = single or p50
            print(
                f"| {users} | {len(latencies)} | {p50:.0f} | {percentile(latencies, 0.95):.0f} | "
                f"{len(latencies) / wall:.1f} | {p50 / single:.2f}x | {p50 / in_process:.1f}x |",
                flush=True,
            )
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
