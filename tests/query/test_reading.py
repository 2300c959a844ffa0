"""Evidence read by the reader: the base ranker's best runs are re-ordered by the reader's reading, the best
reading decides, unread runs are never support; the shipped ONNX model loads, reads and tells a stating
passage from one that is not, with nothing downloaded."""

import json
from itertools import product

import numpy as np
import pytest
from query_fakes import CorpusStore, HashEmbedder, corpus_of

import qa
from qa.query.evidence import Evidence, Ranking, evidence_ranker
from qa.query.explain import Explanation
from qa.query.fusion import WeightedFusion
from qa.query.learned import MODELS
from qa.query.reader import OnnxReader, load_card
from qa.query.reading import ReaderVetoRanker, ReadEvidenceRanker, ReadRanking
from qa.query.retrieval import HybridRetriever, Query

CORPUS = corpus_of(
    {
        "xiaomi.txt": [
            "Lei Jun founded Xiaomi in 2010.",
            "The company sells phones in many countries.",
            "Its revenue reached 270 billion yuan in 2023.",
            "Xiaomi also builds electric cars.",
        ],
        "garden.txt": ["The greenhouse grows saffron crocuses.", "The shed holds twelve rakes."],
    }
)


class _Scripted:
    """A reader that gives each passage a prepared logit, and records what it was asked to read."""

    def __init__(self, logits: dict[str, float]):
        self._logits = logits
        self.read: list[str] = []

    def logits(self, question, passages):
        self.read.extend(passages)
        return np.array([self._logits.get(p, -5.0) for p in passages], dtype=np.float32)


def _retrieval(question: str):
    retriever = HybridRetriever(CorpusStore(CORPUS), CORPUS, HashEmbedder(), WeightedFusion(0.5), 2, 8, 3)
    return retriever.retrieve(Query(question, question))


def _base():
    return evidence_ranker("learned")(CORPUS)


def test_the_reader_reorders_the_runs_it_reads_and_the_best_reading_decides():
    retrieval = _retrieval("Who founded Xiaomi?")
    base = _base().rank(retrieval)
    texts = [CORPUS.span_text(e.first, e.last) for e in base.evidence]
    favourite = texts[1]  # the base's second run, which the reader prefers
    reader = _Scripted({favourite: 3.0, texts[0]: -1.0})
    ranking = ReadEvidenceRanker(CORPUS, _base(), reader, runs=2, threshold=0.5).rank(retrieval)
    assert reader.read == texts[:2], "only the base ranker's best runs are read"
    assert CORPUS.span_text(ranking.best.first, ranking.best.last) == favourite
    assert ranking.best.probability == pytest.approx(1 / (1 + np.exp(-3.0)))
    assert ranking.answerable and isinstance(ranking, ReadRanking) and ranking.read == 2
    assert all(e.probability == 0.0 for e in ranking.evidence[2:]), "unread runs are never support"
    assert len(ranking.evidence) == len(base.evidence)


def test_with_weights_a_read_run_is_scored_by_the_base_and_the_reader_together():
    retrieval = _retrieval("Who founded Xiaomi?")
    base = _base().rank(retrieval)
    texts = [CORPUS.span_text(e.first, e.last) for e in base.evidence]
    weights = (0.6, 0.4, -0.2)
    ranking = ReadEvidenceRanker(CORPUS, _base(), _Scripted({texts[0]: 1.5}), 2, 0.5, weights).rank(retrieval)
    q = np.clip(base.evidence[0].probability, 1e-6, 1 - 1e-6)
    expected = 1 / (1 + np.exp(-(0.6 * np.log(q / (1 - q)) + 0.4 * 1.5 - 0.2)))
    scored = {CORPUS.span_text(e.first, e.last): e.probability for e in ranking.evidence[:2]}
    assert scored[texts[0]] == pytest.approx(expected)
    assert sorted(ranking.reading) == pytest.approx(sorted([1 / (1 + np.exp(-1.5)), 1 / (1 + np.exp(5.0))]))


def test_a_low_reading_refuses_whatever_the_base_ranker_thought():
    retrieval = _retrieval("Who founded Xiaomi?")
    ranker = ReadEvidenceRanker(CORPUS, _base(), _Scripted({}), runs=3, threshold=0.5)
    ranking = ranker.rank(retrieval)
    assert not ranking.answerable
    e = ranker.explain(ranking)
    assert not e.answered and "below the threshold" in e.reason and e.runs
    assert set(e.runs[0].features) == {"reader_probability", "ranker_probability", "passage_rank"}


def test_the_card_states_how_the_reader_is_used(tmp_path):
    card = load_card()
    data = json.loads((MODELS / "reader.json").read_text())
    assert card.runs >= 1 and 0.0 < card.threshold < 1.0 and 0.0 < card.veto_threshold < 1.0
    assert card.max_tokens >= 64 and len(card.weights) == 3
    about = data["provenance"]
    assert about["made_by"] == "bench/train_reader.py" and about["data"] and about["dev_by_epoch"]
    assert data["use"]["chosen_by"].startswith("bench/reader_eval.py on the dev split")
    (tmp_path / "reader.json").write_text('{"format": "docqa-reader", "version": 1, "max_tokens": 128}')
    with pytest.raises(qa.ConfigError, match="reader"):
        load_card(tmp_path)


class _Rules:
    """A ranker that returns one prepared ranking: the rules' run 0, answering or not."""

    def __init__(self, answers: bool):
        self.ranking = Ranking([Evidence(0, 0, 0, 1.0, (0.9,))], 0.9, ("dense",), answers)

    def rank(self, retrieval):
        return self.ranking

    def explain(self, ranking):
        return Explanation(ranking.answerable, ranking.threshold, 0.0, "fixed", [])


@pytest.mark.parametrize(("rules", "logit", "veto"), list(product([True, False], [-4.0, 0.0, 4.0], [0.1, 0.5, 0.9])))
def test_the_veto_answers_only_where_the_rules_answer_and_the_reading_reaches_it(rules, logit, veto):
    reader = _Scripted({CORPUS.span_text(0, 0): logit})
    ranker = ReaderVetoRanker(CORPUS, _Rules(rules), reader, veto)
    ranking = ranker.rank(_retrieval("Who founded Xiaomi?"))
    reading = 1 / (1 + np.exp(-logit))
    assert ranking.answerable == (rules and reading >= veto)
    assert reader.read == ([CORPUS.span_text(0, 0)] if rules else []), "the reader reads only an answering run"
    assert ranking.evidence == _Rules(rules).ranking.evidence and ranking.threshold == 0.9
    reason = ranker.explain(ranking).reason
    assert ("vetoed" in reason) == (rules and not ranking.answerable) and ("refused" in reason) == (not rules)


def test_the_shipped_reader_tells_a_stating_passage_from_a_near_miss():
    reader = OnnxReader()
    stating = "Lei Jun founded Xiaomi in April 2010 with seven co-founders."
    near = "Xiaomi sold 168 million smartphones in 2024, Lei Jun wrote."
    logits = reader.logits("When was Xiaomi founded?", [stating, near])
    assert logits.shape == (2,) and logits[0] > logits[1]
    assert reader.logits("When was Xiaomi founded?", []).shape == (0,)


@pytest.mark.parametrize("name", ["read", "learned-read"])
def test_through_the_service_the_article_is_answered_and_a_near_miss_refused(service, name):
    reading = qa.load(index_dir=service.settings.index_dir, evidence=name)
    reply = reading.ask("Who bought Joyo.com?", explain=True)
    assert reply.supported and "Amazon" in reply.answer and reply.citations
    assert "reader" in reply.explanation.reason
    refused = reading.ask("What was Xiaomi's revenue in 2023?", explain=True)
    assert not refused.supported and refused.citations == []
