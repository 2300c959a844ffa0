"""The rules with a learned veto: the decision is the AND of the two, so it never answers where the
rules refuse; through the real service it answers what the article says and refuses what it does not."""

import json
from itertools import product

import pytest

import qa
from qa.query.conversation import condense
from qa.query.evidence import Evidence, Ranking
from qa.query.fusion import build_fusion
from qa.query.learned import MODELS
from qa.query.retrieval import HybridRetriever
from qa.query.veto import VetoedEvidenceRanker, VetoedRanking, load_threshold


class _Fixed:
    """A ranker that returns one prepared ranking whatever it is asked."""

    def __init__(self, ranking: Ranking):
        self.ranking = ranking
        self.calls = 0

    def rank(self, retrieval):
        self.calls += 1
        return self.ranking

    def explain(self, ranking):
        from qa.query.explain import Explanation

        return Explanation(ranking.answerable, ranking.threshold, 0.0, "fixed", [])


def _rules(answers: bool) -> Ranking:
    return Ranking([Evidence(0, 0, 0, 1.0, (0.9, 0.5, 1.0))], 0.9, ("dense", "cover", "fits"), answers)


def _learned(p: float | None) -> Ranking:
    return Ranking([] if p is None else [Evidence(0, 0, 0, p, ())], 0.5)


@pytest.mark.parametrize(
    ("rules", "p", "t"), list(product([True, False], [None, 0.0, 0.05, 0.2, 0.9], [0.0, 0.069, 0.5, 1.0]))
)
def test_decision_is_the_and_of_rules_and_learned(rules, p, t):
    learned = _Fixed(_learned(p))
    ranking = VetoedEvidenceRanker(None, _Fixed(_rules(rules)), learned, t, None).rank(None)  # type: ignore[arg-type]
    best = 0.0 if p is None else p
    assert ranking.answerable == (rules and best >= t)
    assert not ranking.answerable or rules, "never answers where the rules refuse"
    assert ranking.evidence == _rules(rules).evidence and ranking.threshold == 0.9  # the rules' ranking
    assert isinstance(ranking, VetoedRanking) and ranking.rules_answerable == rules
    assert learned.calls == int(rules), "the model is consulted only when the rules would answer"


def test_explanation_names_who_refused():
    rules_refuse = VetoedEvidenceRanker(None, _Fixed(_rules(False)), _Fixed(_learned(0.9)), 0.1, None)  # type: ignore[arg-type]
    assert "rules refused" in rules_refuse.explain(rules_refuse.rank(None)).reason  # type: ignore[arg-type]
    vetoed = VetoedEvidenceRanker(None, _Fixed(_rules(True)), _Fixed(_learned(0.05)), 0.1, None)  # type: ignore[arg-type]
    e = vetoed.explain(vetoed.rank(None))  # type: ignore[arg-type]
    assert not e.answered and "vetoed" in e.reason and e.best == 0.05 and e.threshold == 0.1


def test_shipped_threshold_has_its_provenance():
    t = load_threshold()
    data = json.loads((MODELS / "veto.json").read_text())
    assert 0.0 <= t <= 1.0 and data["veto_threshold"] == t
    about = data["provenance"]
    assert about["rule"] and about["made_at"] and about["data"] and "dev" in about["split"]


def test_a_broken_threshold_file_is_a_config_error(tmp_path):
    (tmp_path / "veto.json").write_text('{"format": "docqa-veto", "version": 1, "veto_threshold": 3}')
    with pytest.raises(qa.ConfigError):
        load_threshold(tmp_path / "veto.json")


@pytest.fixture(scope="module")
def vetoed(service):
    """The same index as `service`, answered by the rules with the learned veto."""
    return qa.load(index_dir=service.settings.index_dir, evidence="vetoed")


def test_vetoed_answers_what_the_article_says(vetoed):
    reply = vetoed.ask("Who bought Joyo.com?", explain=True)
    assert reply.supported and "Amazon" in reply.answer and reply.citations
    assert "did not veto" in reply.explanation.reason


def test_vetoed_refuses_what_the_article_does_not_say(vetoed):
    reply = vetoed.ask("What was Xiaomi's revenue in 2023?")
    assert not reply.supported and reply.citations == []


def test_vetoed_never_answers_where_the_rules_refuse(service, vetoed):
    rules = qa.load(index_dir=service.settings.index_dir, evidence="rules")
    engine = vetoed._ready()
    for question in [
        "What was Xiaomi's revenue in 2023?",
        "Who bought Joyo.com?",
        "Does Xiaomi sell laptops?",
        "What is the capital of Australia?",
        "When did Xiaomi's market value pass HK$1 trillion?",
    ]:
        retrieval = engine.retriever.retrieve(condense(question, []))
        ranking = engine.ranker.rank(retrieval)
        assert isinstance(ranking, VetoedRanking)
        assert ranking.answerable <= ranking.rules_answerable
        assert ranking.rules_answerable == rules.ask(question).supported, "the rules' own decision"


def test_the_model_sees_the_retrieval_its_own_fusion_would_make(vetoed):
    """The weighted retrieval re-ranked for the model is the one a learned-fusion retriever returns."""
    engine = vetoed._ready()
    ranker = engine.ranker
    assert isinstance(ranker, VetoedEvidenceRanker)
    s = vetoed.settings
    fusion = build_fusion("learned", s.dense_weight)
    learned = HybridRetriever(
        vetoed.store,
        engine.corpus,
        vetoed.embedder,
        fusion,
        s.top_k,
        s.dense_candidates,
        s.evidence_chunks,
        s.exact_search_limit,
    )
    for question in ["Who bought Joyo.com?", "What was Xiaomi's revenue in 2023?", "Where was Lei Jun born?"]:
        query = condense(question, [])
        weighted = engine.retriever.retrieve(query)
        reranked, expected = ranker.reranked(weighted), learned.retrieve(query)
        assert [p.index for p in reranked.pool] == [p.index for p in expected.pool]
        assert [p.score for p in reranked.pool] == pytest.approx([p.score for p in expected.pool])
        assert reranked.top_k == weighted.top_k and reranked.query == weighted.query
        assert [p.index for p in weighted.pool] == [p.index for p in engine.retriever.retrieve(query).pool]


def test_vetoed_answers_a_one_document_corpus(tmp_path):
    """A one-chunk corpus scores 0 under min-max weighting; the model, fed that ranking, gave 0.02."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "k.txt").write_text("The boiler room key hangs behind the red door.\n")
    service = qa.load(index_dir=tmp_path / "index", documents=[docs], evidence="vetoed")
    service.ingest()
    reply = service.ask("Where does the boiler room key hang?", explain=True)
    assert reply.supported and "red door" in reply.answer and reply.citations
    assert "did not veto" in reply.explanation.reason and reply.explanation.best >= load_threshold()


def test_the_veto_looks_only_at_the_documents_a_question_is_restricted_to(make_service, tmp_path):
    docs = tmp_path / "restricted"
    docs.mkdir()
    (docs / "keys.txt").write_text("The boiler room key hangs behind the red door.\n")
    (docs / "rakes.txt").write_text("The shed holds twelve rakes and a wheelbarrow.\n")
    service = make_service(docs, evidence="vetoed")
    service.ingest()
    reply = service.ask("Where does the boiler room key hang?", sources=[str(docs / "rakes.txt")])
    assert not reply.supported
    assert all(p.source == str(docs / "rakes.txt") for p in reply.passages)
    assert service.ask("Where does the boiler room key hang?", sources=[str(docs / "keys.txt")]).supported
