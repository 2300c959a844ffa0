"""The citation offset invariant, in one place: a citation quotes its document exactly.

For every citation, `document_text(source)[start:end] == text`, where `document_text` is the text
the index keeps for the source (for .txt/.md the file itself; for PDF, HTML and DOCX the extracted
text). Evaluation, the LLM reply checker and the tests all use this function.
"""

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from qa.reply import Citation

TextOf = Callable[[str], str | None]


def citation_holds(citation: Citation | dict[str, Any], document_text: TextOf) -> bool:
    """Does the cited text sit exactly at its offsets in its document's text?"""
    c = citation if isinstance(citation, dict) else citation.__dict__
    text = document_text(c["source"])
    return text is not None and text[c["start"] : c["end"]] == c["text"]


def offsets_hold(citations: Iterable[Citation | dict[str, Any]], document_text: TextOf) -> bool:
    return all(citation_holds(c, document_text) for c in citations)


def file_text(source: str) -> str | None:
    """A plain-text source's own text (what .txt/.md offsets index); None when it cannot be read as such."""
    try:
        return Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
