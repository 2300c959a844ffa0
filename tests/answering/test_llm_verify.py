"""The LLM backend with recorded streams: verification, post-hoc citation, refusal and fallback.

The recorded client plays back what a model wrote, choosing passage numbers from the prompt it
was given, so that these tests exercise the real prompt, parser, verifier and service.
"""

import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from qa.answering.factory import build_model
from qa.answering.llm.openai_compat import OpenAICompatibleModel
from qa.answering.llm.verify import Grounding, Scorer, reply_problems
from qa.apps.cli import main
from qa.errors import ConfigError, ModelUnavailable
from qa.query.conversation import LLMCondenser, condense
from qa.query.retrieval import Query
from qa.reply import REFUSAL, Delta, Reply
from qa.settings import load_settings

JOYO = "Joyo.com only lasted four years before being sold to Amazon"
QIU = "Qiu Bojun"


class Recorded:
    """Plays back a model's output in small chunks; `script(prompt)` writes it."""

    url = "recorded"

    def __init__(self, script: Callable[[str], str], fail_after: int | None = None, chunk: int = 3):
        self._script = script
        self._fail_after = fail_after
        self._chunk = chunk
        self.prompts: list[str] = []

    def stream(self, messages, max_tokens=None) -> Iterator[str]:
        prompt = messages[-1]["content"]
        self.prompts.append(prompt)
        text = self._script(prompt)
        for n, at in enumerate(range(0, len(text), self._chunk)):
            if self._fail_after is not None and n >= self._fail_after:
                raise ModelUnavailable("The model server at recorded stopped in the middle of the answer.")
            yield text[at : at + self._chunk]

    def complete(self, messages, max_tokens=64) -> str:
        return "".join(self.stream(messages, max_tokens))


def passage_with(prompt: str, text: str) -> int:
    """The number the prompt gives the passage holding `text`."""
    for block in prompt.split("\n\n["):
        match = re.match(r"\[?(\d+)\]", block)
        if match and text in block:
            return int(match.group(1))
    raise AssertionError(f"no passage holds {text!r}")


def passage_without(prompt: str, text: str) -> int:
    numbers = [int(n) for n in re.findall(r"^\[(\d+)\]", prompt, re.M)]
    return next(n for n in numbers if n != passage_with(prompt, text))


@pytest.fixture
def ask(service):
    def run(script, fallback=True, **client):
        recorded = Recorded(script, **client)
        llm = service.with_model(OpenAICompatibleModel(recorded, service.embedder, fallback=fallback))
        events = list(llm.stream("Who bought Joyo.com?"))
        return events, llm.model.last_stats, recorded

    return run


def scorer(service) -> Scorer:
    return Scorer(service.corpus(), service.embedder)


def test_supported_citation_is_kept_and_renumbered(service, ask):
    events, stats, _ = ask(lambda p: f"Joyo.com was sold to Amazon [{passage_with(p, JOYO)}].")
    reply = events[-1]
    assert isinstance(reply, Reply) and reply.supported
    assert reply.answer == "Joyo.com was sold to Amazon [1]."
    assert [c.number for c in reply.citations] == [1] and JOYO in reply.citations[0].text
    assert "".join(e.text for e in events if isinstance(e, Delta)) == reply.answer
    assert (stats.markers, stats.kept, stats.dropped, stats.repaired, stats.added) == (1, 1, 0, 0, 0)
    assert reply_problems(reply, scorer(service)) == []


def test_a_citation_carries_the_evidence_score_of_its_run_whichever_model_answered(service, ask):
    events, _, _ = ask(lambda p: f"Joyo.com was sold to Amazon [{passage_with(p, JOYO)}].")
    [by_llm] = events[-1].citations
    [extractive] = service.ask("Who bought Joyo.com?").citations
    assert (by_llm.source, by_llm.start, by_llm.end) == (extractive.source, extractive.start, extractive.end)
    assert by_llm.score == extractive.score > 0


def test_wrong_and_out_of_range_citations_are_dropped_and_repaired(service, ask):
    events, stats, _ = ask(lambda p: f"Joyo.com was sold to Amazon [{passage_without(p, JOYO)}][9][0].")
    reply = events[-1]
    assert reply.answer == "Joyo.com was sold to Amazon [1]."
    assert JOYO in reply.citations[0].text
    assert (stats.markers, stats.kept, stats.dropped, stats.repaired) == (3, 0, 3, 1)
    assert reply_problems(reply, scorer(service)) == []


def test_uncited_sentences_get_post_hoc_citations_numbered_by_first_use(service, ask):
    script = lambda p: (
        "In 2000, Lei Jun founded Joyo.com with Chen Nian. Joyo.com was sold to Amazon. "
        "Lei Jun founded Joyo.com in 2000, with Chen Nian as partner."
    )
    events, stats, _ = ask(script)
    reply = events[-1]
    assert reply.answer.count("[1]") == 2 and reply.answer.count("[2]") == 1
    assert reply.answer.index("[1]") < reply.answer.index("[2]")
    assert "Amazon [2]." in reply.answer
    assert stats.added == 3 and stats.kept == 0
    assert reply_problems(reply, scorer(service)) == []


def test_unsupported_sentences_are_left_out(service, ask):
    script = lambda p: (
        f"Joyo.com was sold to Amazon [{passage_with(p, JOYO)}]. "
        f"The deal was worth 900 billion dollars in 2031 [{passage_with(p, JOYO)}]. "
        "Penguins prefer cold weather and eat fish."
    )
    events, stats, _ = ask(script)
    reply = events[-1]
    assert reply.answer == "Joyo.com was sold to Amazon [1]."
    assert stats.unsupported_sentences == 2 and stats.dropped == 1
    assert "900" not in "".join(e.text for e in events if isinstance(e, Delta))


def test_lead_ins_and_echoed_questions_are_left_out(ask):
    script = lambda p: (
        f"Joyo.com only lasted four years before being sold to Amazon, says: [{passage_with(p, JOYO)}]\n"
        "Who bought Joyo.com after it lasted only four years?\n"
        f"Joyo.com was sold to Amazon [{passage_with(p, JOYO)}]."
    )
    events, stats, _ = ask(script)
    assert events[-1].answer == "Joyo.com was sold to Amazon [1]."
    assert stats.unsupported_sentences == 2


def test_loops_are_shown_once(ask):
    events, stats, _ = ask(lambda p: "Joyo.com was sold to Amazon. " * 4)
    assert events[-1].answer == "Joyo.com was sold to Amazon [1]."
    assert stats.repeats == 3


def test_refusal_by_the_model_is_a_refusal(ask):
    events, stats, _ = ask(lambda p: "I could not find this in the documents.")
    assert events == [Delta(REFUSAL), events[-1]]
    assert not events[-1].supported and events[-1].citations == [] and events[-1].passages
    assert stats.refusals == 1


def test_answer_without_support_falls_back_to_extractive_or_refuses(ask):
    script = lambda p: "Penguins prefer cold weather and eat fish every day."
    events, _, _ = ask(script)
    assert events[-1].supported and JOYO in events[-1].citations[0].text
    events, _, _ = ask(script, fallback=False)
    assert events[-1].answer == REFUSAL and not events[-1].supported


def test_failure_before_any_text_falls_back_and_after_text_raises(ask):
    script = lambda p: "Joyo.com was sold to Amazon. In 2000, Lei Jun founded Joyo.com with Chen Nian."
    events, _, _ = ask(script, fail_after=0)
    assert events[-1].supported and JOYO in events[-1].citations[0].text
    with pytest.raises(ModelUnavailable):
        ask(script, fail_after=0, fallback=False)
    with pytest.raises(ModelUnavailable, match="middle of the answer"):
        ask(script, fail_after=14)


def test_markers_in_code_are_not_citations(ask):
    events, _, _ = ask(lambda p: "Joyo.com was sold to Amazon (`ref[7]`).")
    assert "`ref[7]`" in events[-1].answer and events[-1].answer.endswith("[1].")


def test_prompt_numbers_the_passages_and_demands_grounding(ask):
    _, _, recorded = ask(lambda p: REFUSAL)
    prompt = recorded.prompts[0]
    assert prompt.startswith("Passages:\n\n[1]") and "Question: Who bought Joyo.com?" in prompt
    assert re.findall(r"^\[(\d+)\]", prompt, re.M) == ["1", "2", "3", "4", "5"]


def test_grounding_rule_needs_numbers_and_enough_terms():
    rule = Grounding()
    assert rule.supports(0.9, 0.5, True)
    assert not rule.supports(0.9, 0.99, False)
    assert rule.supports(0.4, 0.9, True)
    assert not rule.supports(0.4, 0.8, True)
    assert not rule.supports(0.1, 0.99, True)


def test_cli_model_option_reports_an_unreachable_server_without_the_key(service, monkeypatch, capsys):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    key = "sk-cli-secret-0042"
    for name, value in {
        "QA_LLM_BASE_URL": f"http://user:pw@127.0.0.1:{port}/v1",
        "QA_LLM_MODEL": "m",
        "QA_LLM_API_KEY": key,
        "QA_LLM_FALLBACK": "false",
        "QA_LLM_MAX_RETRIES": "0",
    }.items():
        monkeypatch.setenv(name, value)
    args = [
        "--index-dir",
        str(service.settings.index_dir),
        "ask",
        "--model",
        "openai-compatible",
        "Who bought Joyo.com?",
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"The model server at http://127.0.0.1:{port}/v1 cannot be reached" in err
    assert key not in err and "pw" not in err


def test_llm_settings_validate_and_hide_the_key(monkeypatch):
    monkeypatch.setenv("QA_LLM_API_KEY", "sk-settings-secret")
    settings = load_settings(model="openai-compatible", llm_model="gpt-4o-mini")
    assert "sk-settings-secret" not in repr(settings) and "sk-settings-secret" not in str(settings.model_dump())
    assert settings.llm_api_key.get_secret_value() == "sk-settings-secret"
    with pytest.raises(ConfigError, match="model"):
        load_settings(model="gpt")
    with pytest.raises(ConfigError, match="QA_LLM_MODEL is required"):
        build_model(load_settings(model="openai-compatible"), embedder=None)


def test_llm_condenser_rewrites_follow_ups_and_falls_back_to_the_heuristic(service):
    history = [{"role": "user", "content": "Who founded Joyo.com?"}, {"role": "assistant", "content": "Lei Jun [1]."}]

    def failing(messages):
        raise ModelUnavailable("The model server at recorded cannot be reached.")

    rewrite = LLMCondenser(lambda messages: '"Who bought Joyo.com?"\nextra line')
    assert rewrite("And who bought it?", history) == Query("Who bought Joyo.com?", "Who bought Joyo.com?")
    assert rewrite("Who founded Xiaomi?", history) == Query("Who founded Xiaomi?", "Who founded Xiaomi?")
    assert rewrite("And who bought it?", []) == Query("And who bought it?", "And who bought it?")
    changed = lambda messages: "When did Lei Jun found Joyo.com?"  # lost "bought"
    for broken in (failing, lambda messages: "", lambda messages: "word " * 100, changed):
        assert LLMCondenser(broken)("And who bought it?", history) == condense("And who bought it?", history)
    recorded = Recorded(lambda p: f"Joyo.com was sold to Amazon [{passage_with(p, JOYO)}].")
    llm = service.with_model(OpenAICompatibleModel(recorded, service.embedder), rewrite)
    reply = llm.ask("And who bought it?", history=history)
    assert "Question: Who bought Joyo.com?" in recorded.prompts[0]
    assert reply.search_query == "Who bought Joyo.com?" and JOYO in reply.citations[0].text


def test_reply_checker_catches_every_kind_of_broken_citation(service, ask):
    events, _, _ = ask(lambda p: f"Joyo.com was sold to Amazon [{passage_with(p, JOYO)}].")
    good = events[-1]
    check = scorer(service)
    cite = good.citations[0]
    assert reply_problems(good, check) == []
    wrong_number = Reply(good.answer.replace("[1]", "[2]"), True, [replace(cite, number=2)])
    shifted = Reply(good.answer, True, [replace(cite, start=cite.start + 1)])
    other = service.ask("Who was Lei Jun's idol and mentor at Kingsoft?").citations[0]
    unsupported = Reply(good.answer, True, [replace(other, number=1)])
    uncited = Reply(good.answer + " Lei Jun was born in Xiantao in 1969.", True, good.citations)
    assert "not 1..1 by first use" in reply_problems(wrong_number, check)[0]
    assert "offsets do not match" in reply_problems(shifted, check)[0]
    assert "not supported by [1]" in reply_problems(unsupported, check)[0]
    assert "uncited sentence" in reply_problems(uncited, check)[0]


def test_last_stats_belong_to_the_thread_that_asked(service):
    """Two web requests answered at once must not see each other's verification counts."""
    import threading

    from qa.answering.llm.verify import VerifyStats

    model = OpenAICompatibleModel(
        Recorded(lambda p: f"Joyo.com was sold to Amazon [{passage_with(p, JOYO)}]."), service.embedder
    )
    list(service.with_model(model).stream("Who bought Joyo.com?"))
    assert model.last_stats.kept == 1
    seen = []
    other = threading.Thread(target=lambda: seen.append(model.last_stats))
    other.start()
    other.join()
    assert seen == [VerifyStats()]
