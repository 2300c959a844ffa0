"""Text primitives shared by ingestion, retrieval and answering: sentence spans and search terms.

Sentences come from NLTK's Punkt model: its English parameters, shipped inside llama-index-core, run by the
port in qa/punkt.py (without importing nltk), applied block by block so that headings and paragraphs never merge,
with offsets into the original text kept exact. A block is a line, or the lines of a hard-wrapped paragraph
(`soft_wrap`): READMEs, plain-text mail and RFC-style text break every line near 80 characters, and split line by
line, each of their sentences became two or three fragments that no answer could quote whole.
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import Stemmer

from qa.offline import llama_index_static_dir

if TYPE_CHECKING:
    from qa.punkt import Punkt

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9$%.,'-]*[A-Za-z0-9%]|[A-Za-z0-9]")
_ENDS = ".!?。！？"  # characters that end a sentence
_SENTENCE_END = re.compile(rf"[{_ENDS}][\"'”’)\]]*$")
_NON_LATIN = re.compile(r"[^\x00-\u024f\s\d\W]")
MIN_SENTENCE_WORDS = 4
WRAP_MIN_CHARACTERS = 40  # a line this long that does not end a sentence runs on (headings are shorter)
# A text is hard-wrapped when at most this share of its lines is longer than WRAP_WIDTH: one paragraph a line
# (the bundled article, 84% of its lines longer; 96 of the 98 COVID-QA papers, 17% or more) keeps line blocks
WRAP_WIDTH, WRAP_LONG_SHARE = 100, 0.1
# Mixed into the digest a hard-wrapped text is indexed under (`qa.index.documents.index_hash`): such texts indexed
# when every line was split on its own get a new digest, and so their sentences anew, at the next ingest
WRAPPED_SPLIT = "\0sentences: wrapped paragraphs, items, definitions and parentheses joined, literals kept, 2026-12-04"
_LINE_END = re.compile(rf"[{_ENDS}:;：；][\"'”’)\]*_`]*\s*$")  # a sentence or clause ends the line
_LIST_MARKER = r"(?:[-*+•]|\d{1,3}[.)])\s"
_LIST_ITEM = re.compile(rf"\s*{_LIST_MARKER}\s*")
# Lines that are a block of their own: headings, table rows, RST directives and underlines, code fences
_OWN = r"#{1,6}\s|\||```|\.\.\s|[=~^`-]{3,}\s*$"
_OWN_BLOCK = re.compile(rf"\s*(?:{_OWN})")
# Lines that begin a block: those, list items, quotes, and "Label: value" lines (a paper's "Date: ...", "DOI: ...")
_BLOCK_START = re.compile(rf"\s*(?:{_OWN}|{_LIST_MARKER}|>|[A-Z][\w -]{{0,30}}:\s)")
_FENCE = re.compile(r"\s*```")
# A line opening an RST literal block ("Example::", ".. code:: python"): the lines indented under it are code
_LITERAL_OPENS = re.compile(r"::(\s+[\w+-]+)?\s*$")
_ANY_END = re.compile(f"[{_ENDS}]")
RUN_ON_MAX = 1000  # characters a joined block may run without a sentence end

# Words that only shape a question; they say nothing about which passage answers it.
QUESTION_WORDS = frozenset(
    """what which who whom whose when where why how does did do is are was were be been has have had
    can could would should will shall may might must tell me please name list give explain describe
    much many big large long old far often kind type sort exactly ever also and but or so then the
    a an of to in on at by for from with about as into it its he she they them his her their him
    this that these those there here one ones end ended up get got go went make made say said
    according article text document mention mentioned""".split()
)


# Verbs that name the same event from either side ("who bought it?" / "it was sold to Amazon").
# Stems map to one term so that lexical matching sees them as the same word.
_SAME_EVENT = dict.fromkeys(("buy", "bought", "purchas", "acquir", "sell", "sold"), "buy") | dict.fromkeys(
    ("wear", "wore", "worn", "dress"), "wear"
)


@dataclass(frozen=True)
class Span:
    """A half-open character range [start, end) of a text."""

    start: int
    end: int


def _punkt() -> "Punkt":
    """NLTK's English Punkt model, loaded on first use: only ingest splits sentences, and answering need not
    import `regex` and compile its patterns."""
    from qa import punkt

    return punkt.english()


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """NLTK's English stop words (shipped with llama-index-core) plus question words."""
    path = llama_index_static_dir() / "nltk_cache" / "corpora" / "stopwords" / "english"
    words = path.read_text(encoding="utf-8").split()
    return frozenset(words) | QUESTION_WORDS


def sentence_spans(text: str) -> list[Span]:
    """Sentences of `text` as exact spans; fragments under four words join their neighbour."""
    spans: list[Span] = []
    tokenizer = _punkt()
    for block in blocks(text):
        pieces = [
            Span(block.start + s, block.start + e) for s, e in tokenizer.span_tokenize(text[block.start : block.end])
        ]
        spans.extend(_merge_fragments(text, pieces))
    return spans


def blocks(text: str) -> list[Span]:
    """The lines of `text`; in a hard-wrapped text, the lines of each paragraph joined into one block (never
    inside a fenced code block or an RST literal block, and never past `RUN_ON_MAX` characters without a sentence
    end, so that text with no punctuation does not become one huge sentence: 940 KB of it took 10 times as long to
    ingest)."""
    out: list[Span] = []
    start = block_start = since_end = 0
    in_code = False
    literal: int | None = None  # the indentation of the line that opened an RST literal block, while in one
    lines = text.split("\n")
    wrapped = hard_wrapped(text)
    for n, line in enumerate(lines):
        end = start + len(line)
        if _FENCE.match(line):
            in_code = not in_code
        if literal is not None and line.strip() and _indent(line) <= literal:
            literal = None
        if _ANY_END.search(line):
            since_end = end
        following = lines[n + 1] if n + 1 < len(lines) else ""
        run_on = end - max(block_start, since_end) < RUN_ON_MAX
        if in_code or literal is not None or not wrapped or not run_on or not soft_wrap(line, following):
            out.append(Span(block_start, end))
            block_start = end + 1
        if literal is None and _LITERAL_OPENS.search(line):
            literal = _indent(line)
        start = end + 1
    return out


def hard_wrapped(text: str) -> bool:
    """Is `text` broken into lines of about one width (at most `WRAP_LONG_SHARE` of them over `WRAP_WIDTH`)?"""
    filled = [line for line in text.split("\n") if line.strip()]
    return sum(len(line) > WRAP_WIDTH for line in filled) <= WRAP_LONG_SHARE * len(filled)


def soft_wrap(line: str, following: str) -> bool:
    """Is the break after `line` a wrap inside a paragraph? Not when the line ends a sentence or clause, is a
    block of its own, or the next line starts a block. Yes when the next line goes on at the column where the
    line's text starts (its indentation, or after a list item's marker) and the line is long or the next one
    goes on in lower case or with a parenthesis; and yes when the next line is indented deeper: a term and its
    definition, as in an RST or numpydoc parameter list ("desc : str, optional" over "    Prefix for the bar.")."""
    if (
        not line.strip()
        or not following.strip()
        or _LINE_END.search(line)
        or _OWN_BLOCK.match(line)
        or _BLOCK_START.match(following)
    ):
        return False
    column, indent = _text_column(line), _indent(following)
    return indent > column or (
        indent == column and (len(line.strip()) >= WRAP_MIN_CHARACTERS or _goes_on(following.lstrip()[:1]))
    )


def _goes_on(first: str) -> bool:
    """Does a line starting with this character continue a sentence (lower case, or an opening parenthesis)?"""
    return first.islower() or first == "("


def _text_column(line: str) -> int:
    item = _LIST_ITEM.match(line)
    return item.end() if item else _indent(line)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _merge_fragments(text: str, pieces: list[Span]) -> list[Span]:
    """Join tiny pieces (e.g. a split after "Mr.") and pieces that open with a closing bracket (a split inside
    parentheses: "(not even curses!), just Python") to the previous piece of the same block."""
    merged: list[Span] = []
    for piece in pieces:
        short = len(text[piece.start : piece.end].split()) < MIN_SENTENCE_WORDS
        if merged and (short or text[piece.start] in ")]"):
            merged[-1] = Span(merged[-1].start, piece.end)
        elif merged and len(text[merged[-1].start : merged[-1].end].split()) < MIN_SENTENCE_WORDS:
            merged[-1] = Span(merged[-1].start, piece.end)
        else:
            merged.append(piece)
    return merged


def clean_text(text: str) -> str:
    """User text made safe to embed and show: control and format characters, lone surrogates
    ("\\ud800", which no encoder accepts) and unassigned code points become spaces."""
    return "".join(" " if unicodedata.category(c) in _UNSAFE else c for c in text)


_UNSAFE = frozenset({"Cc", "Cf", "Cs", "Cn"})


def is_statement(sentence: str) -> bool:
    """A sentence fit to be an answer: ends like a sentence and has some words (not a heading)."""
    words = sentence.split()
    return len(words) >= MIN_SENTENCE_WORDS and bool(_SENTENCE_END.search(sentence.strip()))


def words(text: str) -> list[str]:
    """Lower-cased word tokens; numbers keep their inner separators ("340,000", "0.8%")."""
    return [w.lower().strip(".,'") for w in _WORD.findall(text)]


def terms(text: str) -> list[str]:
    """Stemmed content terms for lexical search: stop words and question words removed."""
    stop = stopwords()
    kept = [w for w in words(text) if w and w not in stop]
    return [_SAME_EVENT.get(t, t) for t in _stemmer().stemWords(kept)]


def is_mostly_non_latin(text: str) -> bool:
    """True for questions in Chinese, Japanese, Arabic...: lexical matching cannot help them."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return False
    return sum(1 for c in letters if _NON_LATIN.match(c)) / len(letters) > 0.5
