"""LlamaIndex's `SentenceSplitter`, ported: the same chunks from the same text, without importing llama_index.

Importing `llama_index.core` took 1.2 s of every process that ingests (a `qa ingest`, a server's first upload),
more than chunking a paper. This is its algorithm (llama-index-core 0.14, `node_parser/text/sentence.py` and
`text/utils.py`, MIT licence, Copyright Jerry Liu), kept step for step so that chunk boundaries, and so the
records of every existing index, do not move: split by paragraph separator, then by NLTK's default Punkt
sentence tokenizer (run by `qa/punkt.py`), then by a clause regex, then by spaces, then by characters, until
each piece fits; then merge pieces into chunks of at most `chunk_size` tokens with up to `chunk_overlap` tokens
carried over.
`tests/index/test_splitter.py` checks it against LlamaIndex's own on the bundled article and generated texts.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qa.punkt import Punkt

CHUNKING_REGEX = "[^,.;。？！]+[,.;。？！]?|[,.;。？！]"
PARAGRAPH_SEPARATOR = "\n\n\n"


@dataclass(frozen=True)
class _Split:
    text: str
    is_sentence: bool
    token_size: int


class SentenceSplitter:
    """Chunks of at most `chunk_size` tokens (as counted by `tokenizer`) that prefer whole sentences."""

    def __init__(self, chunk_size: int, chunk_overlap: int, tokenizer: Callable[[str], Any]):
        if chunk_overlap > chunk_size:
            raise ValueError(f"chunk overlap {chunk_overlap} is larger than chunk size {chunk_size}")
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self._tokenizer = tokenizer
        self._split_fns: list[Callable[[str], list[str]]] = [_by_separator(PARAGRAPH_SEPARATOR), _by_sentence]
        self._sub_sentence_split_fns: list[Callable[[str], list[str]]] = [
            _by_regex(CHUNKING_REGEX),
            _by_separator(" "),
            list,
        ]

    def split_text(self, text: str) -> list[str]:
        if text == "":
            return [text]
        return self._merge(self._split(text, self.chunk_size), self.chunk_size)

    def _split(self, text: str, chunk_size: int) -> list[_Split]:
        token_size = self._token_size(text)
        if token_size <= chunk_size:
            return [_Split(text, is_sentence=True, token_size=token_size)]
        pieces, is_sentence = self._get_splits_by_fns(text)
        out: list[_Split] = []
        for piece in pieces:
            token_size = self._token_size(piece)
            if token_size <= chunk_size or len(pieces) == 1:  # one piece that cannot be split: kept oversized
                out.append(_Split(piece, is_sentence=is_sentence, token_size=token_size))
            else:
                out.extend(self._split(piece, chunk_size=chunk_size))
        return out

    def _merge(self, splits: list[_Split], chunk_size: int) -> list[str]:
        chunks: list[str] = []
        cur_chunk: list[tuple[str, int]] = []
        cur_chunk_len = 0
        new_chunk = True

        def close_chunk() -> None:
            nonlocal cur_chunk, cur_chunk_len, new_chunk
            chunks.append("".join(text for text, _ in cur_chunk))
            last_chunk = cur_chunk
            cur_chunk = []
            cur_chunk_len = 0
            new_chunk = True
            last_index = len(last_chunk) - 1  # carry the last pieces over, up to chunk_overlap tokens
            while last_index >= 0 and cur_chunk_len + last_chunk[last_index][1] <= self.chunk_overlap:
                cur_chunk_len += last_chunk[last_index][1]
                cur_chunk.insert(0, last_chunk[last_index])
                last_index -= 1

        split_idx = 0
        while split_idx < len(splits):
            cur_split = splits[split_idx]
            if cur_split.token_size > chunk_size:
                raise ValueError("Single token exceeded chunk size")
            if cur_chunk_len + cur_split.token_size > chunk_size and not new_chunk:
                close_chunk()
            else:
                if new_chunk and cur_chunk_len + cur_split.token_size > chunk_size:
                    while cur_chunk and cur_chunk_len + cur_split.token_size > chunk_size:
                        _, length = cur_chunk.pop(0)
                        cur_chunk_len -= length
                if cur_split.is_sentence or cur_chunk_len + cur_split.token_size <= chunk_size or new_chunk:
                    cur_chunk_len += cur_split.token_size
                    cur_chunk.append((cur_split.text, cur_split.token_size))
                    split_idx += 1
                    new_chunk = False
                else:
                    close_chunk()
        if not new_chunk:
            chunks.append("".join(text for text, _ in cur_chunk))
        return [chunk.strip() for chunk in chunks if chunk.strip() != ""]

    def _token_size(self, text: str) -> int:
        return len(self._tokenizer(text))

    def _get_splits_by_fns(self, text: str) -> tuple[list[str], bool]:
        for split_fn in self._split_fns:
            splits = split_fn(text)
            if len(splits) > 1:
                return splits, True
        for split_fn in self._sub_sentence_split_fns:
            splits = split_fn(text)
            if len(splits) > 1:
                break
        return splits, False


def _by_separator(separator: str) -> Callable[[str], list[str]]:
    """Split on `separator`, keeping it at the start of each later piece; empty pieces dropped."""

    def split(text: str) -> list[str]:
        parts = text.split(separator)
        return [piece for piece in (separator + p if i > 0 else p for i, p in enumerate(parts)) if piece]

    return split


def _by_regex(pattern: str) -> Callable[[str], list[str]]:
    compiled = re.compile(pattern)
    return lambda text: compiled.findall(text)


def _by_sentence(text: str) -> list[str]:
    """Sentences by NLTK's untrained Punkt tokenizer (LlamaIndex's choice), each running to the next one's start."""
    spans = list(_default_punkt().span_tokenize(text))
    return [text[start : spans[i + 1][0] if i + 1 < len(spans) else len(text)] for i, (start, _) in enumerate(spans)]


@lru_cache(maxsize=1)
def _default_punkt() -> "Punkt":
    """NLTK's untrained `PunktSentenceTokenizer`, run by the port in qa/punkt.py (importing nltk cost 1.6 s)."""
    from qa.punkt import Punkt

    return Punkt()
