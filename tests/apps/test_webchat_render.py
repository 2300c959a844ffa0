"""The web chat's pure parts: replies turned into chat messages and the sources panel, and its handlers."""

import re

import gradio as gr
import pytest

from qa.apps.logins import logins
from qa.apps.models import answer_models
from qa.apps.webchat import render
from qa.apps.webchat.ui import UNEXPECTED, ChatHandlers
from qa.errors import ConfigError
from qa.notebooks import DEFAULT_ID
from qa.reply import REFUSAL, Citation, Reply, SourcePassage
from qa.settings import Settings

SOURCE = "docs/a.txt"
PASSAGE = SourcePassage("Intro. Lei Jun bought <script>alert(1)</script> Joyo. Outro.", SOURCE, 100, 160, 0.9, "Head")


def _reply(citations, passages=(PASSAGE,), answer="Lei Jun bought it [1].", supported=True) -> Reply:
    return Reply(answer, supported, list(citations), "q", "q", list(passages))


def _cite(number=1, start=107, text="Lei Jun bought <script>alert(1)</script> Joyo.") -> Citation:
    return Citation(text, SOURCE, start, start + len(text), 0.9, "Head", number=number)


def test_document_text_is_inert_html_and_markdown():
    shown = render.text("<script>alert('x')</script> *bold* [1](http://x) HK$1 & co")
    assert "<" not in shown and ">" not in shown and "*" not in shown and "[" not in shown and "$" not in shown
    assert "&lt;script&gt;" in shown and "&amp; co" in shown


def test_answer_links_each_marker_to_its_passage():
    html = render.answer_html(_reply([_cite()]), turn=3)
    links = re.findall(r"<a class='qa-cite' href='#qa-src-3-1' title='([^']*)'>\[1\]</a>", html)
    assert len(links) == 1
    assert "&lt;script&gt;" in links[0] and "<script>" not in html


def test_marker_without_a_citation_stays_text():
    html = render.answer_html(_reply([_cite()], answer="A [1] and B [7]."), turn=1)
    assert html.count("qa-cite") == 1 and "&#91;7&#93;" in html


def test_refusal_looks_different_from_an_answer():
    refused = render.answer_html(_reply([], answer=REFUSAL, supported=False), turn=1)
    answered = render.answer_html(_reply([_cite()]), turn=1)
    assert "qa-refusal" in refused and "Not in the documents" in refused
    assert "qa-refusal" not in answered and "qa-answer" in answered


def test_sources_panel_highlights_the_exact_cited_span_in_context():
    panel = render.sources_html(_reply([_cite()]), turn=2)
    assert "id='qa-src-2-1'" in panel
    marked = re.search(r"<mark>(.*?)</mark>", panel).group(1)
    assert marked == render.text("Lei Jun bought <script>alert(1)</script> Joyo.")
    assert render.text("Intro. ") in panel and render.text(" Outro.") in panel
    assert "<script>" not in panel
    assert "a.txt &middot;" in panel and "characters 107&ndash;" in panel and "Head" in panel


def test_citation_across_two_retrieved_passages_is_shown_in_their_joined_text():
    first = SourcePassage("one two three ", SOURCE, 0, 14, 0.5)
    second = SourcePassage("three four five", SOURCE, 8, 23, 0.4)
    cited = Citation("three four", SOURCE, 8, 18, 0.5, number=1)
    assert render.excerpt(cited, [second, first]) == ("one two ", "three four", " five")


def test_citation_outside_the_passages_stands_alone():
    assert render.excerpt(_cite(start=5000), [PASSAGE]) == ("", _cite().text, "")


def test_refusal_panel_lists_the_closest_passages_without_highlight():
    passages = [SourcePassage(f"passage {i}", SOURCE, i * 10, i * 10 + 9, 0.1) for i in range(5)]
    panel = render.sources_html(_reply([], passages, answer=REFUSAL, supported=False), turn=1)
    assert "Closest passages" in panel and "<mark>" not in panel
    assert panel.count("qa-looked-at") == 3


def test_error_message_is_escaped_and_short():
    html = render.error_html("The question is <b>empty</b>.")
    assert "qa-error" in html and "<b>" not in html and "Traceback" not in html


def test_logins_from_setting_and_file(tmp_path):
    users = tmp_path / "users"
    users.write_text("# team\nann:s3cret:with:colons\n\nbob:pw\n")
    assert logins(Settings(auth="root:pw", auth_file=users)) == [
        ("root", "pw"),
        ("ann", "s3cret:with:colons"),
        ("bob", "pw"),
    ]
    assert logins(Settings()) is None
    with pytest.raises(ConfigError, match="user:password"):
        logins(Settings(auth="no-colon"))
    with pytest.raises(ConfigError, match="Cannot read the login file"):
        logins(Settings(auth_file=tmp_path / "missing"))


def test_respond_streams_then_shows_the_answer_and_its_sources(service):
    updates = list(ChatHandlers({"extractive": service}).respond("Who bought Joyo.com?", [], [], {}, 5))
    assert len(updates) >= 3, "the question shows at once, then the answer streams, then it is final"
    assert updates[0][1][-1]["content"].endswith("qa-typing'>&#9646;</span>")
    box, chat, turns, panels, sources = updates[-1]
    assert box == "" and [m["role"] for m in chat] == ["user", "assistant"]
    assert "qa-cite" in chat[-1]["content"] and "Amazon" in chat[-1]["content"]
    assert turns[0] == {"role": "user", "content": "Who bought Joyo.com?"} and "Amazon" in turns[1]["content"]
    assert panels == {1: sources} and "<mark>" in sources


def test_respond_ignores_empty_input_and_reports_errors_in_the_chat(service):
    handlers = ChatHandlers({"extractive": service})
    [(box, chat, turns, panels, _)] = list(handlers.respond("   ", [], [], {}, 5))
    assert (chat, turns, panels) == ([], [], {})
    *_, (box, chat, turns, panels, _) = handlers.respond("why " * 600, [], [], {}, 5)
    assert "qa-error" in chat[-1]["content"] and "limit is 2000" in chat[-1]["content"]
    assert turns == [] and panels == {}


def test_ticks_are_the_users_choice_only_when_the_page_shows_the_asked_notebooks(service):
    """Ticks of another notebook (a switch still on its way to the page) or of a page whose load is not done
    (an empty box) are not a choice: a notebook opens with every document ticked."""
    handlers = ChatHandlers({"extractive": service})
    ask = "Who bought Joyo.com?"
    *_, (_, chat, *_rest) = handlers.respond(ask, [], [], {}, 5, None, "another", ["other-doc"], DEFAULT_ID)
    assert "Amazon" in chat[-1]["content"] and "qa-cite" in chat[-1]["content"]
    *_, (_, chat, *_rest) = handlers.respond(ask, [], [], {}, 5, None, None, [], None)
    assert "Amazon" in chat[-1]["content"] and "qa-cite" in chat[-1]["content"]
    *_, (_, chat, *_rest) = handlers.respond(ask, [], [], {}, 5, None, None, [], DEFAULT_ID)
    assert "No sources are selected" in chat[-1]["content"], "nothing ticked on the shown notebook stays empty"
    *_, (_, chat, *_rest) = handlers.respond(ask, [], [], {}, 5, None, None, ["removed-since"], DEFAULT_ID)
    assert "No sources are selected" in chat[-1]["content"], "ticks of removed documents restrict to nothing"


def test_unexpected_failure_shows_a_short_message_not_a_traceback(service):
    class Broken:
        def stream(self, *args, **kwargs):
            raise RuntimeError("disk on fire")
            yield

    handlers = ChatHandlers({"extractive": Broken()})
    *_, (box, chat, turns, panels, _) = handlers.respond("Who bought Joyo.com?", [], [], {}, 5)
    assert chat[-1]["content"] == render.error_html(UNEXPECTED)
    assert "disk on fire" not in chat[-1]["content"]


def test_text_that_would_start_a_markdown_list_stays_text():
    assert render.text("1. first\n- second\nJoyo.com 1.5") == "&#49;&#46; first\n&#45; second\nJoyo.com 1.5"


def test_the_offline_service_offers_only_the_extractive_model(service):
    handlers = ChatHandlers(answer_models(service))
    assert handlers.default_model == "extractive" and handlers.service("extractive") is service
    with pytest.raises(gr.Error, match="Unknown answer model 'gpt'"):
        handlers.ask("Who bought Joyo.com?", [], None, "gpt")
