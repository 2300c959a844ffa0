"""The hand-set rules with a learned veto (`QA_EVIDENCE=vetoed`): choose the veto threshold on dev, then test.

    python bench/veto_eval.py choose            # dev only: writes qa/models/veto.json, bench/out/veto-dev.json
    python bench/veto_eval.py test [--rounds 3] # rules vs vetoed on the test sets, as bench/learned_eval.py

`choose` reads only dev data: `tests/golden/article-dev.jsonl` and the COVID-QA dev papers of
`qa/models/covid-qa-splits.json` (their questions, asked without their paper (leave-out) and with one word
changed (perturbed)). Each question goes once through the vetoed ranker with the veto off (t = 0), which
answers exactly as the rules do and records the learned model's best-run probability p on the same
retrieval re-ranked by the learned fusion (the one the model was fitted on: `VetoedEvidenceRanker.reranked`;
before 2026-12 the model was fed the weighted ranking itself, out of its distribution); the vetoed outcome
at any t is then the rules' outcome, refused where p < t. The rule (RULE below) was fixed before any figure
was seen.

`test` measures the rules and the vetoed ranker with the shipped threshold, once, with learned_eval's own
functions: the article golden dev/test/held-out sets and the COVID-QA test papers. Writes
bench/out/veto-eval.json and prints the tables.
"""

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import learned_eval
from learned_eval import COVID, INDEX

import qa
from qa.eval import squad
from qa.eval.golden import judge, load_cases
from qa.learn.examples import Examples
from qa.learn.fit import VETO_BUDGET, threshold_for_budget
from qa.learn.questions import squad_questions
from qa.query.evidence import evidence_ranker
from qa.query.fusion import build_fusion
from qa.query.learned import MODELS
from qa.query.veto import FORMAT, VERSION, VetoedRanking

ARTICLE_DEV = Path("tests/golden/article-dev.jsonl")
SPLITS = MODELS / "covid-qa-splits.json"
VETO = MODELS / "veto.json"
BUDGET = VETO_BUDGET
RULE = (
    f"the highest t (rounded down to 3 decimals) such that at most {BUDGET:.0%} (rounded down) of the dev answerable "
    "questions the rules answer correctly are vetoed (learned best-run probability < t); dev = "
    "tests/golden/article-dev.jsonl and the COVID-QA dev papers, pooled; correct = the golden verdict "
    "(article) or the answer contains a gold answer (COVID-QA answer recall)"
)
SETUP = (
    "rules: the service's weighted-fusion retrieval; learned p: the same retrieval's signals re-ranked by the "
    "learned fusion (qa/models/fusion.json), the model's own (VetoedEvidenceRanker.reranked)"
)
WHY = (
    "The veto only removes answers, so golden accuracy falls by the share of the rules' correct answers it "
    "vetoes. The rules stand at 0.926 on the golden test set (issue 9) against the CI floor of 0.9: at most "
    "1 - 0.9/0.926 = 2.8% of their correct answers may go; 2% leaves room for the dev-to-test gap. Within "
    "that budget the highest t refuses the most. Fixed before any dev or test figure was seen."
)


def dev_article() -> list[dict]:
    """Each article dev case: the rules' verdict and the learned best-run probability (None: rules refused)."""
    index = Path(tempfile.mkdtemp(prefix="veto-dev-"))
    service = qa.load(index_dir=index, evidence="vetoed", answer_threshold=0.0)
    service.ingest()
    rows = []
    for case in load_cases(ARTICLE_DEV):
        reply = service.ask(case.question, history=case.history, explain=True)
        o = judge(case, reply, 0.0, service.document_text)
        assert reply.explanation is not None
        rows.append(
            {
                "set": "article",
                "id": case.id,
                "kind": case.kind,
                "answerable": case.answerable,
                "answered": reply.supported,
                "correct": o.correct,
                "relevant": o.relevant_citations,
                "cited": len(reply.citations),
                "p": reply.explanation.best if reply.supported else None,
            }
        )
    return rows


def dev_covid(limit: int | None) -> list[dict]:
    """Each COVID-QA dev question (asked, leave-out, perturbed): the rules' outcome and p."""
    collection = squad.collection_for(COVID)
    folder = INDEX / "eval-texts" / collection
    splits_by_doc = json.loads(SPLITS.read_text())
    splits = {str(folder / f"{d}.txt"): s for s, docs in splits_by_doc.items() for d in docs}
    questions, _ = squad_questions(COVID, folder, splits, 0)
    dev = [q for q in questions if q.split == "dev"][:limit]
    ids = {q.id.removeprefix("squad-") for q in dev}
    asked = [q for q in squad.load_squad(COVID, folder).questions if q.id in ids]
    service = qa.load(
        index_dir=INDEX, collection=collection, auto_ingest=False, evidence="vetoed", answer_threshold=0.0
    )
    rows = []
    for q in asked:
        reply = service.ask(q.text, top_k=5, explain=True)
        m = squad.metrics([squad.Result(q, reply, 0.0, None)])
        assert reply.explanation is not None
        rows.append(
            {
                "set": "covid",
                "id": q.id,
                "kind": "asked",
                "answerable": True,
                "answered": reply.supported,
                "correct": m["answer_recall"] == 1.0,
                "relevant": round(m["citation_precision"] * len(reply.citations)),
                "cited": len(reply.citations),
                "p": reply.explanation.best if reply.supported else None,
            }
        )
    store, corpus, embedder, made = learned_eval.generated_unanswerables(service, collection, dev, questions)
    examples = Examples(store, corpus, embedder, build_fusion("weighted", 0.5), 5, 256, 10)
    ranker = evidence_ranker("vetoed", 0.0)
    for kind, made_questions in made.items():
        for lq in sorted(made_questions, key=lambda q: (sorted(q.leave_out), q.id)):
            c, retrieval = examples.retrieve(lq)
            r = ranker(c).rank(retrieval)
            assert isinstance(r, VetoedRanking)
            rows.append(
                {
                    "set": "covid",
                    "id": lq.id,
                    "kind": kind,
                    "answerable": False,
                    "answered": r.rules_answerable,
                    "correct": not r.rules_answerable,
                    "relevant": 0,
                    "cited": 0,
                    "p": r.learned_best,
                }
            )
    return rows


def at(rows: list[dict], t: float | None) -> list[dict]:
    """The outcomes with the veto at t (None: the rules alone)."""
    out = []
    for r in rows:
        vetoed = t is not None and r["answered"] and r["p"] < t
        if vetoed:
            r = {**r, "answered": False, "correct": not r["answerable"], "relevant": 0, "cited": 0}
        out.append(r)
    return out


def share(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else float("nan")


def figures(rows: list[dict]) -> dict:
    answerable = [r for r in rows if r["answerable"]]
    cited = sum(r["cited"] for r in answerable)
    out = {
        "answerable": len(answerable),
        "answered": share([r["answered"] for r in answerable]),
        "correct": share([r["correct"] for r in answerable]),
        "citation_precision": sum(r["relevant"] for r in answerable) / cited if cited else 1.0,
    }
    for kind in sorted({r["kind"] for r in rows if not r["answerable"]}):
        group = [r for r in rows if not r["answerable"] and r["kind"] == kind]
        out[f"{kind}_refused"] = share([not r["answered"] for r in group])
        out[f"{kind}_n"] = len(group)
    return out


def choose_threshold(rows: list[dict]) -> tuple[float, int, int]:
    """RULE: the highest t vetoing at most floor(BUDGET * n) of the n correct dev answers."""
    ps = [r["p"] for r in rows if r["answerable"] and r["correct"]]
    t, allowed = threshold_for_budget(ps, BUDGET)
    return t, allowed, len(ps)


def choose(limit: int | None) -> int:
    rows = dev_article() + dev_covid(limit)
    t, allowed, n = choose_threshold(rows)
    by_set = {s: [r for r in rows if r["set"] == s] for s in ("article", "covid")}
    dev = {s: {"rules": figures(at(group, None)), "vetoed": figures(at(group, t))} for s, group in by_set.items()}
    curve = {
        f"{c:.3f}": {s: figures(at(group, c)) for s, group in by_set.items()}
        for c in (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.126, 0.15, 0.2)
    }
    lost = sum(1 for r in rows if r["answerable"] and r["correct"] and r["p"] < t)
    files = [
        COVID,
        ARTICLE_DEV,
        SPLITS,
        MODELS / "evidence.json",
        MODELS / "fusion.json",
        *sorted(Path("seeds").glob("*.txt")),
    ]
    about = {
        "made_by": "bench/veto_eval.py choose",
        "made_at": time.strftime("%Y-%m-%d"),
        "data": {os.path.relpath(f): hashlib.sha256(f.read_bytes()).hexdigest()[:16] for f in files},
        "split": "dev: tests/golden/article-dev.jsonl and the covid-qa-splits.json dev papers; no test data",
        "rule": RULE,
        "setup": SETUP,
        "why": WHY,
        "budget": BUDGET,
        "correct_dev_answers": n,
        "allowed_vetoes": allowed,
        "vetoed_correct": lost,
        "covid_dev_limit": limit,
        "dev": dev,
    }
    VETO.write_text(
        json.dumps({"format": FORMAT, "version": VERSION, "veto_threshold": t, "provenance": about}, indent=1) + "\n"
    )
    Path("bench/out").mkdir(parents=True, exist_ok=True)
    Path("bench/out/veto-dev.json").write_text(
        json.dumps({"threshold": t, "dev": dev, "curve": curve, "rows": rows}, indent=1) + "\n"
    )
    print(f"veto threshold t = {t} ({lost} of {n} correct dev answers vetoed; {allowed} allowed)\n")
    print(dev_table(dev, curve))
    return 0


def dev_table(dev: dict, curve: dict) -> str:
    lines = [
        "| dev set | evidence | answerable | answered | answered right | citation precision | refused |",
        "|---|---|---|---|---|---|---|",
    ]
    for s, by in dev.items():
        for name, f in by.items():
            refused = ", ".join(
                f"{k.removesuffix('_refused')} {f[k]:.3f} (n={f[k.removesuffix('_refused') + '_n']})"
                for k in f
                if k.endswith("_refused")
            )
            lines.append(
                f"| {s} | {name} | {f['answerable']} | {f['answered']:.3f} | {f['correct']:.3f} | "
                f"{f['citation_precision']:.3f} | {refused} |"
            )
    lines += [
        "",
        "| t (dev) | article right | covid right | covid answered | leave-out refused | perturbed refused |",
        "|---|---|---|---|---|---|",
    ]
    for c, f in curve.items():
        a, v = f["article"], f["covid"]
        lines.append(
            f"| {c} | {a['correct']:.3f} | {v['correct']:.3f} | {v['answered']:.3f} | "
            f"{v.get('leave-out_refused', float('nan')):.3f} | {v.get('perturbed_refused', float('nan')):.3f} |"
        )
    return "\n".join(lines)


def test(rounds: int, limit: int | None) -> int:
    if not VETO.is_file():
        sys.exit(f"{VETO} is missing: run `python bench/veto_eval.py choose` first (dev only)")
    learned_eval.CONFIGS = {"rules": {"evidence": "rules"}, "vetoed": {"evidence": "vetoed"}}
    learned_eval.FUSION_OF = {"rules": "weighted", "vetoed": "weighted"}
    index = Path(tempfile.mkdtemp(prefix="veto-eval-"))
    qa.load(index_dir=index).ingest()
    veto = json.loads(VETO.read_text())
    result = {
        "veto_threshold": veto["veto_threshold"],
        "rule": veto["provenance"]["rule"],
        "article": learned_eval.article(index, rounds),
        "covid": learned_eval.covid(limit),
        "covid_limit": limit,
    }
    Path("bench/out").mkdir(parents=True, exist_ok=True)
    Path("bench/out/veto-eval.json").write_text(json.dumps(result, indent=1) + "\n")
    print(f"veto threshold t = {result['veto_threshold']}\n")
    print(learned_eval.table(result))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("choose", "test"))
    parser.add_argument("--rounds", type=int, default=3, help="test: latency rounds over the article test set")
    parser.add_argument("--limit", type=int, default=None, help="COVID-QA: first N questions of the split only")
    args = parser.parse_args()
    return choose(args.limit) if args.step == "choose" else test(args.rounds, args.limit)


if __name__ == "__main__":
    sys.exit(main())
