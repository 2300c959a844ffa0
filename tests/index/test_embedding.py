"""The shipped embedder: passages it embedded lately are not embedded again, with the same vectors."""

import numpy as np

from qa.index import embedding
from qa.index.embedding import E5Embedder, forget_recent_passages


class CountingEngine:
    """Wraps the real passage engine and records the texts it was asked to embed."""

    def __init__(self, engine):
        self.engine = engine
        self.asked: list[str] = []

    def passage(self, texts):
        self.asked += texts
        return self.engine.passage(texts)


def test_recent_passages_are_served_without_the_engine_and_give_the_engines_vectors():
    forget_recent_passages()
    first = E5Embedder(threads=1)
    texts = ["Lei Jun founded Xiaomi in 2010.", "The meeting room is on the fourth floor."]
    fresh = first.embed_passages(texts)

    second = E5Embedder(threads=1)  # another service in the same process shares what the first embedded
    second.embed_passages(["warm up the engine"])
    counting = CountingEngine(second._passage_model)
    second._passage_model = counting
    again = second.embed_passages([texts[1], "A sentence not seen before.", texts[0]])

    assert counting.asked == ["A sentence not seen before."]
    assert np.array_equal(again[[2, 0]], fresh), "a remembered vector is the engine's, bit for bit"
    forget_recent_passages()
    assert np.array_equal(second.embed_passages(texts), fresh) and counting.asked[1:] == texts


def test_the_least_recently_used_passages_go_first():
    recent = embedding._RecentPassages(2)
    out = np.zeros(1, dtype=np.float32)
    recent.keep(["a", "b"], np.array([[1.0], [2.0]], dtype=np.float32))
    assert recent.fill("a", out) and out[0] == 1.0  # "a" is now the most recent
    recent.keep(["c"], np.array([[3.0]], dtype=np.float32))
    assert not recent.fill("b", out), "the least recently used passage was dropped"
    assert recent.fill("a", out) and recent.fill("c", out) and out[0] == 3.0
