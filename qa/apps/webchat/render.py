"""Pure functions that turn replies into what the web chat shows: chat messages and the sources panel.

Everything taken from documents or users is escaped here, both as HTML and as Markdown (the chat
renders Markdown), so a passage holding `<script>` or `*stars*` shows as the text it is.
"""

import re
from pathlib import Path

from qa.answering.citations import MARKER
from qa.reply import Citation, Reply, SourcePassage

_ESCAPES = str.maketrans(
    {**{c: f"&#{ord(c)};" for c in "\\`*_[]#|~$"}, "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
)
_LIST_START = re.compile(r"^(\s*)(\d+\.|[-+])", re.MULTILINE)
_SHOWN_WHEN_REFUSED = 3
_TOOLTIP_CHARS = 300


def text(value: str) -> str:
    """Document or user text as inert HTML that Markdown leaves alone."""
    escaped = value.translate(_ESCAPES)
    return _LIST_START.sub(lambda m: m.group(1) + "".join(f"&#{ord(c)};" for c in m.group(2)), escaped)


def streaming_html(partial: str) -> str:
    """An answer still arriving: plain text, markers as typed."""
    return text(partial) + " <span class='qa-typing'>&#9646;</span>"


def answer_html(reply: Reply, turn: int) -> str:
    """The final answer with each `[n]` a link to its passage (hover shows the passage)."""
    if not reply.supported:
        return (
            f"<div class='qa-refusal'><strong>Not in the documents.</strong> {text(reply.answer)}"
            "<br><span class='qa-hint'>The closest passages are listed under Sources.</span></div>"
        )
    by_number = {c.number: c for c in reply.citations}
    parts, last = [], 0
    for match in MARKER.finditer(reply.answer):
        parts.append(text(reply.answer[last : match.start()]))
        cited = by_number.get(int(match.group(1)))
        parts.append(_cite_link(cited, turn) if cited else text(match.group(0)))
        last = match.end()
    parts.append(text(reply.answer[last:]))
    return f"<div class='qa-answer'>{''.join(parts)}</div>"


def error_html(message: str) -> str:
    """A short, traceback-free message in place of an answer."""
    return f"<div class='qa-error'><strong>Could not answer.</strong> {text(message)}</div>"


def sources_html(reply: Reply, turn: int) -> str:
    """The sources panel: every cited passage in context with the cited span highlighted;
    for a refusal, the closest passages that were looked at."""
    if reply.supported and reply.citations:
        cards = "".join(_citation_card(c, reply.passages, turn) for c in reply.citations)
        return f"<div class='qa-sources'><h3>Sources</h3>{cards}</div>"
    closest = reply.passages[:_SHOWN_WHEN_REFUSED]
    if not closest:
        return "<div class='qa-sources'><h3>Sources</h3><p>No passages were found.</p></div>"
    cards = "".join(_passage_card(p) for p in closest)
    return (
        "<div class='qa-sources qa-sources-refused'><h3>Closest passages</h3>"
        f"<p class='qa-hint'>None of these answers the question.</p>{cards}</div>"
    )


def empty_sources_html() -> str:
    return "<div class='qa-sources'><h3>Sources</h3><p class='qa-hint'>Cited passages appear here.</p></div>"


def excerpt(citation: Citation, passages: list[SourcePassage]) -> tuple[str, str, str]:
    """(before, cited, after): the retrieved text around a citation, exact to the character.

    Retrieved passages of one source that overlap or touch are joined, so a citation that runs
    across a chunk boundary still shows in context; with no covering passage, it stands alone.
    """
    for start, body in _joined(p for p in passages if p.source == citation.source):
        end = start + len(body)
        if start <= citation.start and citation.end <= end:
            a, b = citation.start - start, citation.end - start
            return body[:a], body[a:b], body[b:]
    return "", citation.text, ""


def _joined(passages) -> list[tuple[int, str]]:
    spans: list[tuple[int, str]] = []
    for p in sorted(passages, key=lambda p: p.start):
        if spans and p.start <= spans[-1][0] + len(spans[-1][1]):
            start, body = spans[-1]
            overhang = start + len(body) - p.start
            spans[-1] = (start, body + p.text[overhang:])
        else:
            spans.append((p.start, p.text))
    return spans


def _cite_link(citation: Citation, turn: int) -> str:
    tip = citation.text if len(citation.text) <= _TOOLTIP_CHARS else citation.text[:_TOOLTIP_CHARS] + "..."
    return f"<a class='qa-cite' href='#qa-src-{turn}-{citation.number}' title='{text(tip)}'>[{citation.number}]</a>"


def _citation_card(citation: Citation, passages: list[SourcePassage], turn: int) -> str:
    before, cited, after = excerpt(citation, passages)
    return (
        f"<div class='qa-source' id='qa-src-{turn}-{citation.number}'>"
        f"<div class='qa-source-head'><span class='qa-num'>[{citation.number}]</span> "
        f"{_heading(citation.title, citation.source, citation.start, citation.end)}</div>"
        f"<p class='qa-passage'>{text(before)}<mark>{text(cited)}</mark>{text(after)}</p></div>"
    )


def _passage_card(passage: SourcePassage) -> str:
    return (
        f"<div class='qa-source qa-looked-at'><div class='qa-source-head'>"
        f"{_heading(passage.title, passage.source, passage.start, passage.end)}</div>"
        f"<p class='qa-passage'>{text(passage.text)}</p></div>"
    )


def _heading(title: str, source: str, start: int, end: int) -> str:
    name = Path(source).name
    headline = f"<span class='qa-title'>{text(title)}</span><br>" if title else ""
    return (
        f"{headline}<span class='qa-meta' title='{text(source)}'>{text(name)} "
        f"&middot; characters {start:,}&ndash;{end:,}</span>"
    )
