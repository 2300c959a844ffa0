"""Text primitives shared by ingestion, retrieval and answering: sentence spans and search terms.

Sentences come from NLTK's Punkt model: its English parameters, shipped inside llama-index-core, run by the
port in qa/punkt.py (without importing nltk), applied line by line so that headings and paragraphs never merge,
with offsets into the original text kept exact.
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
_SENTENCE_END = re.compile(r"[.!?。！？][\"'”’)\]]*$")
_NON_LATIN = re.compile(r"[^\x00-\u024f\s\d\W]")
MIN_SENTENCE_WORDS = 4

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
    line_start = 0
    tokenizer = _punkt()
    for line in text.split("\n"):
        pieces = [Span(line_start + s, line_start + e) for s, e in tokenizer.span_tokenize(line)]
        spans.extend(_merge_fragments(text, pieces))
        line_start += len(line) + 1
    return spans


def _merge_fragments(text: str, pieces: list[Span]) -> list[Span]:
    """Join tiny pieces (e.g. a split after "Mr.") to the previous piece of the same line."""
    merged: list[Span] = []
    for piece in pieces:
        short = len(text[piece.start : piece.end].split()) < MIN_SENTENCE_WORDS
        if merged and short:
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
