"""Evidence rankers through the real service: the learned model decides, explains, and refuses
near misses; the hand-set rules remain selectable."""

import json

import pytest

import qa
from qa.apps.cli import main as cli
from qa.eval.checks import citation_holds
from qa.query.features import FEATURE_HELP, RUN_FEATURES


@pytest.fixture(scope="module")
def learned(service):
    """The same index as `service`, answered by the learned evidence model and fusion."""
    return qa.load(index_dir=service.settings.index_dir, evidence="learned")


def test_every_feature_has_help_for_explanations():
    assert set(FEATURE_HELP) == set(RUN_FEATURES)


def test_learned_model_answers_with_an_exact_citation(learned):
    reply = learned.ask("When did Xiaomi's market value pass HK$1 trillion?")
    assert reply.supported and "February 4" in reply.answer
    c = reply.citations[0]
    assert citation_holds(c, learned.document_text)
    assert 0.0 < c.score <= 1.0  # the run's probability of answering


@pytest.mark.parametrize("question", ["Does Xiaomi sell laptops?", "What is the capital of Australia?"])
def test_learned_model_refuses_what_the_article_does_not_say(learned, question):
    reply = learned.ask(question, explain=True)
    assert not reply.supported and reply.citations == []
    e = reply.explanation
    assert e is not None and not e.answered and e.best < e.threshold
    assert reply.passages, "a refusal still shows the closest passages"


def test_explanation_lists_runs_features_and_pulls(learned):
    reply = learned.ask("Who bought Joyo.com?", explain=True)
    data = reply.to_dict()["explain"]
    assert data["decision"] in ("answered", "refused") and data["runs"]
    run = data["runs"][0]
    assert set(run["features"]) == set(RUN_FEATURES)
    assert run["probability"] == pytest.approx(data["best_probability"], abs=1e-4)
    assert run["pulls"] and all(p["feature"] in RUN_FEATURES for p in run["pulls"])
    assert citation_holds(run, learned.document_text)


def test_reply_without_explain_keeps_the_stable_json_shape(learned):
    assert set(learned.ask("Who bought Joyo.com?").to_dict()) == {"answer", "supported", "citations"}


def test_cli_explain_prints_the_decision(service, capsys, monkeypatch):
    monkeypatch.setenv("QA_EVIDENCE", "learned")
    index = str(service.settings.index_dir)
    assert cli(["--index-dir", index, "ask", "--explain", "Does Xiaomi sell laptops?"]) == 0
    out = capsys.readouterr().out
    assert "Decision:" in out and "run 1: p=" in out
    assert cli(["--index-dir", index, "ask", "--json", "--explain", "Who bought Joyo.com?"]) == 0
    assert "explain" in json.loads(capsys.readouterr().out)


def test_unknown_evidence_ranker_is_a_config_error(service):
    with pytest.raises(qa.ConfigError):
        qa.load(index_dir=service.settings.index_dir, evidence="oracle")


def test_rules_explain_their_runs_too(service):
    rules = qa.load(index_dir=service.settings.index_dir, evidence="rules")
    reply = rules.ask("Who bought Joyo.com?", explain=True)
    assert reply.explanation.runs
    assert "Hand-set rules" in reply.explanation.reason
    assert set(reply.explanation.runs[0].features) == {"dense", "cover", "fits"}
