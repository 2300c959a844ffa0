"""Spans at the boundary to the answer models: what a model is given (`Context.chunks`, `Context.span`) and
what it cites indexes the document text, with no corpus index in sight; run on a small in-memory corpus."""

from query_fakes import CorpusStore, HashEmbedder, corpus_of, document_text

from qa.answering import Context, ExtractiveModel
from qa.answering.citations import CitationList
from qa.query.evidence import evidence_ranker
from qa.query.fusion import WeightedFusion
from qa.query.retrieval import HybridRetriever, Query
from qa.reply import Reply

DOCUMENTS = {
    "xiaomi.txt": [
        "Lei Jun founded Xiaomi in 2010.",
        "He was born in Xiantao.",
        "The company sells phones in many countries.",
        "Xiaomi also builds electric cars.",
    ],
    "garden.txt": ["The greenhouse grows saffron crocuses.", "The shed holds twelve rakes."],
}
CORPUS = corpus_of(DOCUMENTS)


def _context(question: str) -> Context:
    retriever = HybridRetriever(CorpusStore(CORPUS), CORPUS, HashEmbedder(), WeightedFusion(0.5), 2, 8, 3)
    retrieval = retriever.retrieve(Query(question, question))
    return Context(question, retrieval, evidence_ranker("learned", 0.0)(CORPUS).rank(retrieval), CORPUS)


def _holds(span) -> bool:
    return document_text(DOCUMENTS[span.source])[span.start : span.end] == span.text


def test_a_model_is_given_the_shown_chunks_and_evidence_as_spans():
    context = _context("Who founded Xiaomi?")
    assert [s.text for s in context.chunks] == [r.titled.chunk.text for r in context.retrieval.top]
    assert all(_holds(s) for s in context.chunks)
    best = context.span(context.ranking.best)
    assert best.text == "Lei Jun founded Xiaomi in 2010. He was born in Xiantao.", "a run 'He...' continues"
    assert _holds(best) and best.score == context.ranking.best.probability and best.title == DOCUMENTS["xiaomi.txt"][0]


def test_the_extractive_model_quotes_and_cites_its_spans():
    context = _context("Who founded Xiaomi?")
    reply = list(ExtractiveModel(max_sentences=1).stream(context))[-1]
    assert isinstance(reply, Reply) and reply.supported
    [citation] = reply.citations
    assert reply.answer == "Lei Jun founded Xiaomi in 2010. He was born in Xiantao [1]."
    assert document_text(DOCUMENTS[citation.source])[citation.start : citation.end] == citation.text
    assert [(p.source, p.start, p.end) for p in reply.passages] == [(s.source, s.start, s.end) for s in context.chunks]


def test_citations_are_numbered_by_first_use_whether_given_as_spans_or_runs():
    cites = CitationList(CORPUS)  # sentences 0-1: garden.txt, 2-5: xiaomi.txt (sources in order)
    assert cites.cite_span(CORPUS.span(2, 2, 0.4)) == 1
    assert cites.cite(0, 1, 0.9) == 2
    assert cites.cite_span(CORPUS.span(0, 1, 0.1)) == 2 and cites.cite(2, 2, 0.0) == 1, "the same span, the same [n]"
    assert [(c.number, c.source, c.score, c.title) for c in cites.citations] == [
        (1, "xiaomi.txt", 0.4, DOCUMENTS["xiaomi.txt"][0]),
        (2, "garden.txt", 0.9, DOCUMENTS["garden.txt"][0]),
    ]
    assert all(_holds(c) for c in cites.citations)
