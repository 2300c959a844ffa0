"""The reader: a small cross-encoder that reads the question together with one candidate run.

The evidence features (`features.py`) see words, rarities and embedding similarities one side at a
time; a question whose every word occurs near a sentence that does not state what is asked ("Does
Xiaomi sell laptops?" against a sentence about Xiaomi's phone prices) looks like a match to them. The
reader attends across question and run jointly, the way reading models with a no-answer head do.

It is all-MiniLM-L6-v2 (Apache-2.0) fine-tuned here on COVID-QA training papers and the article's
training questions (`bench/train_reader.py`), exported to ONNX and quantised to int8: it runs in
onnxruntime with nothing downloaded. Its card (`qa/models/reader.json`) records how it was made.
"""

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from qa.errors import ConfigError
from qa.query.learned import MODELS

FORMAT = "docqa-reader"
VERSION = 1


@dataclass(frozen=True)
class ReaderCard:
    """What ships beside the model: how many tokens it reads, and how the product uses it, chosen on dev
    (`bench/reader_eval.py`): the veto threshold on the rules' run (`QA_EVIDENCE=read`); for the learned
    ranker read by it (`learned-read`), how many of its best runs are read, the weights of the learned
    log-odds, the reader's logit and a bias in their combined log-odds, and the answer threshold."""

    max_tokens: int
    veto_threshold: float
    runs: int
    weights: tuple[float, float, float]
    threshold: float


class Reader(Protocol):
    """Scores how likely each passage is to answer the question (a logit: higher answers more)."""

    def logits(self, question: str, passages: Sequence[str]) -> np.ndarray: ...


class OnnxReader:
    """The shipped reader, loaded on first use (the session takes about 0.1 s to build)."""

    def __init__(self, folder: Path = MODELS, threads: int = 1):
        self._folder = folder
        self._threads = threads
        self._lock = threading.Lock()
        self.card = load_card(folder)
        self.max_tokens = self.card.max_tokens

    @cached_property
    def _tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(self._folder / "reader-tokenizer.json"))
        tok.enable_truncation(self.max_tokens, strategy="only_second")
        tok.enable_padding(pad_id=0, pad_token="[PAD]")
        return tok

    @cached_property
    def _session(self) -> Any:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        return onnxruntime.InferenceSession(
            str(self._folder / "reader.onnx"), options, providers=["CPUExecutionProvider"]
        )

    def logits(self, question: str, passages: Sequence[str]) -> np.ndarray:
        if not passages:
            return np.zeros(0, dtype=np.float32)
        with self._lock:  # one session, used by one question at a time (tokenizer padding is shared state)
            encoded = self._tokenizer.encode_batch([(question, p) for p in passages])
            feed = {
                "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
            }
            return np.asarray(self._session.run(["logit"], feed)[0], dtype=np.float32).reshape(-1)


def load_card(folder: Path = MODELS) -> ReaderCard:
    """The reader's card; a missing or damaged one is a configuration error naming the file."""
    path = folder / "reader.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT or data.get("version") != VERSION:
            raise ValueError(f"not a {FORMAT} v{VERSION} file")
        read, learned_read = data["use"]["read"], data["use"]["learned-read"]
        w = [float(v) for v in learned_read["weights"]]
        if len(w) != 3:
            raise ValueError("learned-read needs three weights")
        card = ReaderCard(
            int(data["max_tokens"]),
            float(read["threshold"]),
            int(learned_read["runs"]),
            (w[0], w[1], w[2]),
            float(learned_read["threshold"]),
        )
        probabilities = (card.veto_threshold, card.threshold)
        if card.max_tokens < 8 or card.runs < 1 or not all(0.0 <= t <= 1.0 for t in probabilities):
            raise ValueError(f"out of range: {card}")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(
            f"Cannot load the reader's card {path}: {exc}",
            hint="Reinstall docqa, or rebuild it: `bench/train_reader.py`, then `bench/reader_eval.py --write`.",
        ) from None
    return card
