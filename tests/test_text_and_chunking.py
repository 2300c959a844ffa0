"""Sentence spans, chunk offsets and stable ids: the ground the offset contract stands on."""

from pathlib import Path

from qa.index.chunking import Chunker
from qa.index.documents import read_document
from qa.query.answer_types import holds, profile, satisfies
from qa.text import is_mostly_non_latin, sentence_spans, terms

SEED = Path("seeds/lei-jun-xiaomi.txt")


def test_sentence_spans_are_exact_and_ordered():
    text = SEED.read_text(encoding="utf-8")
    spans = sentence_spans(text)
    assert len(spans) > 60
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:]))
    assert any(text[s.start : s.end].startswith("On February 4, Xiaomi Group's share price") for s in spans)


def test_abbreviation_fragments_are_merged():
    text = 'Many said, "Congratulations, Mr. Lei." Lei Jun also came forward to send red envelopes.'
    pieces = [text[s.start : s.end] for s in sentence_spans(text)]
    assert pieces[0] == 'Many said, "Congratulations, Mr. Lei."'


def test_chunks_and_sentences_quote_the_document_exactly():
    doc = read_document(SEED, 10_000_000)
    chunker = Chunker(128, 16)
    chunks = chunker.chunks(doc)
    assert len(chunks) > 5
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
    for s in chunker.sentences(doc):
        assert doc.text[s.start : s.end] == s.text
        assert doc.text[: s.start].count("\n") == s.paragraph


def test_ids_are_stable_and_change_with_content():
    doc = read_document(SEED, 10_000_000)
    again = read_document(SEED, 10_000_000)
    chunker = Chunker(128, 16)
    assert [c.id for c in chunker.chunks(doc)] == [c.id for c in chunker.chunks(again)]
    assert len({c.id for c in chunker.chunks(doc)}) == len(chunker.chunks(doc))


def test_seed_metadata_is_recorded():
    doc = read_document(SEED, 10_000_000)
    assert doc.date == "2025-02-08"
    assert doc.title.startswith("Lei Jun has now carved out his own niche")


def test_terms_stem_and_drop_question_words():
    assert terms("How big is Xiaomi's tech campus?") == ["xiaomi", "tech", "campus"]
    assert is_mostly_non_latin("雷军的微信签名是什么？") and not is_mostly_non_latin("Who is Lei Jun?")


def test_question_profiles_ask_for_the_right_kind_of_fact():
    money = profile("How much did Amazon pay for Joyo.com?")
    assert money.kinds == {"money"}
    assert not satisfies("Joyo.com only lasted four years before being sold to Amazon.", money)
    assert satisfies("It cost 5.2 billion yuan.", money)
    count = profile("How many employees does Xiaomi have?")
    assert count.kinds == {"count", "number"} and count.count_noun == "employe"
    assert not holds("its annual delivery volume of 135,000 vehicles", "count", count)
    assert satisfies("delivered 135,000 vehicles", profile("How many vehicles did Xiaomi deliver?"))
    assert profile("When did Xiaomi go public?").kinds == {"time"}
    assert profile("Who bought Joyo.com?").kinds == {"person"}
    assert profile("Does Xiaomi sell laptops?").kinds == {"yes_no"}
    assert profile("In 2011, what did Lei Jun wear?").numbers == ["2011"]
