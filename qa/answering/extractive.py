"""The offline default model: answers with the best-supported sentences of the documents, verbatim.

Deterministic, no network, no key. It is also the model of the offline test mode. It quotes at
most `max_sentences` sentences, each followed by its `[n]`, and refuses when the evidence does
not carry the question (see `SupportRule`).
"""

from collections.abc import Iterator
from dataclasses import dataclass

from qa.answering.base import Context
from qa.answering.citations import CitationList, with_markers
from qa.query.evidence import Evidence, Ranking
from qa.reply import REFUSAL, Delta, Reply, SourcePassage


@dataclass(frozen=True)
class SupportRule:
    """When is the best sentence good enough to answer with? Calibrated on the dev golden set.

    A single similarity cut-off cannot tell a near miss ("What was Xiaomi's revenue?") from a
    paraphrase, so the rule also asks that the sentence holds the kind of fact asked for and
    enough of the question's rare terms.
    """

    min_dense: float = 0.80
    min_coverage: float = 0.25
    min_dense_non_latin: float = 0.80

    def supports(self, ranking: Ranking) -> bool:
        if not ranking.evidence or ranking.unknown_attribute:
            return False
        best = ranking.evidence[0]
        if not best.fits:
            return False
        if ranking.need.non_latin:
            return best.dense >= self.min_dense_non_latin
        return best.dense >= self.min_dense and best.coverage >= self.min_coverage


class ExtractiveModel:
    """Composes an answer from evidence sentences; refuses when support is too weak."""

    name = "extractive"

    def __init__(self, max_sentences: int = 2, rule: SupportRule = SupportRule(), second_ratio: float = 0.9):
        self._max_sentences = max_sentences
        self._rule = rule
        self._second_ratio = second_ratio

    def stream(self, context: Context) -> Iterator[Delta | Reply]:
        chosen = self.choose(context)
        if not chosen:
            yield Delta(REFUSAL)
            yield refusal(context)
            return
        cites = CitationList(context.corpus)
        parts = []
        for e in sorted(chosen, key=lambda e: e.first):
            number = cites.cite(e.first, e.last, e.score)
            part = with_markers(context.corpus.span_text(e.first, e.last).strip(), [number])
            yield Delta(part if not parts else " " + part)
            parts.append(part)
        yield Reply(" ".join(parts), True, cites.citations, context.question,
                    context.retrieval.query.search, looked_at(context))

    def choose(self, context: Context) -> list[Evidence]:
        """The best sentence, plus runners-up that score nearly as well; [] when unsupported."""
        ranking = context.ranking
        if not self._rule.supports(ranking):
            return []
        best = ranking.evidence[0]
        chosen = [best]
        for e in ranking.evidence[1:]:
            if len(chosen) >= self._max_sentences:
                break
            if e.fits and e.score >= self._second_ratio * best.score:
                chosen.append(e)
        return chosen


def looked_at(context: Context) -> list[SourcePassage]:
    """The retrieved passages, best first, for display beside the answer or the refusal."""
    return [SourcePassage(r.passage.chunk.text, r.passage.chunk.source, r.passage.chunk.start,
                          r.passage.chunk.end, r.score, r.passage.title)
            for r in context.retrieval.passages]


def refusal(context: Context) -> Reply:
    """The honest answer when the documents do not hold one."""
    return Reply(REFUSAL, False, [], context.question, context.retrieval.query.search, looked_at(context))
