"""BM25 over the corpus chunks, in a few numpy arrays.

Okapi BM25 with Lucene's idf, log(1 + (N - df + 0.5) / (df + 0.5)), k1 1.5 and b 0.75: the scores
bm25s gave this project before, to float32 rounding, without its import of scipy (about 0.35 s of
every cold start) or its general-purpose index build. Each term keeps the chunks it occurs in and
its precomputed weight in each, grouped by term (a compressed sparse row layout), so scoring a
question touches only the rows of its terms.
"""

from collections import Counter
from collections.abc import Sequence

import numpy as np

K1 = 1.5
B = 0.75


class Bm25:
    """BM25 scores of every chunk for a list of query terms."""

    def __init__(self, tokenised: Sequence[Sequence[str]]):
        self.size = len(tokenised)
        # An empty chunk counts as one token long, as bm25s counted it, so average lengths agree.
        lengths = np.array([max(1, len(tokens)) for tokens in tokenised], dtype=np.float64)
        self.vocabulary: dict[str, int] = {}
        term_ids: list[int] = []
        chunk_ids: list[int] = []
        counts: list[int] = []
        for chunk, tokens in enumerate(tokenised):
            for term, count in Counter(tokens).items():
                term_ids.append(self.vocabulary.setdefault(term, len(self.vocabulary)))
                chunk_ids.append(chunk)
                counts.append(count)
        terms = np.array(term_ids, dtype=np.int64)
        chunks = np.array(chunk_ids, dtype=np.int64)
        tf = np.array(counts, dtype=np.float64)
        df = np.bincount(terms, minlength=len(self.vocabulary)).astype(np.float64)
        idf = np.log(1 + (self.size - df + 0.5) / (df + 0.5))
        average = lengths.mean() if self.size else 1.0
        weights = idf[terms] * tf / (K1 * ((1 - B) + B * lengths[chunks] / average) + tf)
        order = np.argsort(terms, kind="stable")
        self._chunks = chunks[order]
        self._weights = weights[order].astype(np.float32)
        self._starts = np.concatenate(([0], np.cumsum(np.bincount(terms, minlength=len(self.vocabulary)))))

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """Each chunk's score: the sum of its weights for the query terms (a repeated term counts again)."""
        scores = np.zeros(self.size, dtype=np.float32)
        for term in query_terms:
            row = self.vocabulary.get(term)
            if row is not None:
                start, end = self._starts[row], self._starts[row + 1]
                scores[self._chunks[start:end]] += self._weights[start:end]
        return scores
