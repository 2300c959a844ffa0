"""Citation numbering: numbers follow the order in which passages are first cited."""

from qa.corpus import Corpus
from qa.reply import Citation


class CitationList:
    """Collects cited sentences and hands out `[n]` numbers, first use first."""

    def __init__(self, corpus: Corpus):
        self._corpus = corpus
        self._numbers: dict[int, int] = {}
        self.citations: list[Citation] = []

    def cite(self, sentence: int, score: float) -> int:
        """The number of this sentence's citation, creating it on first use."""
        if sentence in self._numbers:
            return self._numbers[sentence]
        s = self._corpus.sentences[sentence]
        number = len(self.citations) + 1
        title = self._corpus.documents[s.source].title if s.source in self._corpus.documents else ""
        self.citations.append(Citation(number, s.text, s.source, s.start, s.end, score, title))
        self._numbers[sentence] = number
        return number
