"""One query embedding through the product's embedder, under the OpenMP policy docqa sets (a short spin, a
lone query borrowing an idle engine's thread) and under the passive waiting it used before
(`OMP_WAIT_POLICY=PASSIVE`: one thread a query), on an idle machine and with 1 or 2 other processes
busy on the cores. libgomp reads its policy as it loads, so each policy is measured in a new process;
the busy processes are plain Python loops, stopped when each measurement ends.

    python bench/embed_threads.py [--queries 40] [--rounds 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from qa.eval.golden import load_cases

POLICIES = {"short spin, borrowing (default)": {}, "passive, one thread (before)": {"OMP_WAIT_POLICY": "PASSIVE"}}


def measure(queries: int, rounds: int) -> dict[str, float]:
    """Run in the child: milliseconds of one query embedding, p50 / p90 / max."""
    from qa.index.embedding import E5Embedder

    embedder = E5Embedder(2)
    questions = [case.question for case in load_cases(Path("tests/golden/article.jsonl"))][:queries]
    embedder.embed_queries(questions[:1])
    times = []
    for _ in range(rounds):
        for question in questions:
            began = time.perf_counter()
            embedder.embed_queries([question])
            times.append(1000 * (time.perf_counter() - began))
    times.sort()
    return {"p50": statistics.median(times), "p90": times[int(0.9 * (len(times) - 1))], "max": times[-1]}


def run(policy: dict[str, str], busy: int, queries: int, rounds: int) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")} | policy
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
    try:
        time.sleep(0.5 if busy else 0)
        child = subprocess.run(
            [sys.executable, __file__, "--child", "--queries", str(queries), "--rounds", str(rounds)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()
    return json.loads(child.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.queries, args.rounds)))
        return
    print("| policy | other busy processes | p50 ms | p90 ms | max ms |")
    print("|---|---|---|---|---|")
    for busy in (0, 1, 2):
        for name, policy in POLICIES.items():
            figures = run(policy, busy, args.queries, args.rounds)
            print(f"| {name} | {busy} | {figures['p50']:.1f} | {figures['p90']:.1f} | {figures['max']:.1f} |")


if __name__ == "__main__":
    main()
