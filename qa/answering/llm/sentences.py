"""Cutting the parsed LLM stream into claims: one sentence and the markers written with it.

Citations are verified sentence by sentence, so a sentence is released only once it is complete
and every marker that belongs to it has arrived: "... Amazon. [2] He ..." gives [2] to the
Amazon sentence, which therefore ends only when "He" starts the next one.
"""

import re
from dataclasses import dataclass, field

from qa.answering.llm.markers import Event, Marker

_BOUNDARY = re.compile(r"(?<=[.!?。！？])[\"'”’)\]]*(\s+)(?=\S)|(\n\s*)(?=\S)")
_ENUMERATOR = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*•]|#{1,6})\s+")
_MIN_WORDS = 3


@dataclass
class Claim:
    """A sentence of the answer, markers removed, with the marker numbers written in or after it."""

    text: str
    numbers: list[int] = field(default_factory=list)
    newline: bool = False  # the LLM started it on a new line


def clean(text: str) -> str:
    """The sentence without list bullets or enumerators, spaces before punctuation, or doubled spaces."""
    text = _ENUMERATOR.sub("", text.strip())
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


class SentenceStream:
    """Feed parser events, get complete claims; `close()` returns the last one."""

    def __init__(self) -> None:
        self._text = ""
        self._marks: list[tuple[int, tuple[int, ...]]] = []  # (offset in _text, numbers)
        self._newline = False

    def feed(self, events: list[Event]) -> list[Claim]:
        claims: list[Claim] = []
        for event in events:
            if isinstance(event, Marker):
                self._marks.append((len(self._text), event.numbers))
            else:
                self._text += event.text
                claims.extend(self._cut())
        return claims

    def close(self) -> list[Claim]:
        claim = self._claim(len(self._text))
        self._text, self._marks = "", []
        return [claim] if claim.text or claim.numbers else []

    def _cut(self) -> list[Claim]:
        claims = []
        for match in _BOUNDARY.finditer(self._text):
            gap = match.group(1) or match.group(2)
            head = self._text[: match.start(1) if match.group(1) else match.start(2)]
            if "\n" not in gap and len(clean(head).split()) < _MIN_WORDS:
                continue
            claims.append(self._claim(match.end(), head))
            self._newline = "\n" in gap
            self._rest_from(match.end())
            claims.extend(self._cut())
            return claims
        return claims

    def _claim(self, end: int, head: str | None = None) -> Claim:
        """The claim of the text up to `end`; markers placed before `end` belong to it."""
        text = clean(self._text[:end] if head is None else head)
        numbers = [n for at, ns in self._marks if at <= end for n in ns]
        return Claim(text, list(dict.fromkeys(numbers)), self._newline)

    def _rest_from(self, end: int) -> None:
        self._text = self._text[end:]
        self._marks = [(at - end, ns) for at, ns in self._marks if at > end]
