"""NLTK's Punkt sentence tokenizer, runtime only: the sentence spans of a text from trained parameters.

Ported from NLTK's `nltk/tokenize/punkt.py` (NLTK 3.10.4; Copyright (C) 2001-2026 NLTK Project; algorithm by
Kiss & Strunk (2006); authors Willy, Steven Bird, Edward Loper, Joel Nothman, Arthur Darcet, Tom Aarsen; Apache
License 2.0), because `import nltk` imports scipy, scikit-learn and pandas when they are installed (1.9 s and
136 MB here) while splitting sentences needs none of it. Kept step for step so that the spans are NLTK's
`PunktTokenizer("english").span_tokenize` exactly (`tests/test_punkt.py` compares them): the same regular
expressions, run by the same engine (`regex`, as NLTK 3.10.4 does; its `\\w` and `\\s` differ from `re`'s
on combining marks, superscript digits and U+001C-U+001F), the same two annotation passes, orthographic heuristics
and boundary realignment. Left out: training, the other `tokenize` variants, debugging, saving, and NLTK's
five-second time limit on each regular-expression match. The English parameters are the `punkt_tab` files
llama-index-core ships.
"""

from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path

import regex

from qa.offline import llama_index_static_dir

# Orthographic contexts a word type was seen in during training (BEG/MID/UNK: sentence position; UC/LC: case).
_ORTHO_BEG_UC = 1 << 1
_ORTHO_MID_UC = 1 << 2
_ORTHO_UNK_UC = 1 << 3
_ORTHO_BEG_LC = 1 << 4
_ORTHO_MID_LC = 1 << 5
_ORTHO_UNK_LC = 1 << 6
_ORTHO_UC = _ORTHO_BEG_UC + _ORTHO_MID_UC + _ORTHO_UNK_UC
_ORTHO_LC = _ORTHO_BEG_LC + _ORTHO_MID_LC + _ORTHO_UNK_LC

# PunktLanguageVars, English.
_SENT_END_CHARS = (".", "?", "!")
_PUNCTUATION = tuple(";:,.!?")  # sentences do not start with these
_NON_WORD = r"(?:[)\";}\]\*:@\'\({\[\u2018\u2019\u201c\u201d\xab\xbb!\?])"  # characters that cannot be in words
_MULTI_CHAR = r"(?:\-{2,}|\.{2,}|(?:\.\s){2,}\.)"  # hyphens and ellipses
_WORD_START = r"[^\(\"\`{\[:;&\#\*@\)}\]\-,]"
_WORDS = regex.compile(
    rf"""(
        {_MULTI_CHAR}
        |
        (?={_WORD_START})\S+?  # word characters until the word's end:
        (?=
            \s|                                 # white space
            $|                                  # end of string
            {_NON_WORD}|{_MULTI_CHAR}|          # punctuation
            ,(?=$|\s|{_NON_WORD}|{_MULTI_CHAR}) # a comma ending the word
        )
        |
        \S
    )""",
    regex.UNICODE | regex.VERBOSE,
)
_PERIOD_CONTEXT = regex.compile(
    rf"""
        [\.\?!]                      # a potential sentence ending
        (?=(?P<after_tok>
            {_NON_WORD}              # either other punctuation
            |
            \s+(?P<next_tok>\S+)     # or white space and the next token
        ))""",
    regex.UNICODE | regex.VERBOSE,
)
# Closing punctuation after a sentence's end, which belongs to that sentence.
_BOUNDARY_REALIGNMENT = regex.compile(
    r'["\')\]}\u2018\u2019\u201c\u201d\xab\xbb]+?(?:\s+|(?=--)|$)', regex.UNICODE | regex.MULTILINE
)
_ELLIPSIS = regex.compile(r"\.\.+$", regex.UNICODE)
_NUMERIC = regex.compile(r"^-?[\.,]?\d[\d,\.-]*\.?$", regex.UNICODE)
_INITIAL = regex.compile(r"[^\W\d]\.$", regex.UNICODE)
_WHITESPACE = " \t\n\r\x0b\x0c"  # string.whitespace, where a context's first word starts after


class _Token:
    """A word of a candidate context, with the annotations the two passes give it."""

    __slots__ = ("tok", "type", "period_final", "sentbreak", "abbr", "ellipsis")

    def __init__(self, tok: str) -> None:
        self.tok = tok
        self.type = _NUMERIC.sub("##number##", tok.lower())  # case-normalised, numbers as one type
        self.period_final = tok.endswith(".")
        self.sentbreak = False
        self.abbr = False
        self.ellipsis = False

    @property
    def type_no_period(self) -> str:
        return self.type[:-1] if len(self.type) > 1 and self.type[-1] == "." else self.type

    @property
    def type_no_sentperiod(self) -> str:
        return self.type_no_period if self.sentbreak else self.type


class Punkt:
    """A Punkt sentence tokenizer with fixed parameters (none: NLTK's untrained `PunktSentenceTokenizer()`)."""

    def __init__(
        self,
        abbrev_types: frozenset[str] = frozenset(),
        collocations: frozenset[tuple[str, ...]] = frozenset(),
        sent_starters: frozenset[str] = frozenset(),
        ortho_context: Mapping[str, int] | None = None,
    ) -> None:
        self.abbrev_types = abbrev_types
        self.collocations = collocations  # word pairs around a period that is not a sentence break
        self.sent_starters = sent_starters
        self.ortho_context = ortho_context or {}

    def span_tokenize(self, text: str) -> Iterator[tuple[int, int]]:
        """The (start, end) spans of the sentences of `text`, closing punctuation realigned onto them."""
        realign = 0
        previous: slice | None = None
        for current in self._slices_from_text(text):  # each slice is seen with the next one (_pair_iter)
            if previous is not None:
                sentence = slice(previous.start + realign, previous.stop)
                m = _BOUNDARY_REALIGNMENT.match(text[current])
                if m:
                    yield sentence.start, current.start + len(m.group(0).rstrip())
                    realign = m.end()
                else:
                    realign = 0
                    if text[sentence]:
                        yield sentence.start, sentence.stop
            previous = current
        if previous is not None:
            sentence = slice(previous.start + realign, previous.stop)
            if text[sentence]:
                yield sentence.start, sentence.stop

    def _slices_from_text(self, text: str) -> Iterator[slice]:
        last_break = 0
        for match, context in _potential_end_contexts(text):
            if self._contains_sentbreak(context):
                yield slice(last_break, match.end())
                # The next sentence starts after the white space, or at the punctuation that follows.
                last_break = match.start("next_tok") if match.group("next_tok") else match.end()
        yield slice(last_break, len(text.rstrip()))  # the last sentence without trailing white space

    def _contains_sentbreak(self, context: str) -> bool:
        """Whether a sentence break falls before the last word of `context` (NLTK's `text_contains_sentbreak`)."""
        tokens = [_Token(tok) for line in context.split("\n") if line.strip() for tok in _WORDS.findall(line)]
        for token in tokens:
            self._first_pass(token)
        for token, next_token in zip(tokens, tokens[1:]):
            self._second_pass(token, next_token)
            if token.sentbreak:
                return True
        return False

    def _first_pass(self, token: _Token) -> None:
        """Type-based annotation: sentence ends, ellipses, known abbreviations; other period-final words end."""
        tok = token.tok
        if tok in _SENT_END_CHARS:
            token.sentbreak = True
        elif _ELLIPSIS.match(tok):
            token.ellipsis = True
        elif token.period_final and not tok.endswith(".."):
            word = tok[:-1].lower()
            if word in self.abbrev_types or word.split("-")[-1] in self.abbrev_types:
                token.abbr = True
            else:
                token.sentbreak = True

    def _second_pass(self, token: _Token, next_token: _Token) -> None:
        """Token-based reclassification of a period-final `token` from the word after it (Kiss & Strunk, 4)."""
        if not token.period_final:
            return
        typ = token.type_no_period
        next_typ = next_token.type_no_sentperiod
        is_initial = bool(_INITIAL.match(token.tok))

        # Collocation heuristic (4.1.2): a known pair around the period is an abbreviation, not a break.
        if (typ, next_typ) in self.collocations:
            token.sentbreak = False
            token.abbr = True
            return

        # An abbreviation or ellipsis is also a break if the next word looks like a sentence start (4.2).
        if (token.abbr or token.ellipsis) and not is_initial:
            if self._ortho_heuristic(next_token) is True:
                token.sentbreak = True
                return
            if next_token.tok[0].isupper() and next_typ in self.sent_starters:  # frequent starters (4.1.3)
                token.sentbreak = True
                return

        # Initials and ordinals marked as breaks may be abbreviations (4.3).
        if is_initial or typ == "##number##":
            is_sent_starter = self._ortho_heuristic(next_token)
            if is_sent_starter is False:
                token.sentbreak = False
                token.abbr = True
                return
            # An initial followed by a word never seen in lower case is an abbreviation (J. Bach).
            if (
                is_sent_starter is None
                and is_initial
                and next_token.tok[0].isupper()
                and not (self.ortho_context.get(next_typ, 0) & _ORTHO_LC)
            ):
                token.sentbreak = False
                token.abbr = True

    def _ortho_heuristic(self, token: _Token) -> bool | None:
        """Whether `token` starts a sentence, from the cases it was seen in during training; None: unknown."""
        if token.tok in _PUNCTUATION:
            return False
        context = self.ortho_context.get(token.type_no_sentperiod, 0)
        # Capitalised, seen in lower case, never capitalised mid-sentence: a sentence starter.
        if token.tok[0].isupper() and (context & _ORTHO_LC) and not (context & _ORTHO_MID_UC):
            return True
        # Lower case, and either seen capitalised or never seen starting a sentence in lower case: not one.
        if token.tok[0].islower() and ((context & _ORTHO_UC) or not (context & _ORTHO_BEG_LC)):
            return False
        return None


def _potential_end_contexts(text: str) -> Iterator[tuple[regex.Match[str], str]]:
    """Each candidate sentence end with its context: the word before it, the end and what follows.

    The word before a candidate is found by searching back to the white space after the previous candidate;
    of candidates whose words overlap ("acting!!!") only the last is kept.
    """
    previous_slice = slice(0, 0)
    previous_match = None
    for match in _PERIOD_CONTEXT.finditer(text):
        before = text[previous_slice.stop : match.start()]
        last_space = max(before.rfind(c) for c in _WHITESPACE)  # 0 and none both mean: no white space
        start = previous_slice.stop + last_space + 1 if last_space > 0 else previous_slice.start
        word_slice = slice(start, match.start())
        if previous_match and previous_slice.stop <= word_slice.start:
            yield previous_match, text[previous_slice] + previous_match.group() + previous_match.group("after_tok")
        previous_match = match
        previous_slice = word_slice
    if previous_match:
        yield previous_match, text[previous_slice] + previous_match.group() + previous_match.group("after_tok")


def _lines(path: Path) -> list[str]:
    """The lines of a parameter file, as NLTK's tab decoder reads them (only newlines separate)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    return lines[:-1] if lines[-1] == "" else lines


@lru_cache(maxsize=1)
def english() -> Punkt:
    """Punkt with NLTK's English parameters (`punkt_tab`, shipped inside llama-index-core)."""
    folder = llama_index_static_dir() / "nltk_cache" / "tokenizers" / "punkt_tab" / "english"
    ortho_context: dict[str, int] = {}
    for line in _lines(folder / "ortho_context.tab"):
        word, flags = line.split("\t")
        ortho_context[word] = int(flags)
    return Punkt(
        abbrev_types=frozenset(_lines(folder / "abbrev_types.txt")),
        collocations=frozenset(tuple(line.split("\t")) for line in _lines(folder / "collocations.tab")),
        sent_starters=frozenset(_lines(folder / "sent_starters.txt")),
        ortho_context=ortho_context,
    )
