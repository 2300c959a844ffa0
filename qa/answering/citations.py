"""Citation numbering and markers: numbers follow the order in which spans are first cited, and
an answer shows each as `[n]` (the LLM's own, looser markers are parsed in `llm/markers.py`)."""

import re

from qa.query.corpus import Corpus
from qa.query.spans import Span
from qa.reply import Citation


class CitationList:
    """Collects cited spans and hands out `[n]` numbers, first use first."""

    def __init__(self, corpus: Corpus):
        """`corpus` resolves the sentence runs that `cite` is given (the LLM verifier works in runs)."""
        self._corpus = corpus
        self._numbers: dict[tuple[str, int, int], int] = {}
        self.citations: list[Citation] = []

    def cite(self, first: int, last: int, score: float) -> int:
        """The number of the citation of the corpus's sentences first..last, creating it on first use."""
        return self.cite_span(self._corpus.span(first, last, score))

    def cite_span(self, span: Span) -> int:
        """The number of the citation of `span`, creating it on first use (its first score stands)."""
        key = (span.source, span.start, span.end)
        if key not in self._numbers:
            number = len(self.citations) + 1
            self.citations.append(
                Citation(span.text, span.source, span.start, span.end, span.score, span.title, number=number)
            )
            self._numbers[key] = number
        return self._numbers[key]


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
