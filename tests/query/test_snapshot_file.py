"""The snapshot file: columns written and mapped back answer as the built ones, a write that dies leaves the
previous file whole, and a file whose references point outside their tables is refused."""

import dataclasses
import json

import numpy as np
import pytest
from query_fakes import corpus_of

from qa.query import snapshot_file
from qa.query.corpus import Corpus

CORPUS = corpus_of(
    {
        "garden.txt": ["The greenhouse grows saffron crocuses.", "They flower in October.", "The shed holds rakes."],
        "tower.txt": ["The observatory telescope was built in 1911.", "Its dome turns on rails."],
    }
)


def _mapped(path) -> Corpus:
    meta, columns = snapshot_file.read(path)
    assert meta == {"about": "test"}
    return Corpus(CORPUS.documents, columns)


def test_columns_mapped_from_the_file_answer_as_the_built_ones(tmp_path):
    path = tmp_path / "corpus.snapshot"
    snapshot_file.write(path, {"about": "test"}, CORPUS.columns)
    mapped = _mapped(path)
    assert isinstance(mapped.columns.chunk_texts.data, np.memmap)
    assert list(mapped.sentences) == list(CORPUS.sentences) and list(mapped.chunks) == list(CORPUS.chunks)
    assert mapped.units == CORPUS.units and mapped.sentence_term_list == CORPUS.sentence_term_list
    np.testing.assert_array_equal(np.asarray(mapped.sentence_vectors), np.asarray(CORPUS.sentence_vectors))
    for term in ("saffron", "observ", "dome", "absent"):
        np.testing.assert_array_equal(mapped.bm25_scores([term]), CORPUS.bm25_scores([term]))
        np.testing.assert_array_equal(mapped.sentences_with(term), CORPUS.sentences_with(term))
        assert mapped.idf(term) == CORPUS.idf(term)
    assert mapped.sentence_rows(["tower.txt#s1", "nowhere"]) == CORPUS.sentence_rows(["tower.txt#s1", "nowhere"])
    assert snapshot_file.meta_of(path) == {"about": "test"}


def test_a_write_that_dies_leaves_the_previous_file_whole_and_no_temporary(tmp_path):
    path = tmp_path / "corpus.snapshot"
    snapshot_file.write(path, {"about": "test"}, CORPUS.columns)
    before = path.read_bytes()
    smaller = CORPUS.without({"garden.txt"})
    broken = dataclasses.replace(smaller.columns, vectors=_DyingVectors(smaller.sentence_vectors))
    with pytest.raises(OSError, match="disk gone"):
        snapshot_file.write(path, {"about": "smaller"}, broken)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["corpus.snapshot"]


class _DyingVectors:
    """Vectors whose rows cannot be read: the write fails after the other arrays are on disk."""

    def __init__(self, real):
        self.shape = real.shape

    def __getitem__(self, rows):
        raise OSError("disk gone")


def test_a_file_whose_references_leave_their_tables_is_refused(tmp_path):
    path = tmp_path / "corpus.snapshot"
    snapshot_file.write(path, {"about": "test"}, CORPUS.columns)
    data = bytearray(path.read_bytes())
    size = int.from_bytes(data[8:16], "little")
    header = json.loads(data[16 : 16 + size])
    start = -(-(16 + size) // 64) * 64
    dtype, _, offset = header["arrays"]["chunk_sentences.values"]
    data[start + offset : start + offset + 8] = (10**6).to_bytes(8, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="outside its table"):
        snapshot_file.read(path)


def _resident_bytes(path) -> int:
    """How much of the file at `path` is mapped into this process and resident (Rss of its mappings)."""
    total, inside = 0, False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            fields = line.split()
            if "-" in fields[0] and len(fields) >= 5:  # a mapping's header line: range, perms, offset, dev, inode
                inside = len(fields) >= 6 and fields[5] == str(path)
            elif inside and fields[0] == "Rss:":
                total += int(fields[1]) * 1024
    return total


def test_reading_a_file_leaves_its_arrays_out_of_memory(tmp_path):
    """Mapping and checking a snapshot reads the references through the file, not the mapping: before any
    question, almost none of the mapped arrays is resident in the process (Linux: /proc/self/smaps)."""
    rng = np.random.default_rng(3)
    words = [f"term{i}" for i in range(3000)]
    big = corpus_of({f"doc{d}.txt": [" ".join(rng.choice(words, 12)) + "." for _ in range(200)] for d in range(40)})
    path = tmp_path / "corpus.snapshot"
    snapshot_file.write(path, {"about": "test"}, big.columns)
    _, columns = snapshot_file.read(path)
    size = path.stat().st_size
    assert size > 8_000_000
    assert 0 < _resident_bytes(path) < size // 8  # the header's pages, and the kernel's read-around
    assert len(columns.sentence_texts) == 8000
