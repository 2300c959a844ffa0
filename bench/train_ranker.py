"""Rebuild the shipped learned models (`qa/models/fusion.json`, `qa/models/evidence.json`) from data.

    pip install -e ".[train]"
    qa --index-dir bench/out/covid-index eval ../shared/datasets/covid-qa/covid-qa-dev.json --limit 1  # builds the index
    python bench/train_ranker.py [--seed 13] [--article-weight 3] [--precision 0.6]

Data: COVID-QA dev (`../shared/datasets/covid-qa`, split 60/20/20 by paper), the article's
`training/article-train*.jsonl` (70% train, 30% dev) and `tests/golden/article-dev.jsonl` (dev). The article's
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
from dataclasses import replace
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
ARTICLE = Path("seeds")
ARTICLE_TRAIN = Path("training")
ARTICLE_DEV = Path("tests/golden/article-dev.jsonl")
SPLITS = MODELS / "covid-qa-splits.json"


def article_store(embedder) -> tuple[Store, Corpus]:
    folder = Path(tempfile.mkdtemp(prefix="train-article-"))
    store = ChromaStore(open_persistent_client(folder), "article", embedder.name, embedder.dim)
    defaults = Settings()
    Ingestor(store, embedder, Chunker(defaults.chunk_size, defaults.chunk_overlap), defaults.max_file_bytes).run(
        [ARTICLE]
    )
    return store, Corpus.load(store)


def article_questions(source: str, seed: int) -> tuple[list, list]:
    """The article's training questions (70%, train) and dev questions: the dev golden set plus the
    other 30% of the training file, drawn by a seeded shuffle (one document: it cannot split by document)."""
    written = [
        q
        for path in sorted(ARTICLE_TRAIN.glob("article-train*.jsonl"))
        for q in golden_questions(path, source, "train")
    ]
    order = sorted(written, key=lambda q: q.id)
    random.Random(seed).shuffle(order)
    cut = round(0.7 * len(order))
    dev = [replace(q, split="dev") for q in order[cut:]] + golden_questions(ARTICLE_DEV, source, "dev")
    return order[:cut], dev


def dataset(seed: int) -> tuple[recipe.Dataset, list[Examples], dict[str, str]]:
    """The recipe's questions (COVID-QA train and dev papers with their leave-out and perturbed forms; the
    article's training and dev questions with their changed forms), each with the `Examples` of its corpus,
    the two `Examples`, and the split of COVID-QA papers. Fusion of the examples: the fixed 50/50 mix."""
    settings = Settings()
    embedder = CachedEmbedder(build_embedder(settings.embedder, settings.embed_threads))

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

    art_store, art_corpus = article_store(embedder)
    source = next(iter(art_corpus.documents))
    art_train, art_dev = article_questions(source, seed)
    art_terms = set().union(*art_corpus.sentence_term_list)
    art_words = replacement_words([q.text for q in art_train if not q.answerable])
    art_all = art_train + art_dev + perturb(art_train + art_dev, lambda _: art_terms, art_words, seed)

    pool = settings.evidence_chunks
    covid_ex = Examples(
        covid_store, covid_corpus, embedder, WeightedFusion(0.5), settings.top_k, settings.dense_candidates, pool
    )
    art_ex = Examples(
        art_store, art_corpus, embedder, WeightedFusion(0.5), settings.top_k, settings.dense_candidates, pool
    )
    data = recipe.Dataset([(q, covid_ex) for q in covid_all if q.split != "test"] + [(q, art_ex) for q in art_all])
    return data, [covid_ex, art_ex], splits


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
    parser.add_argument("--out", type=Path, default=MODELS)
    args = parser.parse_args()
    offline.prepare()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    data, (covid_ex, art_ex), splits = dataset(args.seed)
    fusion, fusion_report = recipe.fit_fusion(data, args.seed)
    covid_ex.fusion = art_ex.fusion = LearnedFusion(fusion)
    train, dev = recipe.run_rows(data, "train"), recipe.run_rows(data, "dev")
    evidence, evidence_report = recipe.fit_evidence(
        train,
        dev,
        args.seed,
        args.precision,
        {"article": args.article_weight, "covid": 1.0},
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
    files = [COVID, *sorted(ARTICLE_TRAIN.glob("article-train*.jsonl")), ARTICLE_DEV, *sorted(ARTICLE.glob("*.txt"))]
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
