"""The currency between stages: a span of one document's text, with the score that chose it.

The question side works inside one corpus snapshot in sentence and chunk indexes (numpy arrays, fast);
what leaves it for an answer model, a citation or an explanation is a `Span`, which means the same
thing without the snapshot: `text` is `document_text(source)[start:end]`.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """Characters `start` to `end` of the text indexed for `source`, scored by the stage that picked them.

    `score` is whatever that stage ranks by (a chunk's fused score, an evidence run's probability of
    answering); `title` is the document's headline, shown beside the span.
    """

    text: str
    source: str
    start: int
    end: int
    score: float
    title: str = ""

    def place(self) -> dict[str, str | int]:
        """The span's text and where it stands, as every JSON that quotes a document gives them (a reply's
        citations, an explanation's runs)."""
        return {"text": self.text, "source": self.source, "start": self.start, "end": self.end}
