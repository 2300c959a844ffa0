"""The hand-set rules and the learned model side by side, in one run, on data no choice was made on.

    python bench/learned_eval.py [--rounds 3]

- Article: the golden dev set (used to set the learned threshold: labelled dev), the golden test set
  (never used by the learned model's recipe; the hand-set rules were partly tuned on it), and the
  held-out set `tests/golden/article-holdout.jsonl` (written apart, before fitting; nothing chose on it).
- A software README (`tests/golden/orjson-readme.md`, a domain no test set covered): 200 questions written
  apart from its text (`orjson-holdout.jsonl`), never fitted on.
- COVID-QA: the test papers of `qa/models/covid-qa-splits.json` (no fitting or choice used them):
  retrieval and answers (`qa eval` SQuAD metrics), and the share refused of the same questions asked
  without their own paper (leave-out) and with one word or number changed (perturbed).
- Latency: warm `ask` p50 on the article against one query embedding, same process, same run.

Writes bench/out/learned-eval.json and prints the tables for bench/RESULTS.md.
"""

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from latency import warm_latency

import qa
from qa.eval import squad
from qa.eval.golden import evaluate, load_cases
from qa.index.chroma_client import open_persistent_client
from qa.index.chroma_store import ChromaStore
from qa.learn.examples import CachedEmbedder, Examples
from qa.learn.perturb import perturb, replacement_words
from qa.learn.questions import leave_out, squad_questions
from qa.query.corpus import Corpus
from qa.query.evidence import evidence_ranker
from qa.query.fusion import build_fusion
from qa.query.learned import MODELS

COVID = Path("../shared/datasets/covid-qa/covid-qa-dev.json")
INDEX = Path("bench/out/covid-index")
GOLDEN = {
    "article dev (dev)": "tests/golden/article-dev.jsonl",
    "article test (test)": "tests/golden/article.jsonl",
    "article held-out (test)": "tests/golden/article-holdout.jsonl",
    "orjson README held-out (test)": "tests/golden/orjson-holdout.jsonl",
}
# Sets about another document than the bundled article: the document each is asked of
DOCUMENT_OF = {"orjson README held-out (test)": Path("tests/golden/orjson-readme.md")}
CONFIGS = {name: {"evidence": name} for name in ("rules", "learned", "read", "learned-read")}
FUSION_OF = {"rules": "weighted", "learned": "learned", "read": "weighted", "learned-read": "learned"}


def article(index: Path, rounds: int) -> dict:
    """The golden sets by evidence ranker: the article's over `index`, the others each over an index of its
    own document."""
    out: dict = {}
    own = {label: _document_index(document) for label, document in DOCUMENT_OF.items()}
    for name, overrides in CONFIGS.items():
        service = qa.load(index_dir=index, **overrides)
        rows = {}
        for label, path in GOLDEN.items():
            asked = (
                qa.load(index_dir=own[label][0], documents=[own[label][1]], **overrides) if label in own else service
            )
            report = evaluate(asked, load_cases(Path(path)))
            by = report.by_kind
            near = [k for k in by if k in ("nearmiss", "unanswerable")]
            rows[label] = {
                **{
                    k: report.metrics[k]
                    for k in ("answer_accuracy", "citation_precision", "refusal_accuracy", "false_refusals")
                },
                **({"nearmiss_refused": by["nearmiss"]["refusal_accuracy"]} if "nearmiss" in by else {}),
                "failures": [o.case.id for o in report.failures()],
                "kinds": near,
            }
        asks, embeds = warm_latency(service, load_cases(Path(GOLDEN["article test (test)"])), rounds)
        rows["latency"] = {
            "ask_p50_ms": statistics.median(asks),
            "embed_p50_ms": statistics.median(embeds),
            "ratio": statistics.median(asks) / statistics.median(embeds),
        }
        out[name] = rows
    return out


def _document_index(document: Path) -> tuple[Path, Path]:
    """A new index of one document (copied into a folder of its own): (index folder, documents folder)."""
    root = Path(tempfile.mkdtemp(prefix="learned-eval-doc-"))
    (root / "docs").mkdir()
    shutil.copy(document, root / "docs" / document.name)
    qa.load(index_dir=root / "index", documents=[root / "docs"]).ingest()
    return root / "index", root / "docs"


def covid(limit: int | None) -> dict:
    collection = squad.collection_for(COVID)
    folder = INDEX / "eval-texts" / collection
    splits_by_doc = json.loads((MODELS / "covid-qa-splits.json").read_text())
    splits = {str(folder / f"{d}.txt"): s for s, docs in splits_by_doc.items() for d in docs}
    questions, _ = squad_questions(COVID, folder, splits, 0)
    test = [q for q in questions if q.split == "test"][:limit]
    squad_set = squad.load_squad(COVID, folder)
    ids = {q.id.removeprefix("squad-") for q in test}
    test_questions = [q for q in squad_set.questions if q.id in ids]
    out: dict = {"questions": len(test_questions), "papers": len(splits_by_doc["test"])}
    service = None
    for name, overrides in CONFIGS.items():
        service = qa.load(index_dir=INDEX, collection=collection, auto_ingest=False, **overrides)
        out[name] = squad.metrics(squad.run(service, test_questions))
    assert service is not None
    store, corpus, embedder, made = generated_unanswerables(service, collection, test, questions)
    for name in CONFIGS:
        examples = Examples(store, corpus, embedder, build_fusion(FUSION_OF[name], 0.5), 5, 256, 10)
        ranker = evidence_ranker(name)
        for kind, asked in made.items():
            refused = []
            for q in sorted(asked, key=lambda q: (sorted(q.leave_out), q.id)):
                c, retrieval = examples.retrieve(q)
                refused.append(not ranker(c).rank(retrieval).answerable)
            out[name][f"{kind}_refused"] = sum(refused) / len(refused)
    return out


def generated_unanswerables(service: qa.QAService, collection: str, asked: list, questions: list) -> tuple:
    """(store, corpus, cached embedder, {"leave-out": ..., "perturbed": ...}) for the COVID-QA index: the `asked`
    questions without their own paper, and with one word or number changed (words drawn from `questions`)."""
    embedder = CachedEmbedder(service.embedder)
    store = ChromaStore(open_persistent_client(INDEX), collection, embedder.name, embedder.dim)
    corpus = Corpus.load(store)
    terms_of = corpus.document_terms()
    made = {
        "leave-out": leave_out(asked),
        "perturbed": perturb(asked, terms_of.__getitem__, replacement_words([q.text for q in questions]), 13),
    }
    return store, corpus, embedder, made


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="latency rounds over the article test set")
    parser.add_argument("--limit", type=int, default=None, help="COVID-QA: first N test questions only")
    args = parser.parse_args()
    index = Path(tempfile.mkdtemp(prefix="learned-eval-"))
    qa.load(index_dir=index).ingest()
    result = {"article": article(index, args.rounds), "covid": covid(args.limit)}
    Path("bench/out").mkdir(parents=True, exist_ok=True)
    Path("bench/out/learned-eval.json").write_text(json.dumps(result, indent=1) + "\n")
    print(table(result))
    return 0


def table(result: dict) -> str:
    lines = [
        "| set (split) | evidence | answer accuracy | citation precision | unanswerable refused | near-miss refused |",
        "|---|---|---|---|---|---|",
    ]
    for label in GOLDEN:
        for name in CONFIGS:
            r = result["article"][name][label]
            near = f"{r['nearmiss_refused']:.3f}" if "nearmiss_refused" in r else "-"
            lines.append(
                f"| {label} | {name} | {r['answer_accuracy']:.3f} | {r['citation_precision']:.3f} | "
                f"{r['refusal_accuracy']:.3f} | {near} |"
            )
    lines += [
        "",
        "| COVID-QA test papers | hit@1 | hit@5 | MRR | answer recall | citation precision | answered | "
        "leave-out refused | perturbed refused |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in CONFIGS:
        m = result["covid"][name]
        lines.append(
            f"| {name} | {m['hit@1']:.3f} | {m['hit@5']:.3f} | {m['mrr']:.3f} | {m['answer_recall']:.3f} | "
            f"{m['citation_precision']:.3f} | {m['answered']:.3f} | {m['leave-out_refused']:.3f} | "
            f"{m['perturbed_refused']:.3f} |"
        )
    lines += ["", "| latency (article, warm) | ask p50 | one query embedding p50 | ratio |", "|---|---|---|---|"]
    for name in CONFIGS:
        r = result["article"][name]["latency"]
        lines.append(f"| {name} | {r['ask_p50_ms']:.1f} ms | {r['embed_p50_ms']:.1f} ms | {r['ratio']:.2f}x |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
