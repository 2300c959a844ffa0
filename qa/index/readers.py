"""Text out of rich files: HTML, PDF and Word documents become plain text before chunking.

Plain text (.txt, .md) is indexed exactly as written, so a citation's offsets index the file itself.
For the formats here there is no such file: citation offsets index the *extracted* text, which the
index keeps beside the document record (`QAService.document_text(source)`, `qa docs --text SOURCE`).
Extraction is deterministic, so re-reading an unchanged file gives the same text and the same hash.
"""

import logging
import re
from pathlib import Path

from qa.errors import DocumentError

log = logging.getLogger(__name__)

PLAIN_SUFFIXES = frozenset({".txt", ".md"})
EXTRACTED_SUFFIXES = frozenset({".html", ".htm", ".pdf", ".docx"})
_BLANK_RUNS = re.compile(r"\n[ \t]*(\n[ \t]*)+")
_NOISE_TAGS = ("script", "style", "noscript", "template", "head")
_BLOCK_TAGS = (
    "p",
    "div",
    "br",
    "li",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "article",
    "blockquote",
    "pre",
    "table",
    "ul",
    "ol",
    "header",
    "footer",
    "title",
)
_SPACES = re.compile(r"[ \t\xa0]+")


def is_plain(source: str | Path) -> bool:
    """Is the source a text file whose own characters the citation offsets index?"""
    return Path(source).suffix.lower() in PLAIN_SUFFIXES


def extract_text(path: Path) -> str:
    """The readable text of an HTML, PDF or DOCX file; DocumentError when it cannot be read."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".html", ".htm"):
            text = _html(path)
        elif suffix == ".pdf":
            text = _pdf(path)
        else:
            text = _docx(path)
    except DocumentError:
        raise
    except Exception as exc:  # the parsers raise many types for damaged files
        log.debug("extracting %s failed", path, exc_info=True)
        cause = _root(exc)
        raise DocumentError(
            f"{path}: cannot extract text from this {suffix[1:].upper()} file "
            f"({type(cause).__name__}: {str(cause)[:120]})"
        ) from None
    return tidy(text)


def _root(exc: BaseException) -> BaseException:
    """The parser's own error, not the retry wrapper LlamaIndex's PDF reader puts around it."""
    attempt = getattr(exc, "last_attempt", None)
    inner = attempt.exception() if attempt is not None else None
    return inner or exc


def tidy(text: str) -> str:
    """One blank line at most between paragraphs, no trailing spaces: stable, readable offsets."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


def _html(path: Path) -> str:
    """Visible text of the page; scripts, styles and the head are not content."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_bytes(), "html.parser")
    for tag in soup(_NOISE_TAGS):
        tag.decompose()
    for tag in soup(_BLOCK_TAGS):
        tag.insert_after("\n")
    return "\n".join(_SPACES.sub(" ", line).strip() for line in soup.get_text().split("\n"))


def _pdf(path: Path) -> str:
    """LlamaIndex's PDF reader (pypdf), one document per page, pages separated by a blank line."""
    from llama_index.readers.file import PDFReader

    return "\n\n".join(page.text for page in PDFReader().load_data(path))


def _docx(path: Path) -> str:
    """LlamaIndex's DOCX reader (docx2txt)."""
    from llama_index.readers.file import DocxReader

    return "\n\n".join(part.text for part in DocxReader().load_data(path))
