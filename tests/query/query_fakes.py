"""A small corpus built in memory, a stand-in embedder and the one store call retrieval makes: enough to run
the question side's logic with no Chroma and no model, in milliseconds.

Documents are lists of sentences joined by single spaces; every `per_chunk` sentences make a chunk. Offsets
are exact, as the real chunker's are: `text[start:end]` of the document is the chunk's or sentence's text.
"""

import hashlib
from collections.abc import Collection

import numpy as np

from qa.index.chunking import Chunk, Sentence
from qa.index.store import DocumentRecord
from qa.query.corpus import Corpus
from qa.text import terms

DIM = 64


def vector(text: str) -> np.ndarray:
    """A hashed bag of the text's stemmed terms, normalised: texts sharing terms are close."""
    out = np.zeros(DIM, dtype=np.float32)
    for term in terms(text):
        out[int(hashlib.sha256(term.encode()).hexdigest(), 16) % DIM] += 1.0
    return out / (np.linalg.norm(out) or 1.0)


class HashEmbedder:
    """The stand-in embedder: queries and passages alike are `vector`s."""

    name = "hashed-bag-of-words"
    dim = DIM

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return np.vstack([vector(t) for t in texts]) if texts else np.zeros((0, DIM), dtype=np.float32)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.embed_queries(texts)


class CorpusStore:
    """Dense search over the corpus's own sentence vectors (`Store.nearest_sentences`, the only store call
    retrieval makes), ranked by cosine as Chroma ranks them."""

    def __init__(self, corpus: Corpus):
        self._corpus = corpus

    def nearest_sentences(
        self, vector: np.ndarray, n: int, sources: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        sentences = self._corpus.sentences
        keep = [i for i, s in enumerate(sentences) if sources is None or s.source in sources]
        similarity = self._corpus.sentence_vectors[keep] @ vector
        order = np.argsort(-similarity, kind="stable")[:n]
        return [(sentences[keep[k]].id, float(similarity[k])) for k in order]


def document_text(sentences: list[str]) -> str:
    return " ".join(sentences)


def corpus_of(documents: dict[str, list[str]], per_chunk: int = 2) -> Corpus:
    """The corpus of these documents (source -> sentences); each document's title is its first sentence."""
    records: dict[str, DocumentRecord] = {}
    chunks: list[Chunk] = []
    sentences: list[Sentence] = []
    for source, texts in sorted(documents.items()):
        text = document_text(texts)
        own: list[Sentence] = []
        at = 0
        for position, sentence in enumerate(texts):
            start = text.index(sentence, at)
            own.append(
                Sentence(
                    f"{source}#s{position}",
                    source,
                    position,
                    start,
                    start + len(sentence),
                    sentence,
                    0,
                    " " if position else "",
                )
            )
            at = start + len(sentence)
        for position, first in enumerate(range(0, len(own), per_chunk)):
            head, tail = own[first], own[min(first + per_chunk, len(own)) - 1]
            chunks.append(
                Chunk(f"{source}#c{position}", source, position, head.start, tail.end, text[head.start : tail.end])
            )
        sentences += own
        digest = hashlib.sha256(text.encode()).hexdigest()
        records[source] = DocumentRecord(
            source, digest, texts[0], "2024-01-01", -(-len(own) // per_chunk), len(own), 0.0
        )
    vectors = np.vstack([vector(s.text) for s in sentences]) if sentences else np.zeros((0, DIM), dtype=np.float32)
    return Corpus.of(records, chunks, sentences, vectors)
