"""Condensing a follow-up question with the conversation: deterministically, or by the LLM.

"And who ended up buying it?" means nothing alone. The search query borrows the content of the
earlier user questions; sentence choice keeps the follow-up's own words, because the earlier
words would otherwise pull the answer back to the previous topic.
"""

import logging
import re
from collections.abc import Callable, Sequence
from typing import Protocol

from qa.answering.llm.prompt import condense_messages
from qa.errors import InvalidQuestion, QAError
from qa.query.retrieval import Query
from qa.text import clean_text, stopwords, terms, words

_FOLLOW_UP_START = re.compile(r"^\s*(and|but|so|also|then|what about|how about|why|what else)\b", re.I)
_REFERENCES = frozenset(
    "it its it's he him his she her hers they them their theirs this that these those there then "
    "the company the firm".split()
)
_MAX_FOLLOW_UP_WORDS = 14
_TURNS = 2
_TOKEN = re.compile(r"[\w$%][\w$%.,'-]*")

Message = dict[str, str]
_MAX_REWRITE_WORDS = 60

log = logging.getLogger(__name__)


class Condenser(Protocol):
    """Reads a question with the conversation before it: what to search for, and what to answer."""

    def __call__(self, question: str, history: Sequence[Message]) -> Query: ...


def validate_history(history: Sequence[Message] | None) -> list[Message]:
    """A clean list of {"role", "content"} turns, or an InvalidQuestion saying what is wrong."""
    if history is None:
        return []
    if not isinstance(history, (list, tuple)):
        raise InvalidQuestion("history must be a list of {'role', 'content'} messages")
    clean = []
    for n, turn in enumerate(history):
        if not isinstance(turn, dict) or not isinstance(turn.get("content"), str):
            raise InvalidQuestion(f"history[{n}] must be a dict with a string 'content'")
        if turn.get("role") not in ("user", "assistant", "system"):
            raise InvalidQuestion(f"history[{n}].role must be 'user', 'assistant' or 'system'")
        clean.append({"role": turn["role"], "content": clean_text(turn["content"])})
    return clean


def is_follow_up(question: str) -> bool:
    """Short questions that lean on a pronoun or open with "and"/"what about" need context."""
    tokens = words(question)
    if not tokens or len(tokens) > _MAX_FOLLOW_UP_WORDS:
        return False
    return bool(_FOLLOW_UP_START.search(question)) or any(t in _REFERENCES for t in tokens)


def condense(question: str, history: Sequence[Message]) -> Query:
    """The search query for a question asked after `history`; the focus stays the question."""
    earlier = [t["content"] for t in history if t["role"] == "user"][-_TURNS:]
    if not earlier or not is_follow_up(question):
        return Query(question, question)
    carried = " ".join(" ".join(content_words(e)) for e in earlier)
    return Query(f"{carried} {question}".strip(), question)


def content_words(text: str) -> list[str]:
    """The words of an earlier question worth carrying over, as written (no question words)."""
    stop = stopwords()
    return [w for w in _TOKEN.findall(text) if w.lower().strip(".,'") not in stop]


class LLMCondenser:
    """Follow-ups rewritten by the LLM into a standalone question, used both to search and to
    pick sentences; the deterministic `condense` when the LLM fails or answers oddly. A rewrite
    must keep the follow-up's own content words: "And who bought it?" -> "When did he found it?"
    has changed the question, not resolved it."""

    def __init__(self, complete: Callable[[list[Message]], str]):
        self._complete = complete

    def __call__(self, question: str, history: Sequence[Message]) -> Query:
        if not any(t["role"] == "user" for t in history) or not is_follow_up(question):
            return Query(question, question)
        try:
            lines = self._complete(condense_messages(question, history)).strip().splitlines()
        except QAError as exc:
            log.warning("condensing with the LLM failed (%s); using the heuristic", exc)
            return condense(question, history)
        rewritten = lines[0].strip().strip('"') if lines else ""
        if not 2 <= len(words(rewritten)) <= _MAX_REWRITE_WORDS or not set(terms(question)) <= set(terms(rewritten)):
            log.info("ignoring the LLM's rewrite %r of %r", rewritten, question)
            return condense(question, history)
        log.info("condensed %r -> %r", question, rewritten)
        return Query(rewritten, rewritten)
