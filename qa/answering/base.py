"""The interface every answer model implements, the offline default and LLM backends alike."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from qa.query.corpus import Corpus
from qa.query.evidence import Ranking
from qa.query.retrieval import Retrieval
from qa.reply import Delta, Reply


@dataclass(frozen=True)
class Context:
    """What a model gets for one question: the question, the retrieval and the ranked evidence."""

    question: str
    retrieval: Retrieval
    ranking: Ranking
    corpus: Corpus


class AnswerModel(Protocol):
    """Streams text deltas, then yields exactly one final Reply."""

    name: str

    def stream(self, context: Context) -> Iterator[Delta | Reply]: ...
