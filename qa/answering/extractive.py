"""The offline default model: answers with the best evidence run of the documents, verbatim.

Deterministic, no network, no key. It is also the model of the offline test mode. It quotes the
best-ranked run, and runners-up that the evidence model also takes to answer (up to
`max_sentences`), each followed by its `[n]`; it refuses when the best run's probability of
answering is below the evidence model's threshold (`Ranking.answerable`).
"""

from collections.abc import Iterator

from qa.answering.base import Context
from qa.answering.citations import CitationList, with_markers
from qa.query.spans import Span
from qa.reply import REFUSAL, Delta, Reply, SourcePassage


class ExtractiveModel:
    """Composes an answer from evidence runs; refuses when the best one is unlikely to answer."""

    name = "extractive"

    def __init__(self, max_sentences: int = 1):
        self._max_sentences = max_sentences

    def stream(self, context: Context) -> Iterator[Delta | Reply]:
        chosen = self.choose(context)
        if not chosen:
            yield Delta(REFUSAL)
            yield refusal(context)
            return
        cites = CitationList(context.corpus)
        parts: list[str] = []
        for span in sorted(chosen, key=lambda s: (s.source, s.start)):
            number = cites.cite_span(span)
            part = with_markers(span.text.strip(), [number])
            yield Delta(part if not parts else " " + part)
            parts.append(part)
        yield Reply(
            " ".join(parts), True, cites.citations, context.question, context.retrieval.query.search, looked_at(context)
        )

    def choose(self, context: Context) -> list[Span]:
        """The best run, plus runners-up the model also takes to answer; [] when it is unlikely to."""
        ranking = context.ranking
        if not ranking.answerable:
            return []
        return [context.span(e) for e in ranking.evidence[: self._max_sentences] if e.probability >= ranking.threshold]


def looked_at(context: Context) -> list[SourcePassage]:
    """The retrieved chunks, best first, for display beside the answer or the refusal."""
    return [SourcePassage(s.text, s.source, s.start, s.end, s.score, s.title) for s in context.chunks]


def refusal(context: Context) -> Reply:
    """The honest answer when the documents do not hold one."""
    return Reply(REFUSAL, False, [], context.question, context.retrieval.query.search, looked_at(context))
