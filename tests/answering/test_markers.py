"""The streaming `[n]` marker parser and the sentence stream built on it."""

import pytest

from qa.answering.citations import with_markers
from qa.answering.llm.markers import Marker, MarkerParser, Text, marker_numbers, parse
from qa.answering.llm.sentences import Claim, SentenceStream, clean


def feed_all(chunks: list[str]) -> list:
    """Events of a chunked stream, adjacent texts joined (the chunking must not matter)."""
    parser = MarkerParser()
    events = [e for c in chunks for e in parser.feed(c)] + parser.close()
    joined: list = []
    for e in events:
        if joined and isinstance(e, Text) and isinstance(joined[-1], Text):
            joined[-1] = Text(joined[-1].text + e.text)
        else:
            joined.append(e)
    return joined


def test_plain_marker():
    assert parse("Amazon bought it [1].") == [Text("Amazon bought it "), Marker((1,)), Text(".")]


@pytest.mark.parametrize(
    "text",
    [
        "Sold to Amazon [2] in 2004 [1, 3].",
        "Joyo [12][3] was sold.",
        "Lei Jun [Passage 4] founded Xiaomi [sources 1; 2].",
        "Text with [1-3] a range.",
    ],
)
def test_marker_split_at_every_position_gives_the_same_events(text):
    whole = feed_all([text])
    for cut in range(1, len(text)):
        assert feed_all([text[:cut], text[cut:]]) == whole, cut
    assert feed_all(list(text)) == whole


def test_grouped_and_adjacent_markers():
    assert parse("a [1, 2] b") == [Text("a "), Marker((1, 2)), Text(" b")]
    assert parse("a [1][2]") == [Text("a "), Marker((1,)), Marker((2,))]
    assert parse("a [2,2 ,1]") == [Text("a "), Marker((2, 1))]
    assert parse("[Passage 3]") == [Marker((3,))]
    assert parse("[1-3]") == [Marker((1, 2, 3))]


def test_out_of_range_numbers_are_markers_for_the_verifier_to_drop():
    assert parse("x [7] y [2023].") == [Text("x "), Marker((7,)), Text(" y "), Marker((2023,)), Text(".")]
    assert marker_numbers("0") == (0,)
    assert marker_numbers("1-500") == (1, 500)  # a huge "range" is not expanded


@pytest.mark.parametrize("text", ["[abc]", "[1a]", "[ ]", "[]", "[see 1]", "[link](http://x)", "[1, ]", "a[ b"])
def test_non_markers_stay_text(text):
    assert feed_all(list(text)) == [Text(text)]


def test_markers_inside_code_are_text():
    fenced = "Use:\n```python\nx = a[1]\n```\nDone [2]."
    assert feed_all(list(fenced)) == [Text("Use:\n```python\nx = a[1]\n```\nDone "), Marker((2,)), Text(".")]
    assert parse("Call `f[1]` here [1].") == [Text("Call `f[1]` here "), Marker((1,)), Text(".")]
    assert feed_all(["``", "`\n[1]\n`", "``[2]"]) == [Text("```\n[1]\n```"), Marker((2,))]


def test_unfinished_marker_at_end_of_stream_is_text():
    parser = MarkerParser()
    assert parser.feed("Amazon [1") == [Text("Amazon ")]
    assert parser.close() == [Text("[1")]


def test_long_bracket_text_is_released():
    text = "[" + "word " * 20 + "]"
    assert feed_all([text]) == [Text(text)]


def claims_of(chunks: list[str]) -> list[Claim]:
    parser, stream = MarkerParser(), SentenceStream()
    out = [c for chunk in chunks for c in stream.feed(parser.feed(chunk))]
    return out + stream.feed(parser.close()) + stream.close()


def test_sentences_keep_markers_written_after_the_full_stop():
    text = "Joyo.com was sold to Amazon. [2] He then founded Xiaomi in 2010 [1][3]."
    for chunks in ([text], list(text)):
        claims = claims_of(chunks)
        assert [(c.text, c.numbers) for c in claims] == [
            ("Joyo.com was sold to Amazon.", [2]),
            ("He then founded Xiaomi in 2010.", [1, 3]),
        ]


def test_sentence_is_released_only_when_the_next_one_starts():
    parser, stream = MarkerParser(), SentenceStream()
    assert stream.feed(parser.feed("It was sold to Amazon [1]. ")) == []
    released = stream.feed(parser.feed("Then"))
    assert [(c.text, c.numbers) for c in released] == [("It was sold to Amazon.", [1])]


def test_list_items_and_short_fragments():
    claims = claims_of(["1. Lei Jun founded Xiaomi in 2010.\n2. Joyo.com was sold to Amazon [2].\nOk."])
    assert [(c.text, c.numbers, c.newline) for c in claims] == [
        ("Lei Jun founded Xiaomi in 2010.", [], False),
        ("Joyo.com was sold to Amazon.", [2], True),
        ("Ok.", [], True),
    ]
    assert [c.text for c in claims_of(["Mr. Lei founded it. Then more came."])] == [
        "Mr. Lei founded it.",
        "Then more came.",
    ]


def test_clean_and_with_markers():
    assert clean("- Amazon bought it .") == "Amazon bought it."
    assert with_markers("Amazon bought it.", [1, 2]) == "Amazon bought it [1][2]."
    assert with_markers("Amazon bought it", [3]) == "Amazon bought it [3]"
    assert with_markers("Amazon bought it.", []) == "Amazon bought it."
