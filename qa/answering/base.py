"""The interface every answer model implements, the offline default and LLM backends alike."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from qa.query.corpus import Corpus
from qa.query.evidence import Evidence, Ranking
from qa.query.retrieval import Retrieval
from qa.query.spans import Span
from qa.reply import Delta, Reply


@dataclass(frozen=True)
class Context:
    """What a model gets for one question: the question, the retrieval and the ranked evidence.

    A model reads document text as spans (`chunks`, `span`), which carry their own source, offsets and
    title. `corpus` is the snapshot the indexes in `retrieval` and `ranking` point into; the LLM verifier
    scores an answer against its sentence runs (their vectors and terms).
    """

    question: str
    retrieval: Retrieval
    ranking: Ranking
    corpus: Corpus

    @property
    def chunks(self) -> list[Span]:
        """The retrieved chunks shown with the answer, best first; an LLM's prompt numbers them from 1."""
        return [r.span for r in self.retrieval.top]

    def span(self, evidence: Evidence) -> Span:
        """An evidence run as a span, scored by its probability of answering."""
        return self.corpus.span(evidence.first, evidence.last, evidence.probability)


class AnswerModel(Protocol):
    """Streams text deltas, then yields exactly one final Reply."""

    name: str

    def stream(self, context: Context) -> Iterator[Delta | Reply]: ...
