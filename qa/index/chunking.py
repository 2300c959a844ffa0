"""Documents -> chunks and sentences, each with exact character offsets into the document text.

Chunks come from LlamaIndex's SentenceSplitter algorithm (ported in `splitter.py`, so that ingest does not
import llama_index) counting cl100k_base tokens (tiktoken, read from the cache that llama-index-core ships).
Sentences are the unit of evidence: they are embedded one by one, and answers quote them.
"""

import logging
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from qa.index.documents import Document
from qa.offline import shipped_tiktoken
from qa.text import sentence_spans

if TYPE_CHECKING:
    import tiktoken

    from qa.index.splitter import SentenceSplitter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Segment:
    """A stored piece of a document: `document.text[start:end] == text`; `position` counts the document's
    pieces of the same kind, and `id` is the piece's record id in the store."""

    id: str
    source: str
    position: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Chunk(Segment):
    """The unit of retrieval: about 128 tokens of consecutive sentences."""


@dataclass(frozen=True)
class Sentence(Segment):
    """A sentence, the unit of evidence and citation.

    `paragraph` counts the line breaks before it; `lead` is the text between the previous
    sentence and this one, so that a run of sentences can be quoted exactly.
    """

    paragraph: int = 0
    lead: str = ""


@lru_cache(maxsize=1)
def cl100k() -> "tiktoken.Encoding":
    """The tokenizer chunk sizes are counted in, read from the data llama-index-core ships (no download)."""
    import tiktoken

    with shipped_tiktoken():
        return tiktoken.get_encoding("cl100k_base")


def record_id(content_hash: str, kind: str, position: int) -> str:
    """Stable id from content and position: re-ingesting unchanged text yields the same ids."""
    return f"{content_hash[:20]}-{kind}{position:05d}"


class Chunker:
    """Splits documents into chunks (for retrieval) and sentences (for evidence)."""

    def __init__(self, chunk_size: int, chunk_overlap: int):
        self._size = chunk_size
        self._overlap = chunk_overlap

    def load(self) -> None:
        """Import NLTK and load the tokenizers now, in this thread: ingest splits in worker threads, and two
        threads importing a module for the first time at once can each see it half-initialised."""
        self.sentences(Document("warm-up", "One sentence. Another one.", "", "", ""))
        self._splitter.split_text("One sentence. Another one.")

    @cached_property
    def _splitter(self) -> "SentenceSplitter":
        """Made on first use: NLTK and the tokenizer load only in processes that ingest."""
        from qa.index.splitter import SentenceSplitter

        return SentenceSplitter(self._size, self._overlap, cl100k().encode)

    def chunks(self, doc: Document) -> list[Chunk]:
        """SentenceSplitter's chunks located in the text; each is an exact substring."""
        chunks: list[Chunk] = []
        cursor = 0
        for piece in self._splitter.split_text(doc.text):
            start = doc.text.find(piece, cursor)
            if start < 0:
                start = doc.text.find(piece)
            if start < 0:
                log.warning("%s: chunk %d not found verbatim; skipped", doc.source, len(chunks))
                continue
            end = start + len(piece)
            chunks.append(
                Chunk(record_id(doc.content_hash, "c", len(chunks)), doc.source, len(chunks), start, end, piece)
            )
            cursor = start + 1
        return chunks

    @staticmethod
    def sentences(doc: Document) -> list[Sentence]:
        """Every non-blank sentence of the document with its span."""
        out: list[Sentence] = []
        previous_end = 0
        for span in sentence_spans(doc.text):
            text = doc.text[span.start : span.end]
            if not text.strip():
                continue
            lead = doc.text[previous_end : span.start]
            paragraph = (out[-1].paragraph if out else doc.text.count("\n", 0, previous_end)) + lead.count("\n")
            out.append(
                Sentence(
                    record_id(doc.content_hash, "s", len(out)),
                    doc.source,
                    len(out),
                    span.start,
                    span.end,
                    text,
                    paragraph,
                    lead,
                )
            )
            previous_end = span.end
        return out
