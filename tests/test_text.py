"""Sentence spans and search terms (`qa.text`): exact, ordered spans and the words a question is searched by."""

from pathlib import Path

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


def test_terms_stem_and_drop_question_words():
    assert terms("How big is Xiaomi's tech campus?") == ["xiaomi", "tech", "campus"]
    assert is_mostly_non_latin("雷军的微信签名是什么？") and not is_mostly_non_latin("Who is Lei Jun?")
