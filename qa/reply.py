"""The one reply type every front end shares: Python API, CLI `--json`, web chat and HTTP API."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from qa.query.spans import Span

if TYPE_CHECKING:
    from qa.query.explain import Explanation

REFUSAL = "I could not find this in the documents."


@dataclass(frozen=True)
class Citation(Span):
    """A cited span of a document, `[number]` in the answer: `service.document_text(source)[start:end] == text`.

    The offsets index the text stored for `source` when it was ingested: for .txt and .md that is the
    file's own text (so `Path(source).read_text(encoding="utf-8")[start:end] == text` holds too), for
    PDF, HTML and DOCX the text extracted from the file, which is what can be quoted exactly.

    `score` is the evidence ranker's score of the cited sentence run (`Evidence.probability`: the
    learned model's probability that the run answers the question, or the hand-set rules' mix), whichever
    model answered: the extractive model cites the runs the ranker put first, an LLM's verifier the runs
    that support its sentences (0.0 for a run the ranker left out, such as a heading). One meaning, so a
    client can compare or threshold citations without knowing which model wrote them.
    """

    number: int = field(kw_only=True)  # by keyword: it follows the span's fields, which end in a default

    def to_dict(self) -> dict:
        """The stable JSON shape of a citation."""
        return {"number": self.number, **self.place(), "score": round(self.score, 4)}


@dataclass(frozen=True)
class SourcePassage(Span):
    """A retrieved chunk as the user is shown it (beside an answer or a refusal), scored by its fused
    retrieval score; the same offsets into the stored document text as a `Citation`."""


@dataclass(frozen=True)
class Reply:
    """An answer whose every claim carries a citation `[n]`, or a refusal (`supported=False`)."""

    answer: str
    supported: bool
    citations: list[Citation] = field(default_factory=list)
    question: str = ""
    search_query: str = ""
    passages: list[SourcePassage] = field(default_factory=list)
    explanation: "Explanation | None" = None

    def to_dict(self) -> dict:
        """The stable JSON shape: `{"answer", "supported", "citations": [...]}`, plus `explain` when
        the question was asked with `explain=True`."""
        data = {"answer": self.answer, "supported": self.supported, "citations": [c.to_dict() for c in self.citations]}
        if self.explanation is not None:
            data["explain"] = self.explanation.to_dict()
        return data


@dataclass(frozen=True)
class Delta:
    """A piece of answer text, streamed before the final Reply."""

    text: str
