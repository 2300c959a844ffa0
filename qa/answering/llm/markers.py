"""Streaming parser of `[n]` citation markers in LLM output.

Markers arrive split across chunks ("[", "1", "]"), grouped ("[1, 2]", "[1][2]", "[1-3]",
"[Passage 2]"), and sometimes inside code, where they are text. The parser takes chunks as they
arrive and returns text and markers in order; it holds back only what may still become a marker
or a code fence. It does not judge the numbers: every bracketed number outside code is a marker,
so that "[7]" with five excerpts in the prompt is dropped by the verifier instead of shown pointing at nothing.
"""

import re
from dataclasses import dataclass

_MARKER = re.compile(
    r"\[\s*(?:(?:passages?|sources?|docs?|documents?)\s*)?"
    r"(\d{1,5}(?:\s*[-–]\s*\d{1,5})?(?:\s*[,;]\s*(?:(?:passages?|sources?)\s*)?\d{1,5}(?:\s*[-–]\s*\d{1,5})?)*)"
    r"\s*\]",
    re.IGNORECASE,
)
_CANDIDATE = re.compile(r"\[[\w,;\-– \t]*", re.IGNORECASE)
_MAX_CANDIDATE = 40
_MAX_RANGE = 10


@dataclass(frozen=True)
class Text:
    """Answer text, markers removed."""

    text: str


@dataclass(frozen=True)
class Marker:
    """One citation marker; `numbers` as written (1-based excerpt numbers of the prompt, unchecked)."""

    numbers: tuple[int, ...]


Event = Text | Marker


def marker_numbers(body: str) -> tuple[int, ...]:
    """The numbers of a marker body: "1, 2" -> (1, 2); "1-3" -> (1, 2, 3); short ranges only."""
    numbers: list[int] = []
    for part in re.split(r"[,;]", body):
        bounds = [int(n) for n in re.findall(r"\d+", part)]
        if len(bounds) == 2 and 0 <= bounds[1] - bounds[0] < _MAX_RANGE:
            numbers.extend(range(bounds[0], bounds[1] + 1))
        else:
            numbers.extend(bounds)
    return tuple(dict.fromkeys(numbers))


class MarkerParser:
    """Feed chunks, get events; call `close()` at the end of the stream for what is held back."""

    def __init__(self) -> None:
        self._pending = ""
        self._fence = False
        self._inline = False
        self._out: list[Event] = []

    def feed(self, chunk: str) -> list[Event]:
        for ch in chunk:
            self._step(ch)
        return self._take()

    def close(self) -> list[Event]:
        """End of stream: a half-written marker or backtick run is plain text."""
        if self._pending:
            self._text(self._pending)
            self._pending = ""
        return self._take()

    @property
    def in_code(self) -> bool:
        return self._fence or self._inline

    def _step(self, ch: str) -> None:
        if self._pending.startswith("`"):
            if ch == "`":
                self._pending += ch
                return
            self._end_backticks()
        elif self._pending.startswith("["):
            self._extend_candidate(ch)
            return
        if ch == "`":
            self._pending = ch
        elif ch == "[" and not self.in_code:
            self._pending = ch
        else:
            self._text(ch)

    def _end_backticks(self) -> None:
        """A run of three or more backticks opens or closes a fence; shorter runs inline code."""
        run, self._pending = self._pending, ""
        self._text(run)
        if len(run) >= 3:
            self._fence = not self._fence
        elif not self._fence:
            self._inline = not self._inline

    def _extend_candidate(self, ch: str) -> None:
        candidate = self._pending + ch
        if ch == "]":
            self._pending = ""
            match = _MARKER.fullmatch(candidate)
            if match:
                self._out.append(Marker(marker_numbers(match.group(1))))
            else:
                self._text(candidate)
        elif _CANDIDATE.fullmatch(candidate) and len(candidate) <= _MAX_CANDIDATE:
            self._pending = candidate
        else:
            self._text(self._pending)
            self._pending = ""
            self._step(ch)

    def _text(self, text: str) -> None:
        if self._out and isinstance(self._out[-1], Text):
            self._out[-1] = Text(self._out[-1].text + text)
        else:
            self._out.append(Text(text))

    def _take(self) -> list[Event]:
        out, self._out = self._out, []
        return out


def parse(text: str) -> list[Event]:
    """All events of a complete text (for tests and for checking finished answers)."""
    parser = MarkerParser()
    return parser.feed(text) + parser.close()
