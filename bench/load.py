"""Soak and load on the real server: N concurrent clients each ask M questions about the bundled article
over the REST API (`POST /v1/ask`, httpx, one keep-alive client per user) and over Gradio's `/ask`
(gradio_client, one client per user); per transport and N: requests, errors (exception, non-200 or a reply
that is not an {answer, supported, citations} object), mismatches (a reply that differs from the in-process
answer to the same question), p50/p95/p99 latency, answers/s and the server's peak RSS (its process and
children, sampled every 0.1 s). The in-process baseline (`service.ask` on a second temporary index, measured
before the server starts so the two never share the cores or a Chroma folder) runs in the same run.

    pip install -e ".[bench]"   # psutil
    python bench/load.py [--clients 1 20 50] [--questions 20] [--transports rest gradio] [--baseline-asks 50]
                         [--max-seconds 600] [--out bench/out/load.json]

Everything stays on loopback. The whole run is bounded by --max-seconds: each run gets its share of the time
left and stops issuing new requests when it is spent (the table marks it, and a note says how many were sent).
Prints a Markdown table and the REST / Gradio throughput ratio at 20 clients; writes bench/out/load.json, which
also holds the CPU seconds the server and this process (the clients) used in each run: on a small machine the
clients share the cores with the server, and gradio_client costs far more CPU per request than httpx.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from serving import start_server, stop_server

from qa import offline

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench/out/load.json"
# Questions about seeds/lei-jun-xiaomi.txt, the last two of which the article cannot answer (a refusal is right).
QUESTIONS = [
    "Which automaker did Xiaomi surpass in market value, according to the rankings?",
    "Who was Lei Jun's idol and mentor at Kingsoft?",
    "To which company was Joyo.com sold?",
    "What nickname did netizens give Lei Jun after the 2011 Xiaomi phone launch event?",
    "How big is Xiaomi's tech campus?",
    "What is Lei Jun's personal signature on WeChat?",
    "What was Xiaomi's revenue in 2023?",
    "Where was Lei Jun born?",
]
REQUEST_TIMEOUT = 120.0  # seconds; a slower reply counts as an error
STARTUP_ALLOWANCE = 60.0  # seconds the in-process runs leave for starting and warming the server (~15-30 s here)
STOP_RESERVE = 20.0  # seconds of --max-seconds kept for stopping the server and writing the report


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Clock:
    """The overall deadline, shared out among the runs still to come."""

    def __init__(self, seconds: float):
        self.began = time.monotonic()
        self.end = self.began + seconds - STOP_RESERVE

    def left(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def share(self, runs_left: int, keep: float = 0.0) -> float:
        """Seconds for the next run when `runs_left` runs, and `keep` seconds of other work, are still to come."""
        return max(0.0, self.left() - keep) / max(1, runs_left)


class RssSampler(threading.Thread):
    """Resident memory of a process and all its children, every `every` seconds until stopped."""

    def __init__(self, pid: int, every: float = 0.1):
        super().__init__(daemon=True, name="rss")
        self.process = psutil.Process(pid)
        self.every = every
        self.samples: list[tuple[float, int]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while True:
            try:
                rss = self.process.memory_info().rss
                for child in self.process.children(recursive=True):
                    try:
                        rss += child.memory_info().rss
                    except psutil.Error:
                        pass  # a child that ended between the listing and the reading
            except psutil.Error:
                return  # the server has gone
            if rss:  # a process that has exited but is not yet reaped reads as 0
                self.samples.append((time.monotonic(), rss))
            if self._halt.wait(self.every):
                return

    def stop(self) -> None:
        self._halt.set()
        self.join(5)

    def window(self, start: float, end: float) -> list[int]:
        return [rss for t, rss in list(self.samples) if start <= t <= end]


def cpu_seconds(process: psutil.Process, children: bool = True) -> float | None:
    """User plus system CPU time of a process, and of its live children unless `children` is False."""
    try:
        total = sum(process.cpu_times()[:2])
        for child in process.children(recursive=True) if children else []:
            try:
                total += sum(child.cpu_times()[:2])
            except psutil.Error:
                pass
    except psutil.Error:
        return None
    return total


def mb(value: int | None) -> float | None:
    return None if value is None else round(value / 2**20, 1)


@dataclass
class Run:
    """One transport at one number of clients."""

    transport: str
    clients: int
    planned: int
    requests: int = 0
    errors: int = 0
    mismatches: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    answers_per_s: float | None = None
    wall_s: float = 0.0
    budget_s: float = 0.0
    cut: bool = False  # stopped issuing requests when its time share ran out
    rss_peak_mb: float | None = None
    rss_start_mb: float | None = None
    rss_end_mb: float | None = None
    server_cpu_s: float | None = None  # CPU time the server used while the requests ran (2 cores: 2 s per s)
    client_cpu_s: float | None = None  # and this process alone: the clients (in-process runs: the answering too)
    error_kinds: dict[str, int] = field(default_factory=dict)
    mismatch_examples: list[dict] = field(default_factory=list)


def shape_problem(reply: Any) -> str | None:
    """Why `reply` is not the `qa ask --json` object, or None when it is."""
    if not isinstance(reply, dict):
        return f"reply is {type(reply).__name__}, not an object"
    if not isinstance(reply.get("answer"), str) or not reply["answer"].strip():
        return "no answer text"
    if not isinstance(reply.get("supported"), bool):
        return "no boolean 'supported'"
    citations = reply.get("citations")
    if not isinstance(citations, list) or not all(
        isinstance(c, dict) and "text" in c and "source" in c for c in citations
    ):
        return "'citations' is not a list of passages"
    if reply["supported"] and not citations:
        return "supported answer without citations"
    return None


def run_clients(
    transport: str,
    clients: int,
    questions: int,
    budget: float,
    connect: Callable[[], Any],
    ask: Callable[[Any, str], Any],
    close: Callable[[Any], None],
    reference: dict[str, dict] | None,
    sampler: RssSampler | None = None,
) -> Run:
    """`clients` threads, each with its own session from `connect`, ask `questions` questions each (user i
    starts at question i, so they do not ask in lockstep); nobody starts a new request after `budget` s."""
    run = Run(transport, clients, clients * questions, budget_s=round(budget, 1))
    if budget <= 0:
        run.cut = True
        return run
    began_run = time.monotonic()
    stop_at = began_run + budget
    with ThreadPoolExecutor(max_workers=clients) as pool:

        def opened(_: int) -> Any:
            try:
                return connect()
            except Exception as exc:
                return exc

        sessions = list(pool.map(opened, range(clients)))

        def user(index: int) -> list[tuple[str, float | None, str | None, str | None]]:
            """(question, ms or None, error or None, mismatch description or None) per request."""
            session = sessions[index]
            if isinstance(session, Exception):
                return [("", None, f"connect: {type(session).__name__}: {session}"[:200], None)]
            records = []
            for k in range(questions):
                if time.monotonic() >= stop_at:
                    break
                question = QUESTIONS[(index + k) % len(QUESTIONS)]
                t = time.perf_counter()
                try:
                    reply = ask(session, question)
                except Exception as exc:
                    records.append((question, None, f"{type(exc).__name__}: {exc}"[:200], None))
                    continue
                ms = 1000 * (time.perf_counter() - t)
                problem = shape_problem(reply)
                if problem:
                    records.append((question, None, f"shape: {problem}", None))
                    continue
                expected = (reference or {}).get(question)
                differs = None
                if expected and (reply["answer"], reply["supported"]) != (expected["answer"], expected["supported"]):
                    differs = reply["answer"][:200]
                records.append((question, ms, None, differs))
            return records

        me = psutil.Process()
        cpu_before = cpu_seconds(me, children=False), sampler and cpu_seconds(sampler.process)
        t0 = time.perf_counter()
        began_requests = time.monotonic()
        per_user = list(pool.map(user, range(clients)))
        run.wall_s = round(time.perf_counter() - t0, 3)
        ended = time.monotonic()
        cpu_after = cpu_seconds(me, children=False), sampler and cpu_seconds(sampler.process)
        if cpu_before[0] is not None and cpu_after[0] is not None:
            run.client_cpu_s = round(cpu_after[0] - cpu_before[0], 2)
        if cpu_before[1] is not None and cpu_after[1] is not None:
            run.server_cpu_s = round(cpu_after[1] - cpu_before[1], 2)
        for session in sessions:
            if not isinstance(session, Exception):
                try:
                    close(session)
                except Exception:
                    pass
    records = [r for rs in per_user for r in rs if r[0] or r[2]]
    latencies = [ms for _, ms, error, _ in records if error is None and ms is not None]
    run.requests = len([r for r in records if r[0]])
    run.cut = run.requests < run.planned and time.monotonic() >= stop_at
    errors = Counter(error.split(" [", 1)[0] for _, _, error, _ in records if error)
    run.errors, run.error_kinds = sum(errors.values()), dict(errors.most_common(10))
    mismatched = [(q, d) for q, _, _, d in records if d is not None]
    run.mismatches = len(mismatched)
    run.mismatch_examples = [
        {"question": q, "got": d, "expected": (reference or {}).get(q, {}).get("answer")}
        for q, d in dict(mismatched).items()
    ][:5]
    if latencies:
        run.p50_ms = round(statistics.median(latencies), 1)
        run.p95_ms = round(percentile(latencies, 0.95), 1)
        run.p99_ms = round(percentile(latencies, 0.99), 1)
        run.answers_per_s = round(len(latencies) / run.wall_s, 2) if run.wall_s else None
    if sampler is not None:
        window = sampler.window(began_requests, ended)
        if window:
            run.rss_start_mb, run.rss_end_mb, run.rss_peak_mb = mb(window[0]), mb(window[-1]), mb(max(window))
    return run


def rest_transport(url: str) -> tuple[Callable[[], Any], Callable[[Any, str], Any], Callable[[Any], None]]:
    def connect() -> httpx.Client:
        # trust_env=False: straight to loopback, never through a proxy from the environment
        return httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT, trust_env=False)

    def ask(client: httpx.Client, question: str) -> Any:
        response = client.post("/v1/ask", json={"question": question})
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code} [{response.text[:150]}]")
        return response.json()

    return connect, ask, lambda client: client.close()


def gradio_transport(url: str) -> tuple[Callable[[], Any], Callable[[Any, str], Any], Callable[[Any], None]]:
    from gradio_client import Client  # after offline.prepare(): Gradio reads its variables at import

    def connect() -> Client:
        return Client(
            url,
            verbose=False,
            download_files=False,
            analytics_enabled=False,
            httpx_kwargs={"timeout": REQUEST_TIMEOUT, "trust_env": False},
        )

    def ask(client: Client, question: str) -> Any:
        return client.submit(question, [], api_name="/ask").result(timeout=REQUEST_TIMEOUT)

    return connect, ask, lambda client: client.close()


def in_process(
    index: Path, clients: list[int], questions: int, asks: int, clock: Clock, runs_left: int
) -> tuple[dict, list[Run], dict[str, dict]]:
    """Sequential `service.ask` latency, then answers/s with N threads; and each question's reply as the
    reference the server's replies are compared with."""
    import qa

    began = time.perf_counter()
    service = qa.load(index_dir=index / "index", upload_dir=index / "uploads", documents=[Path("seeds")])
    report = service.ingest()
    service.warm_up()
    reference = {q: service.ask(q).to_dict() for q in QUESTIONS}
    setup_s = time.perf_counter() - began
    refused = [q for q, r in reference.items() if not r["supported"]]
    print(
        f"in-process: index built in {setup_s:.1f} s ({report.chunks} chunks); refuses {len(refused)} of "
        f"{len(QUESTIONS)} questions: {refused}",
        flush=True,
    )
    stop_at = time.monotonic() + clock.share(runs_left, STARTUP_ALLOWANCE)
    latencies = []
    for k in range(asks):
        if time.monotonic() >= stop_at:
            break
        t = time.perf_counter()
        service.ask(QUESTIONS[k % len(QUESTIONS)])
        latencies.append(1000 * (time.perf_counter() - t))
    sequential = {
        "asks": len(latencies),
        "planned": asks,
        "cut": len(latencies) < asks,
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 0.95), 1) if latencies else None,
    }
    runs_left -= 1
    runs = []
    for n in clients:
        runs.append(
            run_clients(
                "in-process",
                n,
                questions,
                clock.share(runs_left, STARTUP_ALLOWANCE),
                lambda: service,
                lambda svc, q: svc.ask(q).to_dict(),
                lambda _: None,
                reference,
            )
        )
        runs_left -= 1
    return sequential, runs, reference


def warm(url: str, transports: dict) -> None:
    """Each transport answers every question once before anything is timed; a failure here stops the run."""
    for name, (connect, ask, close) in transports.items():
        session = connect()
        try:
            for question in QUESTIONS:
                problem = shape_problem(ask(session, question))
                if problem:
                    raise SystemExit(f"{name} /ask at {url}: {problem}")
        finally:
            close(session)


def cell(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(runs: list[Run]) -> str:
    lines = [
        "| transport | clients | requests | errors | mismatches | p50 ms | p95 ms | p99 ms | answers/s "
        "| server peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        requests = f"{r.requests} of {r.planned} (cut)" if r.cut else str(r.requests)
        lines.append(
            f"| {r.transport} | {r.clients} | {requests} | {r.errors} | {r.mismatches} | {cell(r.p50_ms)} "
            f"| {cell(r.p95_ms)} | {cell(r.p99_ms)} | {cell(r.answers_per_s, 1)} | {cell(r.rss_peak_mb)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Soak and load on the real server: REST /v1/ask and Gradio /ask.")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 20, 50], help="concurrent clients per run")
    parser.add_argument("--questions", type=int, default=20, help="questions each client asks per run")
    parser.add_argument("--transports", nargs="+", choices=["rest", "gradio"], default=["rest", "gradio"])
    parser.add_argument("--baseline-asks", type=int, default=50, help="sequential in-process asks for the p50")
    parser.add_argument("--max-seconds", type=float, default=600, help="bound on the whole run")
    parser.add_argument("--out", type=Path, default=OUT, help="the JSON report")
    args = parser.parse_args()
    if min(args.clients) < 1 or args.questions < 1:
        parser.error("--clients and --questions must be at least 1")
    offline.prepare()
    args.out = args.out.resolve()
    os.chdir(ROOT)  # the default documents, `seeds`, are relative, as for a user running from the repo
    clock = Clock(args.max_seconds)
    names = {"rest": "REST", "gradio": "Gradio"}
    server_runs = len(args.clients) * len(args.transports)
    folder = Path(tempfile.mkdtemp(prefix="bench-load-"))
    try:
        sequential, local_runs, reference = in_process(
            folder / "in-process",
            args.clients,
            args.questions,
            args.baseline_asks,
            clock,
            1 + len(args.clients) + server_runs,
        )
        print(
            f"in-process service.ask: p50 {cell(sequential['p50_ms'], 1)} ms, p95 {cell(sequential['p95_ms'], 1)}"
            f" ms over {sequential['asks']} sequential asks",
            flush=True,
        )
        (folder / "server").mkdir()
        began = time.monotonic()
        server, url = start_server(folder / "server")
        startup_s = time.monotonic() - began
        sampler = RssSampler(server.pid)
        sampler.start()
        runs: list[Run] = []
        try:
            transports = {names[t]: (rest_transport if t == "rest" else gradio_transport)(url) for t in args.transports}
            warm(url, transports)
            rss_ready = mb(sampler.samples[-1][1]) if sampler.samples else None
            print(f"server: {url} ready in {startup_s:.1f} s, RSS {cell(rss_ready)} MB after warm-up", flush=True)
            left = server_runs
            for n in args.clients:  # both transports at each N, back to back, so their conditions match
                for name, (connect, ask, close) in transports.items():
                    run = run_clients(
                        name, n, args.questions, clock.share(left), connect, ask, close, reference, sampler
                    )
                    left -= 1
                    runs.append(run)
                    print(
                        f"  {name} x{n}: {run.requests} requests, {run.errors} errors, p50 {cell(run.p50_ms)} ms, "
                        f"{cell(run.answers_per_s, 1)} answers/s; CPU s server {cell(run.server_cpu_s, 1)}, "
                        f"clients {cell(run.client_cpu_s, 1)} in {run.wall_s:.1f} s{' (cut)' if run.cut else ''}",
                        flush=True,
                    )
        finally:
            sampler.stop()
            stop_server(server)
        samples = [rss for _, rss in sampler.samples]
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    all_runs = local_runs + runs
    print()
    print(
        f"in-process `service.ask` p50: {cell(sequential['p50_ms'], 1)} ms ({sequential['asks']} sequential asks); "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print()
    print(table(all_runs))
    print()
    for r in all_runs:
        if r.cut:
            print(
                f"note: {r.transport} x{r.clients} stopped issuing requests after its {r.budget_s:.0f} s share: "
                f"{r.requests} of {r.planned} sent"
            )
        if r.error_kinds:
            print(f"note: {r.transport} x{r.clients} errors: {r.error_kinds}")
        for m in r.mismatch_examples:
            print(
                f"note: {r.transport} x{r.clients} mismatch on {m['question']!r}: got {m['got']!r}, "
                f"in-process {m['expected']!r}"
            )
    print(
        f"server RSS: {cell(rss_ready)} MB after warm-up, {cell(mb(samples[-1]) if samples else None)} MB at the "
        f"end, peak {cell(mb(max(samples)) if samples else None)} MB ({len(samples)} samples)"
    )
    ratio, at = None, None
    by = {(r.transport, r.clients): r for r in runs}
    both = [
        n
        for n in args.clients
        if (
            by.get(("REST", n))
            and by.get(("Gradio", n))
            and by["REST", n].answers_per_s
            and by["Gradio", n].answers_per_s
        )
    ]
    if both:
        at = 20 if 20 in both else min(both, key=lambda n: (abs(n - 20), -n))
        ratio = by["REST", at].answers_per_s / by["Gradio", at].answers_per_s
        print(
            f"REST answers/s / Gradio answers/s at {at} clients: {ratio:.2f}x"
            + ("" if at == 20 else " (no run at 20 clients; the nearest)")
        )
    print(f"total {time.monotonic() - clock.began:.0f} s of --max-seconds {args.max_seconds:.0f}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "arguments": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "questions": QUESTIONS,
        "in_process": {"sequential": sequential, "refused": [q for q, r in reference.items() if not r["supported"]]},
        "server": {
            "startup_s": round(startup_s, 1),
            "rss_after_warm_up_mb": rss_ready,
            "rss_end_mb": mb(samples[-1]) if samples else None,
            "rss_peak_mb": mb(max(samples)) if samples else None,
        },
        "runs": [asdict(r) for r in all_runs],
        "rest_over_gradio": {"clients": at, "ratio": round(ratio, 3) if ratio else None},
        "total_s": round(time.monotonic() - clock.began, 1),
    }
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


if __name__ == "__main__":
    main()
