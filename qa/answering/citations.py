"""Citation numbering and markers: numbers follow the order in which passages are first cited, and
an answer shows each as `[n]` (the LLM's own, looser markers are parsed in `llm/markers.py`)."""

import re

from qa.query.corpus import Corpus
from qa.reply import Citation


class CitationList:
    """Collects cited sentences and hands out `[n]` numbers, first use first."""

    def __init__(self, corpus: Corpus):
        self._corpus = corpus
        self._numbers: dict[tuple[int, int], int] = {}
        self.citations: list[Citation] = []

    def cite(self, first: int, last: int, score: float) -> int:
        """The number of the citation of sentences first..last, creating it on first use."""
        if (first, last) in self._numbers:
            return self._numbers[(first, last)]
        head, tail = self._corpus.sentences[first], self._corpus.sentences[last]
        number = len(self.citations) + 1
        record = self._corpus.documents.get(head.source)
        text = self._corpus.span_text(first, last)
        self.citations.append(
            Citation(number, text, head.source, head.start, tail.end, score, record.title if record else "")
        )
        self._numbers[(first, last)] = number
        return number


MARKER = re.compile(r"\[(\d{1,3})\]")


def strip_markers(text: str) -> str:
    """The answer text without its `[n]` markers (and the space before each)."""
    return re.sub(r"\s*" + MARKER.pattern, "", text)


def with_markers(text: str, numbers: list[int]) -> str:
    """The text with its markers before a closing full stop ("... Amazon [1][2]."), else after it."""
    marks = "".join(f"[{n}]" for n in numbers)
    if not marks:
        return text
    if text.endswith(".") and not text.endswith(".."):
        return f"{text[:-1]} {marks}."
    return f"{text} {marks}"
