"""Evidence ranking on a small in-memory corpus: the fitted model and the hand-set rules rank the sentence
runs of one retrieval, the registry builds the ranker a setting names, and a ranking decides by its threshold."""

import pytest
from query_fakes import CorpusStore, HashEmbedder, corpus_of

from qa.errors import ConfigError
from qa.query.evidence import Evidence, Ranking, evidence_ranker
from qa.query.fusion import WeightedFusion
from qa.query.retrieval import HybridRetriever, Query

CORPUS = corpus_of(
    {
        "xiaomi.txt": [
            "Lei Jun founded Xiaomi in 2010.",
            "The company sells phones in many countries.",
            "Its revenue reached 270 billion yuan in 2023.",
            "Xiaomi also builds electric cars.",
        ],
        "garden.txt": [
            "The greenhouse grows saffron crocuses.",
            "The shed holds twelve rakes.",
        ],
    }
)
QUESTION = "Who founded Xiaomi?"


def _retrieval(question: str = QUESTION):
    retriever = HybridRetriever(CorpusStore(CORPUS), CORPUS, HashEmbedder(), WeightedFusion(0.5), 2, 8, 3)
    return retriever.retrieve(Query(question, question))


@pytest.mark.parametrize("name", ["learned", "rules", "vetoed", "read", "learned-read"])
def test_every_named_ranker_ranks_the_runs_of_the_retrieved_chunks(name):
    retrieval = _retrieval()
    ranking = evidence_ranker(name)(CORPUS).rank(retrieval)
    pool_sentences = {int(i) for r in retrieval.pool for i in CORPUS.chunk_sentences[r.index]}
    assert ranking.evidence and all({e.first, e.last} <= pool_sentences for e in ranking.evidence)
    assert CORPUS.span_text(ranking.best.first, ranking.best.last) == "Lei Jun founded Xiaomi in 2010."
    assert len(ranking.best.features) == len(ranking.feature_names)


def test_the_learned_ranker_orders_runs_by_probability():
    ranking = evidence_ranker("learned")(CORPUS).rank(_retrieval())
    probabilities = [e.probability for e in ranking.evidence]
    assert probabilities == sorted(probabilities, reverse=True) and all(0.0 <= p <= 1.0 for p in probabilities)
    assert 0.0 < ranking.threshold < 1.0


def test_an_explicit_threshold_replaces_the_shipped_one():
    assert evidence_ranker("learned", 0.25)(CORPUS).rank(_retrieval()).threshold == 0.25


def test_an_unknown_ranker_names_the_choices():
    with pytest.raises(ConfigError, match="learned, rules, vetoed"):
        evidence_ranker("oracle")


def test_a_ranking_answers_when_its_best_run_reaches_the_threshold_unless_its_ranker_decided():
    runs = [Evidence(0, 0, 0, 0.6, ()), Evidence(1, 1, 0, 0.3, ())]
    assert Ranking(runs, 0.5).answerable and not Ranking(runs, 0.7).answerable
    assert not Ranking(runs, 0.5, decision=False).answerable and Ranking([], 0.5, decision=True).answerable
    assert not Ranking([], 0.0).answerable and Ranking([], 0.0).best is None
