"""Learned models: the JSON export reproduces scikit-learn, loading checks the feature list."""

import json

import numpy as np
import pytest

from qa.errors import ConfigError
from qa.learn.fit import fit_logistic, fit_trees
from qa.query import learned
from qa.query.evidence import LearnedEvidenceRanker
from qa.query.features import RUN_FEATURES
from qa.query.fusion import CHUNK_FEATURES

FEATURES = ("a", "b", "c")


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(600, 3))
    y = (x[:, 0] + 0.5 * x[:, 1] * x[:, 2] + rng.normal(scale=0.5, size=600) > 0).astype(int)
    return x, y


@pytest.mark.parametrize(
    "fit",
    [
        lambda x, y: fit_logistic(x, y, "m", FEATURES),
        lambda x, y: fit_trees(x, y, "m", FEATURES, seed=1, iterations=40),
    ],
)
def test_json_round_trip_gives_the_same_probabilities(fit, tmp_path):
    x, y = _data()
    model = fit(x, y)  # fit_* already checks the export against scikit-learn's own predictions
    model.save(tmp_path / "m.json")
    again = learned.load("m", FEATURES, folder=tmp_path)
    assert np.allclose(again.probability(x), model.probability(x))
    assert json.loads((tmp_path / "m.json").read_text())["format"] == learned.FORMAT


def test_contributions_explain_the_margin_of_a_logistic_model():
    x, y = _data(1)
    model = fit_logistic(x, y, "m", FEATURES)
    row = x[7]
    reference = model.margin(np.asarray(model.reference)[None, :])[0]
    assert np.isclose(model.contributions(row).sum(), model.margin(row[None, :])[0] - reference)


def test_a_model_fitted_on_other_features_is_refused(tmp_path):
    x, y = _data()
    fit_logistic(x, y, "m", FEATURES).save(tmp_path / "m.json")
    with pytest.raises(ConfigError, match="other features"):
        learned.load("m", ("a", "b", "d"), folder=tmp_path)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match="Cannot load"):
        learned.load("bad", FEATURES, folder=tmp_path)


def test_shipped_models_load_with_their_provenance():
    evidence = learned.load("evidence", RUN_FEATURES)
    fusion = learned.load("fusion", CHUNK_FEATURES)
    assert 0.0 < evidence.threshold < 1.0
    for model in (evidence, fusion):
        about = model.provenance
        assert about["made_by"] == "bench/train_ranker.py" and about["seed"] == 13
        assert set(about["splits"]) == {"train", "dev", "test"} and about["splits"]["test"]


def test_learned_ranker_probabilities_rank_and_decide(service):
    """Through the real service: the learned ranker's best run has the highest probability."""
    corpus = service.corpus()
    ranker = LearnedEvidenceRanker(corpus, learned.load("evidence", RUN_FEATURES))
    engine = service._ready()
    ranking = ranker.rank(engine.retriever.retrieve(_query("Who bought Joyo.com?")))
    probabilities = [e.probability for e in ranking.evidence]
    assert probabilities == sorted(probabilities, reverse=True) and 0 <= probabilities[-1] <= probabilities[0] <= 1
    assert len(ranking.evidence[0].features) == len(RUN_FEATURES)


def _query(text: str):
    from qa.query.conversation import condense

    return condense(text, [])
