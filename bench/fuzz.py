"""Fuzzing at length: thousands of generated hostile inputs against the Python API and every HTTP endpoint of
the real server, counting what was tried and what failed (a crash, a traceback, a 500, a broken citation).

The strategies and checks are the CI fuzz tests' own (`tests/fuzzing.py`); CI runs a few hundred
derandomized examples, this runs fresh random ones.

    python bench/fuzz.py [--inputs 10000] [--seed 0]
"""

import argparse
import json
import logging
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from serving import ROOT, start_server, stop_server

sys.path.insert(0, str(ROOT / "tests"))
from fuzzing import (
    ask_bodies,
    chat_bodies,
    check_python_ask,
    check_response,
    histories,
    post_json,
    questions,
    source_lists,
    top_ks,
    upload_bytes,
    upload_names,
)

import qa
from qa import offline

OUT = ROOT / "bench/out/fuzz.json"
SHARES = {
    "python ask/stream": 0.35,
    "http /v1/ask json": 0.25,
    "http chat/completions json": 0.15,
    "http any bytes": 0.1,
    "http document ids": 0.1,
    "http uploads": 0.05,
}


class Tally:
    """Inputs tried and problems found, per target."""

    def __init__(self) -> None:
        self.tried: Counter[str] = Counter()
        self.problems: dict[str, list[str]] = {}

    def record(self, target: str, problem: str | None) -> None:
        self.tried[target] += 1
        if problem is not None:
            self.problems.setdefault(target, []).append(problem)


def run(
    target: str, strategy: st.SearchStrategy, check: Callable[..., str | None], count: int, tally: Tally, rng_seed: int
) -> None:
    """Feed `count` generated examples to `check`, recording every outcome (nothing stops the run)."""

    @seed(rng_seed)
    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def feed(example: tuple) -> None:
        tally.record(target, check(*example))

    feed()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs", type=int, default=10_000, help="generated inputs in all")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    offline.prepare()
    logging.basicConfig(level=logging.ERROR)
    random.seed(args.seed)
    folder = Path(tempfile.mkdtemp(prefix="bench-fuzz-"))
    server, url = start_server(folder / "server")
    service = qa.load(index_dir=folder / "local-index", upload_dir=folder / "local-uploads")
    service.ingest()
    tally = Tally()
    counts = {target: max(1, round(args.inputs * share)) for target, share in SHARES.items()}
    began = time.perf_counter()
    try:
        with httpx.Client(base_url=url, timeout=60) as http:
            texts = _document_texts(http)

            def http_ask(body: object) -> str | None:
                return _safely(lambda: check_response(post_json(http, "/v1/ask", body), texts))

            def http_chat(body: object) -> str | None:
                return _safely(lambda: check_response(post_json(http, "/v1/chat/completions", body), texts))

            def http_bytes(raw: bytes, path: str) -> str | None:
                return _safely(lambda: check_response(http.post(path, content=raw), texts))

            def http_id(document_id: str, method: str) -> str | None:
                escaped = "".join(f"%{b:02X}" for b in document_id.encode("utf-8", "surrogatepass"))
                return _safely(lambda: check_response(http.request(method, "/v1/documents/" + escaped), texts))

            def http_upload(files: list[tuple[str, bytes]]) -> str | None:
                def attempt() -> str | None:
                    response = http.post("/v1/documents", files=[("files", item) for item in files])
                    problem = check_response(response, texts)
                    if response.status_code == 200:
                        for document in response.json()["added"]:
                            http.delete(f"/v1/documents/{document['id']}")
                    return problem

                return _safely(attempt)

            plan = [
                (
                    "python ask/stream",
                    st.tuples(questions, histories, top_ks, st.booleans(), source_lists),
                    lambda q, h, k, s, chosen: check_python_ask(service, q, h, k, s, chosen),
                ),
                ("http /v1/ask json", st.tuples(ask_bodies), http_ask),
                ("http chat/completions json", st.tuples(chat_bodies), http_chat),
                (
                    "http any bytes",
                    st.tuples(
                        st.binary(max_size=500), st.sampled_from(["/v1/ask", "/v1/chat/completions", "/v1/documents"])
                    ),
                    http_bytes,
                ),
                ("http document ids", st.tuples(questions, st.sampled_from(["GET", "DELETE", "PUT"])), http_id),
                (
                    "http uploads",
                    st.tuples(st.lists(st.tuples(upload_names, upload_bytes), min_size=1, max_size=3)),
                    http_upload,
                ),
            ]
            for number, (target, strategy, check) in enumerate(plan):
                run(target, strategy, check, counts[target], tally, args.seed + number)
                print(
                    f"{target}: {tally.tried[target]} inputs, {len(tally.problems.get(target, []))} problems",
                    flush=True,
                )
    finally:
        stop_server(server)
    report = {
        "inputs": sum(tally.tried.values()),
        "seconds": round(time.perf_counter() - began, 1),
        "seed": args.seed,
        "tried": dict(tally.tried),
        "problems": {t: len(p) for t, p in tally.problems.items()},
        "examples": {t: p[:5] for t, p in tally.problems.items()},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"\n{report['inputs']} inputs in {report['seconds']} s; problems: {sum(report['problems'].values())}")
    for target, examples in report["examples"].items():
        print(f"- {target}:", *examples[:3], sep="\n  ")
    print(f"report: {OUT.relative_to(ROOT)}")


def _document_texts(http: httpx.Client) -> Callable[[str], str | None]:
    """A citation's document text, from the server (uploads come and go during the run)."""

    def text(source: str) -> str | None:
        for document in http.get("/v1/documents").json():
            if document["source"] == source:
                return http.get(f"/v1/documents/{document['id']}").json()["text"]
        return None

    return text


def _safely(attempt: Callable[[], str | None]) -> str | None:
    """A failed connection or a client-side encoding error is a problem to count, not a reason to stop."""
    try:
        return attempt()
    except Exception as exc:  # counted and reported: the point of this script
        return f"{type(exc).__name__}: {exc}"


if __name__ == "__main__":
    main()
