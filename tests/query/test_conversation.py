"""Condensers read a question with the conversation: the heuristic and the LLM one keep the same contract
(question, history -> Query), with a stand-in for the LLM so no server is needed."""

import pytest

from qa.errors import InvalidQuestion, ModelUnavailable
from qa.query.conversation import Condenser, LLMCondenser, condense, validate_history
from qa.query.retrieval import Query

HISTORY = [
    {"role": "user", "content": "Who founded Xiaomi?"},
    {"role": "assistant", "content": "Lei Jun founded Xiaomi [1]."},
]


def _llm(reply: str) -> LLMCondenser:
    return LLMCondenser(lambda messages: reply)


def _failing(messages):
    raise ModelUnavailable("down")


@pytest.mark.parametrize("condenser", [condense, _llm("Who founded Xiaomi?")], ids=["heuristic", "llm"])
def test_a_standalone_question_is_searched_as_asked(condenser: Condenser):
    assert condenser("How much revenue did Xiaomi make in 2023?", HISTORY) == Query(
        "How much revenue did Xiaomi make in 2023?", "How much revenue did Xiaomi make in 2023?"
    )
    assert condenser("And when?", []) == Query("And when?", "And when?"), "no earlier question to lean on"


def test_the_heuristic_searches_with_earlier_words_and_focuses_on_the_follow_up():
    assert condense("And when did he do it?", HISTORY) == Query(
        "founded Xiaomi And when did he do it?", "And when did he do it?"
    )


def test_the_llm_rewrite_is_used_for_both_search_and_focus():
    rewritten = _llm('"When did Lei Jun found Xiaomi, and when did he do it?"\nextra')(
        "And when did he do it?", HISTORY
    )
    assert rewritten == Query(
        "When did Lei Jun found Xiaomi, and when did he do it?", "When did Lei Jun found Xiaomi, and when did he do it?"
    )


@pytest.mark.parametrize(
    "llm", [_llm("When was Xiaomi founded?"), _llm(""), LLMCondenser(_failing)], ids=["drops-words", "empty", "down"]
)
def test_a_rewrite_that_changes_the_question_or_a_failing_llm_falls_back_to_the_heuristic(llm):
    question = "And what did he sell?"
    assert llm(question, HISTORY) == condense(question, HISTORY)


def test_history_is_validated_turn_by_turn():
    assert validate_history(None) == []
    assert validate_history([{"role": "user", "content": "a\x00b"}]) == [{"role": "user", "content": "a b"}]
    with pytest.raises(InvalidQuestion, match=r"history\[0\]\.role"):
        validate_history([{"role": "robot", "content": "hi"}])
    with pytest.raises(InvalidQuestion, match="must be a list"):
        validate_history("hello")  # type: ignore[arg-type]
