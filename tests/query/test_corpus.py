"""The corpus snapshot on a small in-memory corpus: chunks with their titles, the sentences each chunk holds,
runs that a pronoun continues, and spans whose offsets index the document text."""

from query_fakes import corpus_of, document_text

from qa.index.store import DocumentRecord
from qa.query.corpus import Corpus

GARDEN = [
    "The greenhouse grows saffron crocuses.",
    "They flower in October.",
    "The shed holds twelve rakes.",
    "A fox lives under it.",
]
TOWER = ["The observatory telescope was built in 1911.", "Its dome turns on rails."]
CORPUS = corpus_of({"garden.txt": GARDEN, "tower.txt": TOWER})


def test_chunks_carry_their_document_title_and_index_its_text():
    assert len(CORPUS) == len(CORPUS.chunks) == 3
    for titled in CORPUS.chunks:
        text = document_text(GARDEN if titled.chunk.source == "garden.txt" else TOWER)
        assert text[titled.chunk.start : titled.chunk.end] == titled.chunk.text
        assert titled.title == (GARDEN if titled.chunk.source == "garden.txt" else TOWER)[0]
    span = CORPUS.chunks[0].span(0.7)
    assert (span.source, span.start, span.end, span.text, span.score) == (
        "garden.txt",
        0,
        len(GARDEN[0]) + 1 + len(GARDEN[1]),
        f"{GARDEN[0]} {GARDEN[1]}",
        0.7,
    )
    assert span.title == GARDEN[0]


def test_each_chunk_knows_its_sentences_and_each_sentence_its_chunks():
    assert [list(s) for s in CORPUS.chunk_sentences] == [[0, 1], [2, 3], [4, 5]]
    assert CORPUS.chunks_of_sentence[3].tolist() == [1]
    assert CORPUS.sentences_in(CORPUS.chunks[1].span(0.0)) == [2, 3], "a span finds its sentences as a chunk does"


def test_overlapping_chunks_and_their_shared_sentences_point_at_each_other(service):
    corpus = service.corpus()  # the article: chunks overlap by 16 tokens, so sentences sit in two chunks
    inverse: list[list[int]] = [[] for _ in corpus.sentences]
    for chunk, inside in enumerate(corpus.chunk_sentences):
        for sentence in inside:
            inverse[sentence].append(chunk)
    assert [row.tolist() for row in corpus.chunks_of_sentence] == inverse
    assert any(len(chunks) > 1 for chunks in inverse)


def test_a_sentence_opening_with_a_pronoun_continues_the_one_before():
    assert CORPUS.units[0] == CORPUS.units[1] == (0, 1), "'They flower...' is read with the crocuses"
    assert CORPUS.units[2] == (2, 2) and CORPUS.units[3] == (3, 3), "'A fox' starts afresh"
    assert CORPUS.units[5] == (4, 5), "'Its dome' continues the telescope"


def test_a_run_becomes_a_span_of_the_exact_document_text():
    span = CORPUS.span(0, 1, 0.9)
    text = document_text(GARDEN)
    assert text[span.start : span.end] == span.text == CORPUS.span_text(0, 1)
    assert (span.source, span.score, span.title) == ("garden.txt", 0.9, GARDEN[0])
    assert CORPUS.neighbours(1, 2) == [0, 3] and CORPUS.neighbours(4, 5) == []


def test_without_leaves_a_document_out_and_keeps_the_rest_consistent():
    smaller = CORPUS.without({"garden.txt"})
    assert set(smaller.documents) == {"tower.txt"} and len(smaller) == 1
    assert [s.text for s in smaller.sentences] == TOWER
    assert smaller.sentence_vectors.shape == (2, CORPUS.sentence_vectors.shape[1])
    assert len(smaller.sentences_of({"tower.txt"})) == 2 and smaller.chunks_of({"tower.txt"}).tolist() == [True]
    empty = DocumentRecord("empty.txt", "0" * 64, "", "", 0, 0, 1.0)  # committed, with no text to split
    with_empty = Corpus({**CORPUS.documents, "empty.txt": empty}, CORPUS.columns).without({"garden.txt"})
    assert set(with_empty.documents) == {"tower.txt", "empty.txt"} and with_empty.sources == ["tower.txt"]


def test_lexical_statistics_match_prefixes_and_score_chunks():
    assert CORPUS.knows("saffron") and not CORPUS.knows("tulip")
    assert CORPUS.idf("tulip") == CORPUS.max_idf > CORPUS.idf("saffron")
    assert CORPUS.sentences_with("observ").tolist() == [4], "a term matches the longer words it starts"
    scores = CORPUS.bm25_scores(["rake"])
    assert scores.argmax() == 1 and scores[0] == scores[2] == 0.0
    assert CORPUS.bm25_scores([]).tolist() == [0.0, 0.0, 0.0]
