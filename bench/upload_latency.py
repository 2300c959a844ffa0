"""Questions while a large upload is indexing: warm `ask` latency alone, then while another thread adds a
batch of long papers to the same notebook, in the same run.

The upload is COVID-QA papers (`../shared/datasets/covid-qa`) written as text files; the questions are about
the bundled article, asked one after another for as long as the upload runs.

    python bench/upload_latency.py [--papers 8]
"""

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

import qa
from qa import offline

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared/datasets/covid-qa/covid-qa-dev.json"
QUESTIONS = [
    "Who bought Joyo.com?",
    "How old was Lei Jun when he joined Kingsoft?",
    "Who was Lei Jun's mentor?",
    "What was Xiaomi's revenue in 2023?",
]


def timed_asks(service: qa.QAService, until: threading.Event | None, count: int) -> list[float]:
    """Ask the questions in turn: `count` times, or until `until` is set."""
    times: list[float] = []
    while (until is None and len(times) < count) or (until is not None and not until.is_set()):
        began = time.perf_counter()
        service.ask(QUESTIONS[len(times) % len(QUESTIONS)])
        times.append(1000 * (time.perf_counter() - began))
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--papers", type=int, default=8)
    args = parser.parse_args()
    offline.prepare()
    folder = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    papers = [p["paragraphs"][0]["context"] for p in json.loads(DATA.read_text())["data"][: args.papers]]
    files = [(f"paper{n}.txt", text.encode()) for n, text in enumerate(papers)]
    service = qa.load(index_dir=folder / "index", upload_dir=folder / "uploads")
    service.ingest()
    timed_asks(service, None, 8)
    alone = timed_asks(service, None, 40)
    done = threading.Event()
    report: list = []

    def upload() -> None:
        began = time.perf_counter()
        report.append(service.add_files(files))
        report.append(time.perf_counter() - began)
        done.set()

    uploader = threading.Thread(target=upload)
    uploader.start()
    during = timed_asks(service, done, 0)
    uploader.join()
    added, seconds = report
    print(
        f"upload: {len(added.added)} papers, {added.sentences} sentences in {seconds:.1f} s "
        f"({added.sentences / seconds:.0f} sentences/s)"
    )
    print("| asks | while | p50 ms | p95 ms | p50 vs alone |")
    print("|---|---|---|---|---|")
    base = statistics.median(alone)
    for name, times in (("alone", alone), ("uploading", during)):
        p50 = statistics.median(times)
        print(f"| {len(times)} | {name} | {p50:.0f} | {percentile(times, 0.95):.0f} | {p50 / base:.2f}x |")


if __name__ == "__main__":
    main()
