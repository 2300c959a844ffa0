"""The ported SentenceSplitter gives LlamaIndex's chunks exactly (chunk boundaries are part of every index's
record ids, so they must not move): on the bundled article and on generated texts with sentence marks,
abbreviations, Chinese punctuation, paragraph breaks and words longer than a chunk."""

import random
from pathlib import Path

import pytest
from llama_index.core.node_parser import SentenceSplitter as LlamaIndexSplitter

from qa.index.chunking import cl100k
from qa.index.splitter import SentenceSplitter

WORDS = (
    "alpha beta gamma Dr. Mr. U.S. 3.5 e.g. 小米 公司。 你好！ 为什么？ x, y; z. ... — “quoted.” (paren) "
    "\n \n\n \n\n\n supercalifragilisticexpialidocious"
).split(" ")


def _texts() -> list[str]:
    rng = random.Random(7)
    generated = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 300))) for _ in range(60)]
    return [Path("seeds/lei-jun-xiaomi.txt").read_text(encoding="utf-8"), "", "   ", *generated]


@pytest.mark.parametrize("size, overlap", [(128, 16), (48, 8), (300, 100), (16, 0)])
def test_the_same_chunks_as_llamaindex(size, overlap):
    theirs = LlamaIndexSplitter(chunk_size=size, chunk_overlap=overlap, tokenizer=cl100k().encode)
    ours = SentenceSplitter(size, overlap, cl100k().encode)
    for text in _texts():
        assert ours.split_text(text) == theirs.split_text(text)


def test_an_overlap_larger_than_the_chunk_is_refused():
    with pytest.raises(ValueError, match="overlap"):
        SentenceSplitter(16, 32, cl100k().encode)
