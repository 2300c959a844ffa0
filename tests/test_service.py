"""The public API contract: load/ask/stream, reply fields, follow-ups and bad questions."""

import json

import pytest

import qa
from qa.eval.checks import citation_holds, file_text
from qa.reply import REFUSAL


def test_example_question_is_answered_with_an_exact_citation(service):
    reply = service.ask("When did Xiaomi's market value pass HK$1 trillion?", history=[])
    assert reply.supported
    assert "February 4" in reply.answer and "[1]" in reply.answer
    c = reply.citations[0]
    assert (c.number, c.source) == (1, "seeds/lei-jun-xiaomi.txt")
    assert "HK$1 trillion mark" in c.text
    assert citation_holds(c, file_text) and citation_holds(c, service.document_text)
    assert 0 < c.score


def test_unanswerable_question_is_refused(service):
    reply = service.ask("What was Xiaomi's revenue in 2023?")
    assert (reply.answer, reply.supported, reply.citations) == (REFUSAL, False, [])
    assert reply.passages, "a refusal still shows the closest passages it looked at"


def test_follow_up_uses_the_conversation(service):
    history = [
        {"role": "user", "content": "Who founded Joyo.com?"},
        {"role": "assistant", "content": "Lei Jun founded Joyo.com in 2000 [1]."},
    ]
    reply = service.ask("And who ended up buying it?", history=history)
    assert reply.supported and "Amazon" in reply.answer
    assert "Joyo.com" in reply.search_query


def test_stream_yields_deltas_then_the_reply(service):
    events = list(service.stream("Who bought Joyo.com?"))
    *deltas, final = events
    assert deltas and all(isinstance(d, qa.Delta) for d in deltas)
    assert isinstance(final, qa.Reply)
    assert "".join(d.text for d in deltas) == final.answer


def test_json_shape_is_stable(service):
    data = json.loads(json.dumps(service.ask("Who bought Joyo.com?").to_dict()))
    assert set(data) == {"answer", "supported", "citations"}
    assert set(data["citations"][0]) == {"number", "text", "source", "start", "end", "score"}


def test_chinese_question_finds_the_english_passage(service):
    reply = service.ask("小米的市值是哪一天突破一万亿港元的？")
    assert reply.supported and "February 4" in reply.answer


@pytest.mark.parametrize("question", ["", "   \n\t ", "\x00\x01\x02", None, 42, "\ud800", "\udfff\u200b"])
def test_empty_or_non_text_questions_are_invalid(service, question):
    with pytest.raises(qa.InvalidQuestion):
        service.ask(question)


def test_over_long_question_is_invalid(service):
    with pytest.raises(qa.InvalidQuestion, match="limit is 2000"):
        service.ask("why " * 600)


def test_lone_surrogates_are_removed_not_fatal(service):
    assert "Amazon" in service.ask("Who bought\ud800 Joyo.com?").answer
    history = [{"role": "user", "content": "Who founded Joyo.com?\udfff"}]
    assert service.ask("And who ended up buying it?", history=history).supported


def test_control_characters_are_removed_not_fatal(service):
    reply = service.ask("Who\x07 bought\x1b Joyo.com?\u200b")
    assert reply.question == "Who bought Joyo.com?" and "Amazon" in reply.answer


@pytest.mark.parametrize(
    "question",
    [
        "Qui a acheté Joyo.com ?",
        "¿Quién compró Joyo.com?",
        "🙂🙂🙂",
        "ジョーヨーを買ったのは誰？",
        "'; DROP TABLE documents; --",
        "<script>alert(1)</script>",
    ],
)
def test_odd_questions_do_not_crash(service, question):
    reply = service.ask(question)
    assert isinstance(reply.answer, str) and reply.answer


@pytest.mark.parametrize("history", ["not a list", [{"role": "robot", "content": "x"}], [{"role": "user"}]])
def test_bad_history_is_invalid(service, history):
    with pytest.raises(qa.InvalidQuestion):
        service.ask("Who bought Joyo.com?", history=history)


def test_top_k_is_bounded(service):
    assert len(service.ask("Who bought Joyo.com?", top_k=2).passages) == 2
    with pytest.raises(qa.InvalidQuestion):
        service.ask("Who bought Joyo.com?", top_k=0)


def test_after_an_ingest_the_service_answers_from_the_written_snapshot_file(tmp_path, make_service, monkeypatch):
    """The snapshot combined in memory after an ingest is written to its file in the background; the next
    question after that swaps to the file's mapped columns (giving the private copy back), same answer."""
    import threading

    import numpy as np

    from qa.query.record_cache import RecordCache

    release = threading.Event()
    write = RecordCache._write_snapshot
    monkeypatch.setattr(RecordCache, "_write_snapshot", lambda *args: (release.wait(30), write(*args)))
    release.set()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "garden.txt").write_text("The greenhouse grows saffron crocuses. The shed holds twelve rakes.\n")
    service = make_service(docs)
    service.ingest()
    service.ask("What does the greenhouse grow?")
    service._cache.wait()
    release.clear()  # the next write waits until the in-memory snapshot has been looked at
    (docs / "mill.txt").write_text("The mill grinds rye on Tuesdays. Its wheel is made of oak.\n")
    service.ingest()
    first = service.ask("What is the mill's wheel made of?")
    in_memory = service.corpus().columns
    assert not isinstance(in_memory.sentence_texts.data, np.memmap)
    release.set()
    service._cache.wait()
    second = service.ask("What is the mill's wheel made of?")
    mapped = service.corpus().columns
    assert isinstance(mapped.sentence_texts.data, np.memmap), "served from the file"
    assert list(mapped.sentence_texts) == list(in_memory.sentence_texts)
    assert second.to_dict() == first.to_dict() and any(c.source.endswith("mill.txt") for c in second.citations)


def test_an_ingest_after_a_load_reads_back_only_what_changed(tmp_path, make_service, monkeypatch):
    """The ingest compares files with the committed documents starting from the loaded snapshot's
    (`Store.documents_since`), not by reading every document record back."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "garden.txt").write_text("The greenhouse grows saffron crocuses. The shed holds twelve rakes.\n")
    (docs / "tower.txt").write_text("The observatory telescope was built in 1911. The dome turns on rails.\n")
    service = make_service(docs)
    service.ingest()
    service.ask("What does the greenhouse grow?")
    (docs / "mill.txt").write_text("The mill grinds rye on Tuesdays. Its wheel is made of oak.\n")
    (docs / "tower.txt").write_text("The observatory telescope was rebuilt in 1950. The dome is new.\n")
    monkeypatch.setattr(service.store, "documents", lambda: pytest.fail("every document record was read"))
    report = service.ingest()
    monkeypatch.undo()
    assert report.added == [str(docs / "mill.txt")] and report.updated == [str(docs / "tower.txt")]
    assert report.unchanged == [str(docs / "garden.txt")]
    reply = service.ask("When was the telescope rebuilt?")
    assert "1950" in reply.answer


WRAPPED_README = """Frobnicator
===========

The frobnicator reads configuration from a single TOML file named frob.toml in
the project root, and it refuses to start when that file is missing or cannot be
parsed. Environment variables are never consulted.

Writing results to a database is not provided by the frobnicator; pipe its
output into a loader of your choice instead.
"""


def test_a_hard_wrapped_sentence_is_quoted_whole_with_exact_offsets(ingest_notes):
    docs, service = ingest_notes({"README.md": WRAPPED_README})
    reply = service.ask("Where does the frobnicator read its configuration from?")
    assert reply.supported
    text = (docs / "README.md").read_text()
    (citation,) = reply.citations
    quoted = text[citation.start : citation.end]
    assert quoted.startswith("The frobnicator reads configuration from a single TOML file named frob.toml in\nthe")
    assert quoted.endswith("cannot be\nparsed.")
