"""Hybrid retrieval on a small in-memory corpus with a stand-in embedder: dense and BM25 signals per chunk,
fused and ranked, restricted to chosen documents, and handed on as ranked chunks whose spans index the text."""

import numpy as np
import pytest
from query_fakes import CorpusStore, HashEmbedder, corpus_of, document_text, vector

from qa.query.fusion import ChunkSignals, WeightedFusion
from qa.query.retrieval import HybridRetriever, Query, RankedChunk, ranked_chunks

DOCUMENTS = {
    "garden.txt": [
        "The greenhouse grows saffron crocuses.",
        "The crocuses flower in October.",
        "The shed holds twelve rakes.",
        "A fox lives under the shed.",
    ],
    "tower.txt": [
        "The observatory telescope was built in 1911.",
        "The dome turns on iron rails.",
        "Astronomers count comets from the dome.",
        "The telescope lens came from Jena.",
    ],
}
CORPUS = corpus_of(DOCUMENTS)


def _retriever(top_k: int = 2, pool: int = 3, candidates: int = 8) -> HybridRetriever:
    return HybridRetriever(CorpusStore(CORPUS), CORPUS, HashEmbedder(), WeightedFusion(0.5), top_k, candidates, pool)


def _question(text: str) -> Query:
    return Query(text, text)


def test_the_chunk_holding_the_words_ranks_first_with_both_signals():
    retrieval = _retriever().retrieve(_question("How many rakes does the shed hold?"))
    best = retrieval.top[0]
    assert best.titled.chunk.text == "The shed holds twelve rakes. A fox lives under the shed."
    assert best.lexical > 0 and best.dense == pytest.approx(max(retrieval.sentence_similarity.values()))
    assert [r.score for r in retrieval.pool] == sorted((r.score for r in retrieval.pool), reverse=True)


def test_top_k_chunks_are_shown_and_a_wider_pool_feeds_evidence():
    retrieval = _retriever(top_k=1, pool=3).retrieve(_question("telescope"))
    assert len(retrieval.top) == 1 and len(retrieval.pool) == 3
    assert len(_retriever(top_k=1, pool=3).retrieve(_question("telescope"), top_k=4).pool) == 4


def test_ranked_chunks_are_spans_of_their_document_text():
    for ranked in _retriever(top_k=4).retrieve(_question("dome rails comets")).top:
        span = ranked.span
        assert document_text(DOCUMENTS[span.source])[span.start : span.end] == span.text
        assert span.score == ranked.score and span.title == DOCUMENTS[span.source][0]


def test_a_chunks_dense_score_is_its_best_sentences_similarity():
    retrieval = _retriever().retrieve(_question("saffron crocuses flower"))
    for ranked in retrieval.pool:
        inside = CORPUS.chunk_sentences[ranked.index]
        found = [retrieval.sentence_similarity[int(i)] for i in inside if int(i) in retrieval.sentence_similarity]
        assert ranked.dense == pytest.approx(max(found))


def test_a_follow_up_searches_with_the_conversation_and_focuses_on_its_own_words():
    query = Query("telescope Jena lens", "Where did it come from?")
    retrieval = _retriever().retrieve(query)
    assert np.allclose(retrieval.search_vector, vector(query.search))
    assert np.allclose(retrieval.focus_vector, vector(query.focus))
    assert retrieval.top[0].titled.chunk.source == "tower.txt"


def test_sources_restrict_every_chunk_and_the_dense_search():
    retrieval = _retriever(pool=8).retrieve(_question("telescope rakes"), sources={"garden.txt"})
    assert {r.titled.chunk.source for r in retrieval.pool} == {"garden.txt"}
    assert all(CORPUS.sentences[i].source == "garden.txt" for i in retrieval.sentence_similarity)
    assert retrieval.allowed is not None and retrieval.allowed.tolist() == [True, True, False, False]


def test_ranked_chunks_keep_corpus_order_on_ties_and_honour_the_allowed_mask():
    signals = ChunkSignals(np.zeros(4, np.float32), np.zeros(4, np.float32), CORPUS.chunk_doc)
    fused = np.array([0.2, 0.9, 0.2, 0.5])
    ranked = ranked_chunks(CORPUS, signals, fused, 3, None)
    assert [r.index for r in ranked] == [1, 3, 0]
    assert all(isinstance(r, RankedChunk) and r.titled == CORPUS.chunks[r.index] for r in ranked)
    only = ranked_chunks(CORPUS, signals, fused, 3, np.array([True, False, True, False]))
    assert [r.index for r in only] == [0, 2]


class MissingStore(CorpusStore):
    """An approximate dense search (as Chroma's HNSW graph can be) that never returns some sentences."""

    def __init__(self, corpus, missed: set[str]):
        super().__init__(corpus)
        self._missed = missed

    def nearest_sentences(self, vector, n, sources=None):
        return [
            hit
            for hit in super().nearest_sentences(vector, n + len(self._missed), sources)
            if hit[0] not in self._missed
        ][:n]


def test_sentences_the_approximate_dense_search_missed_are_scored_exactly_for_the_best_bm25_chunks():
    question = _question("How many rakes does the shed hold?")
    exact = _retriever(candidates=4).retrieve(question)
    (rakes,) = CORPUS.sentence_rows(["garden.txt#s2"])
    assert rakes in exact.sentence_similarity

    missed = {"garden.txt#s2", "garden.txt#s3"}
    approximate = HybridRetriever(
        MissingStore(CORPUS, missed), CORPUS, HashEmbedder(), WeightedFusion(0.5), 2, 4, 3
    ).retrieve(question)
    floor = min(s for i, s in approximate.sentence_similarity.items() if CORPUS.sentences[i].id not in missed)
    assert approximate.sentence_similarity[rakes] == pytest.approx(exact.sentence_similarity[rakes])
    assert exact.sentence_similarity[rakes] > floor
    assert [c.index for c in approximate.top] == [c.index for c in exact.top]
    assert approximate.top[0].dense == pytest.approx(exact.top[0].dense)


def test_an_exact_dense_search_is_left_as_it_is():
    question = _question("When was the observatory telescope built?")
    retriever = _retriever(candidates=3)
    retrieval = retriever.retrieve(question)
    returned = dict(CorpusStore(CORPUS).nearest_sentences(vector(question.search), 3))
    assert {CORPUS.sentences[i].id for i in retrieval.sentence_similarity} == set(returned)


def test_a_corpus_within_the_exact_limit_is_searched_from_the_snapshot_not_the_store():
    """Below `exact_up_to` sentences the store's approximate search is not asked: nothing it would miss is missed."""
    question = _question("How many rakes does the shed hold?")
    missed = {"garden.txt#s2", "garden.txt#s3"}
    exact = HybridRetriever(
        MissingStore(CORPUS, missed), CORPUS, HashEmbedder(), WeightedFusion(0.5), 2, 3, 3, len(CORPUS.sentences)
    ).retrieve(question)
    nearest = CorpusStore(CORPUS).nearest_sentences(vector(question.search), 3)
    assert {CORPUS.sentences[i].id for i in exact.sentence_similarity} == {sid for sid, _ in nearest}
    for sid, sim in nearest:
        (row,) = CORPUS.sentence_rows([sid])
        assert exact.sentence_similarity[row] == pytest.approx(sim, abs=1e-6)
    (rakes,) = CORPUS.sentence_rows(["garden.txt#s2"])
    assert rakes in exact.sentence_similarity


def test_an_exact_search_of_chosen_documents_reads_only_their_sentences():
    retriever = HybridRetriever(
        MissingStore(CORPUS, {"tower.txt#s0"}), CORPUS, HashEmbedder(), WeightedFusion(0.5), 2, 8, 3, 4
    )
    retrieval = retriever.retrieve(_question("When was the observatory telescope built?"), sources={"tower.txt"})
    assert {CORPUS.sentences[i].id for i in retrieval.sentence_similarity} == {f"tower.txt#s{i}" for i in range(4)}
    assert [r.titled.chunk.source for r in retrieval.pool] == ["tower.txt"] * len(retrieval.pool)


class CountingStore(CorpusStore):
    def __init__(self, corpus):
        super().__init__(corpus)
        self.asked = 0

    def nearest_sentences(self, vector, n, sources=None):
        self.asked += 1
        return super().nearest_sentences(vector, n, sources)


def test_the_store_is_asked_only_over_the_exact_limit():
    question = _question("How many rakes does the shed hold?")
    for limit, asked in [(len(CORPUS.sentences) - 1, 1), (len(CORPUS.sentences), 0)]:
        store = CountingStore(CORPUS)
        HybridRetriever(store, CORPUS, HashEmbedder(), WeightedFusion(0.5), 2, 3, 3, limit).retrieve(question)
        assert store.asked == asked
