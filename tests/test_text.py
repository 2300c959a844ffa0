"""Sentence spans and search terms (`qa.text`): exact, ordered spans and the words a question is searched by."""

from pathlib import Path

from qa.text import RUN_ON_MAX, blocks, is_mostly_non_latin, sentence_spans, terms

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


WRAPPED = """Installation
============

The library reads every file you give it and keeps the exact offsets of each
sentence, so a citation points at the text as written. It does not change the
file on disk.

- a list item stays a line of its own
- and so does the next one, however long its text runs on
Note: labels such as this one begin a block.

```
code lines are never joined with each other even when they are long enough
to_look = like_prose(and_do_not_end, with_a_period)
```

.. code:: sh

    snap install the-package  # implies --stable, i.e. latest tagged release
    snap install the-package  --candidate  # master branch

Nor are the lines of a literal block, opened by a double colon::

    the_lines = of_this_block(are, code, even, when, they, are, long)
    and_the_next = one(too)
Text at the margin is prose again, and it goes on over
two lines.
"""


def _pieces(text: str) -> list[str]:
    return [text[s.start : s.end] for s in sentence_spans(text)]


def test_a_hard_wrapped_paragraph_gives_whole_sentences():
    pieces = _pieces(WRAPPED)
    assert (
        "The library reads every file you give it and keeps the exact offsets of each\n"
        "sentence, so a citation points at the text as written." in pieces
    )
    assert "It does not change the\nfile on disk." in pieces


def test_headings_lists_labels_and_code_keep_their_lines():
    pieces = _pieces(WRAPPED)
    assert "Installation" in pieces
    assert "- a list item stays a line of its own" in pieces
    assert "- and so does the next one, however long its text runs on" in pieces
    assert "Note: labels such as this one begin a block." in pieces
    assert "code lines are never joined with each other even when they are long enough" in pieces
    assert "    snap install the-package  # implies --stable, i.e. latest tagged release" in pieces
    assert "    the_lines = of_this_block(are, code, even, when, they, are, long)" in pieces
    assert "Text at the margin is prose again, and it goes on over\ntwo lines." in pieces


def test_a_wrapped_list_item_runs_on_into_its_hanging_indent():
    text = (
        "Some terminals need extra setup before nested bars display as they should here:\n\n"
        "  * Consoles in general: require support for moving cursors up to the\n"
        "    previous line.\n"
        "  * Windows: additionally may require the colorama module to be installed\n"
        "    before the first bar is drawn.\n"
    ) * 2
    pieces = [piece.strip() for piece in _pieces(text)]
    assert "* Consoles in general: require support for moving cursors up to the\n    previous line." in pieces
    assert (
        "* Windows: additionally may require the colorama module to be installed\n    before the first bar is drawn."
        in pieces
    )


def test_a_parameter_term_runs_on_into_its_deeper_indented_definition():
    """An RST or numpydoc parameter list: the term line names what its definition is about."""
    text = (
        "The keyword arguments of the constructor are described in the list below, one per item:\n\n"
        "* desc  : str, optional\n"
        "    Prefix for the progress bar.\n"
        "* total  : int or float, optional\n"
        "    The number of expected iterations. If unspecified, the length of the\n"
        "    iterable is used if possible.\n"
        "Parameters\n"
        "----------\n"
        "refresh  : bool, optional\n"
        "    Forces refresh [default: True].\n"
    ) * 2
    pieces = [piece.strip() for piece in _pieces(text)]
    assert "* desc  : str, optional\n    Prefix for the progress bar." in pieces
    assert "* total  : int or float, optional\n    The number of expected iterations." in pieces
    assert "If unspecified, the length of the\n    iterable is used if possible." in pieces
    assert "refresh  : bool, optional\n    Forces refresh [default: True]." in pieces
    assert "Parameters" in pieces


def test_a_sentence_split_inside_parentheses_is_joined_again():
    text = (
        "The package works on any platform\n"
        "(Linux, Windows, Mac, FreeBSD, NetBSD, Solaris/SunOS),\n"
        "in any console or in a GUI, and is friendly with notebooks as well.\n\n"
        "It does not require any other packages to be installed (not even curses!), just\n"
        "Python and an environment supporting carriage return and line feed characters.\n"
    ) * 2
    pieces = _pieces(text)
    assert (
        "The package works on any platform\n(Linux, Windows, Mac, FreeBSD, NetBSD, Solaris/SunOS),\n"
        "in any console or in a GUI, and is friendly with notebooks as well." in pieces
    )
    assert (
        "It does not require any other packages to be installed (not even curses!), just\n"
        "Python and an environment supporting carriage return and line feed characters." in pieces
    )


def test_wrapped_text_without_sentence_ends_does_not_become_one_huge_sentence():
    line = "word another thing here and more words to fill the line up"
    spans = sentence_spans(f"{line}\n" * 2000)
    assert len(spans) > 100
    assert max(s.end - s.start for s in spans) <= RUN_ON_MAX + len(line) + 1


def test_one_paragraph_a_line_is_split_line_by_line():
    """Text whose paragraphs are single long lines (the article, most papers) keeps line blocks: a short line
    that does not end a sentence (a heading) never runs into the paragraph under it."""
    paragraph = (
        "Lei Jun founded the company in 2010 after years at Kingsoft, where he had risen to chief executive. " * 2
    )
    text = f"The Early Years At Kingsoft And After That\n{paragraph.strip()}\n"
    assert _pieces(text)[0] == "The Early Years At Kingsoft And After That"
    assert all(b.end - b.start <= len(line) for b, line in zip(blocks(text), text.split("\n")))
