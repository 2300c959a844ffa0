"""Rebuild the shipped learned models (`qa/models/fusion.json`, `qa/models/evidence.json`) from data.

    pip install -e ".[train]"
    qa --index-dir bench/out/covid-index eval ../shared/datasets/covid-qa/covid-qa-dev.json --limit 1  # builds the index
    python bench/train_ranker.py [--seed 13] [--article-weight 3] [--docs-weight 1] [--precision 0.6]

Data: COVID-QA dev (`../shared/datasets/covid-qa`, split 60/20/20 by paper); questions written about a
document from its text alone (`WRITTEN`, 70% train, 30% dev each): the article's `training/article-train*.jsonl`
and a software README (`training/corpora/`, domain "docs"); and `tests/golden/article-dev.jsonl` (dev). The article's
golden test sets (`tests/golden/article.jsonl`, `article-holdout.jsonl`) and the COVID-QA test
papers are not read here; `bench/learned_eval.py` reports on them. Writes the two model files,
the split of papers into `qa/models/covid-qa-splits.json`, and `bench/out/train-report.json`.
"""

import argparse
import json
import logging
import random
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from qa import offline
from qa.eval import squad
from qa.index.chroma_client import open_persistent_client
from qa.index.chroma_store import ChromaStore
from qa.index.chunking import Chunker
from qa.index.embedding import build_embedder
from qa.index.ingestion import Ingestor
from qa.index.store import Store
from qa.learn import recipe
from qa.learn.examples import CachedEmbedder, Examples
from qa.learn.perturb import perturb, replacement_words
from qa.learn.questions import golden_questions, leave_out, squad_questions
from qa.query.corpus import Corpus
from qa.query.fusion import LearnedFusion, WeightedFusion
from qa.query.learned import MODELS
from qa.settings import Settings

COVID = Path("../shared/datasets/covid-qa/covid-qa-dev.json")
INDEX = Path("bench/out/covid-index")
ARTICLE_DEV = Path("tests/golden/article-dev.jsonl")
SPLITS = MODELS / "covid-qa-splits.json"


@dataclass(frozen=True)
class Written:
    """A document with questions written about it from its text alone (`training/`): each file's questions
    split 70% train, 30% dev by a seeded shuffle (one document: it cannot split by document)."""

    name: str
    domain: str
    document: Path
    questions: str  # a glob in `training/`


WRITTEN = (
    Written("article", "article", Path("seeds"), "article-train*.jsonl"),
    Written("tqdm", "docs", Path("training/corpora/tqdm-readme.md"), "tqdm-train*.jsonl"),
)
TRAINING = Path("training")


def written_store(written: Written, embedder, folder: Path) -> tuple[Store, Corpus]:
    store = ChromaStore(open_persistent_client(folder), written.name, embedder.name, embedder.dim)
    defaults = Settings()
    Ingestor(store, embedder, Chunker(defaults.chunk_size, defaults.chunk_overlap), defaults.max_file_bytes).run(
        [written.document]
    )
    return store, Corpus.load(store)


def written_questions(written: Written, source: str, seed: int) -> tuple[list, list]:
    """The document's training questions and dev questions: 70% / 30% of each file by a seeded shuffle of
    that file (adding a file moves no other file's questions between train and dev); for the article, its dev
    golden set is dev too."""
    train, dev = [], []
    for path in sorted(TRAINING.glob(written.questions)):
        order = sorted(golden_questions(path, source, "train", written.domain), key=lambda q: q.id)
        random.Random(f"{seed}/{path.name}").shuffle(order)
        cut = round(0.7 * len(order))
        train += order[:cut]
        dev += [replace(q, split="dev") for q in order[cut:]]
    if written.name == "article":
        dev += golden_questions(ARTICLE_DEV, source, "dev")
    return train, dev


def dataset(seed: int, written: tuple[Written, ...] = WRITTEN) -> tuple[recipe.Dataset, list[Examples], dict[str, str]]:
    """The recipe's questions (COVID-QA train and dev papers with their leave-out and perturbed forms; each
    written document's training and dev questions with their changed forms), each with the `Examples` of its
    corpus, the `Examples` (COVID-QA first), and the split of COVID-QA papers. Fusion of the examples: the
    fixed 50/50 mix."""
    settings = Settings()
    embedder = CachedEmbedder(build_embedder(settings.embedder, settings.embed_threads))

    def examples(store: Store, corpus: Corpus) -> Examples:
        return Examples(
            store,
            corpus,
            embedder,
            WeightedFusion(0.5),
            settings.top_k,
            settings.dense_candidates,
            settings.evidence_chunks,
        )

    collection = squad.collection_for(COVID)
    folder = INDEX / "eval-texts" / collection
    covid_store = ChromaStore(open_persistent_client(INDEX), collection, embedder.name, embedder.dim)
    covid_corpus = Corpus.load(covid_store)
    if not covid_corpus.documents:
        sys.exit(f"{INDEX} holds no {collection} collection: build it first (see this script's docstring)")
    known = json.loads(SPLITS.read_text()) if SPLITS.is_file() else None
    splits = {str(folder / f"{d}.txt"): s for s, docs in known.items() for d in docs} if known else None
    covid, splits = squad_questions(COVID, folder, splits, seed)
    covid_terms = covid_corpus.document_terms()
    words = replacement_words([q.text for q in covid])
    covid_all = covid + leave_out(covid) + perturb(covid, covid_terms.__getitem__, words, seed)
    covid_ex = examples(covid_store, covid_corpus)
    pairs = [(q, covid_ex) for q in covid_all if q.split != "test"]
    all_examples = [covid_ex]

    stores = Path(tempfile.mkdtemp(prefix="train-written-"))
    for w in written:
        store, corpus = written_store(w, embedder, stores)
        source = next(iter(corpus.documents))
        train, dev = written_questions(w, source, seed)
        used = set().union(*corpus.sentence_term_list)
        changed = perturb(
            train + dev, lambda _, used=used: used, replacement_words([q.text for q in train if not q.answerable]), seed
        )
        ex = examples(store, corpus)
        pairs += [(q, ex) for q in train + dev + changed]
        all_examples.append(ex)
    return recipe.Dataset(pairs), all_examples, splits


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--precision",
        type=float,
        default=0.6,
        help="balanced dev precision the answer threshold must reach (see qa/learn/fit.py)",
    )
    parser.add_argument(
        "--article-weight",
        type=float,
        default=3.0,
        help="weight of an article question against a COVID-QA one when fitting the evidence model",
    )
    parser.add_argument(
        "--docs-weight",
        type=float,
        default=1.0,
        help="weight of a question about the written software READMEs (domain docs) against a COVID-QA one",
    )
    parser.add_argument(
        "--written",
        default=",".join(w.name for w in WRITTEN),
        help="the written documents whose questions are used (comma-separated names of WRITTEN)",
    )
    parser.add_argument("--out", type=Path, default=MODELS)
    args = parser.parse_args()
    offline.prepare()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    chosen = tuple(w for w in WRITTEN if w.name in args.written.split(","))
    data, examples, splits = dataset(args.seed, chosen)
    fusion, fusion_report = recipe.fit_fusion(data, args.seed)
    for ex in examples:
        ex.fusion = LearnedFusion(fusion)
    train, dev = recipe.run_rows(data, "train"), recipe.run_rows(data, "dev")
    evidence, evidence_report = recipe.fit_evidence(
        train,
        dev,
        args.seed,
        args.precision,
        {"article": args.article_weight, "docs": args.docs_weight, "covid": 1.0},
        [r for r in dev if r.question.meta.get("file") == ARTICLE_DEV.name and r.question.origin != "perturbed"],
    )
    threshold = float(evidence.threshold or 0.5)
    evidence_report["by_group"] = {
        "train": recipe.by_group(train, evidence, threshold),
        "dev": recipe.by_group(dev, evidence, threshold),
    }
    report = {
        "fusion": fusion_report,
        "evidence": evidence_report,
        "questions": {s: sum(1 for q, _ in data.questions if q.split == s) for s in ("train", "dev")},
    }
    documents = [f for w in chosen for f in (sorted(w.document.glob("*.txt")) if w.document.is_dir() else [w.document])]
    files = [COVID, ARTICLE_DEV, *documents] + [f for w in chosen for f in sorted(TRAINING.glob(w.questions))]
    about = recipe.provenance(files, args.seed, splits, {"report": report})
    args.out.mkdir(parents=True, exist_ok=True)
    for model in (fusion, evidence):
        replace(model, provenance={**about, "report": report[model.name]}).save(args.out / f"{model.name}.json")
    SPLITS.write_text(json.dumps(about["splits"], indent=1) + "\n")
    Path("bench/out").mkdir(parents=True, exist_ok=True)
    Path("bench/out/train-report.json").write_text(json.dumps(report, indent=1) + "\n")
    print(
        json.dumps(
            {
                "fusion": fusion_report,
                "evidence_dev": evidence_report["dev"],
                "chosen": evidence_report["chosen"],
                "dev": evidence_report["by_group"]["dev"],
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
