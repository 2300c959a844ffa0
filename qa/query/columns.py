"""The corpus snapshot as columns: every chunk and sentence field, term list and lexical index in flat arrays.

Rows are ordered by document (sorted by source) and by position within it, so each document's rows are
one block. That makes the two ways a snapshot changes cheap array work: `built` makes the columns of
newly read documents, and `combined` takes whole document blocks of several column sets into one (the
documents kept from the previous snapshot, and the new ones) with their term numbers, row references and
postings renumbered rather than rebuilt. The columns can be written to a file and mapped back
(`snapshot_file.py`), so a new process starts without building any of it.
"""

import bisect
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.index.chunking import Chunk, Sentence
from qa.query.lexical import Inverted, inserted, inverted, lengths_of, merged, merged_vocabulary
from qa.query.packed import Packed, Ragged, id_hashes
from qa.query.vectors import SentenceVectors
from qa.text import terms

_REFERRING = re.compile(
    r"^[\"'“]?(he|she|it|they|this|that|these|those|his|her|its|their|such|the former|the latter|"
    r"at that time|then)\b",
    re.IGNORECASE,
)
_MAX_UNIT = 3


@dataclass(frozen=True)
class CorpusColumns:
    """Document d's sentences are rows `sentence_first[d]:sentence_first[d + 1]`, likewise its chunks.
    Spans: sentences (position, start, end, paragraph), chunks (position, start, end). Term lists hold
    numbers into the sorted `vocabulary`; `units[i]` is the run (first, last) sentence i is read in."""

    sources: Packed
    sentence_first: np.ndarray
    chunk_first: np.ndarray
    sentence_ids: Packed
    sentence_hashes: np.ndarray
    sentence_id_order: np.ndarray
    sentence_texts: Packed
    sentence_leads: Packed
    sentence_spans: np.ndarray
    sentence_terms: Ragged
    units: np.ndarray
    chunk_ids: Packed
    chunk_texts: Packed
    chunk_spans: np.ndarray
    chunk_terms: Ragged
    chunk_sentences: Ragged
    chunks_of_sentence: Ragged
    vocabulary: Packed
    sentence_postings: Inverted
    chunk_postings: Inverted
    chunk_lengths: np.ndarray
    vectors: SentenceVectors


def built(
    chunks: Sequence[Chunk],
    sentences: Sequence[Sentence],
    vectors: "np.ndarray | SentenceVectors",
    sentence_terms: Sequence[Sequence[str]] | None = None,
    chunk_terms: Sequence[Sequence[str]] | None = None,
) -> CorpusColumns:
    """The columns of these records, ordered by source and position (as the snapshot orders them)."""
    c_order = sorted(range(len(chunks)), key=lambda k: (chunks[k].source, chunks[k].position))
    s_order = sorted(range(len(sentences)), key=lambda k: (sentences[k].source, sentences[k].position))
    c_list = [chunks[k] for k in c_order]
    s_list = [sentences[k] for k in s_order]
    s_terms = [sentence_terms[k] for k in s_order] if sentence_terms is not None else [terms(s.text) for s in s_list]
    c_terms = [chunk_terms[k] for k in c_order] if chunk_terms is not None else [terms(c.text) for c in c_list]
    sources = sorted({s.source for s in s_list} | {c.source for c in c_list})
    number = {w: n for n, w in enumerate(sorted({t for ts in s_terms for t in ts} | {t for ts in c_terms for t in ts}))}
    s_numbers = Ragged.of([[number[t] for t in ts] for ts in s_terms])
    c_numbers = Ragged.of([[number[t] for t in ts] for ts in c_terms])
    inside = Ragged.of(_sentences_of_chunks(c_list, s_list))
    c_lengths = lengths_of(c_numbers)
    c_postings = inverted(c_numbers, len(number))
    ids = [s.id for s in s_list]
    hashes = id_hashes(ids)
    matrix = vectors if isinstance(vectors, SentenceVectors) else SentenceVectors.of(np.asarray(vectors, np.float32))
    return CorpusColumns(
        sources=Packed.of(sources),
        sentence_first=_firsts([s.source for s in s_list], sources),
        chunk_first=_firsts([c.source for c in c_list], sources),
        sentence_ids=Packed.of(ids),
        sentence_hashes=hashes,
        sentence_id_order=np.argsort(hashes, kind="stable"),
        sentence_texts=Packed.of([s.text for s in s_list]),
        sentence_leads=Packed.of([s.lead for s in s_list]),
        sentence_spans=np.array([(s.position, s.start, s.end, s.paragraph) for s in s_list], np.int64).reshape(-1, 4),
        sentence_terms=s_numbers,
        units=np.array(_units(s_list), dtype=np.int64).reshape(-1, 2),
        chunk_ids=Packed.of([c.id for c in c_list]),
        chunk_texts=Packed.of([c.text for c in c_list]),
        chunk_spans=np.array([(c.position, c.start, c.end) for c in c_list], dtype=np.int64).reshape(-1, 3),
        chunk_terms=c_numbers,
        chunk_sentences=inside,
        chunks_of_sentence=_inverse(inside, len(s_list)),
        vocabulary=Packed.of(list(number)),
        sentence_postings=inverted(s_numbers, len(number)),
        chunk_postings=c_postings,
        chunk_lengths=c_lengths,
        vectors=matrix.select(s_order),
    )


def combined(parts: Sequence[CorpusColumns], picks: Sequence[tuple[int, int]]) -> CorpusColumns:
    """One column set of the documents `picks` ((part, document number in it), in source order): their
    blocks copied, term numbers mapped into the merged vocabulary, row references renumbered, postings
    merged (`lexical.merged`) and BM25 weights recomputed (idf and average length change with any chunk)."""
    if len(parts) == 1 and list(picks) == [(0, d) for d in range(len(parts[0].sources))]:
        return parts[0]
    runs: list[list[int]] = []  # [part, first document, last document + 1]
    for p, d in picks:
        if runs and runs[-1][0] == p and runs[-1][2] == d:
            runs[-1][2] += 1
        else:
            runs.append([p, d, d + 1])
    s_runs = [(p, int(parts[p].sentence_first[a]), int(parts[p].sentence_first[b])) for p, a, b in runs]
    c_runs = [(p, int(parts[p].chunk_first[a]), int(parts[p].chunk_first[b])) for p, a, b in runs]
    s_map = _row_maps([len(x.sentence_texts) for x in parts], s_runs)
    c_map = _row_maps([len(x.chunk_texts) for x in parts], c_runs)
    big = max(range(len(parts)), key=lambda p: len(parts[p].vocabulary))
    vocabulary, maps = merged_vocabulary(parts[big].vocabulary, [x.vocabulary for p, x in enumerate(parts) if p != big])
    t_map = [maps[0] if p == big else maps[1 + p - (p > big)] for p in range(len(parts))]
    n, m = sum(hi - lo for _, lo, hi in s_runs), sum(hi - lo for _, lo, hi in c_runs)
    c_terms = _ragged(parts, "chunk_terms", c_runs, t_map)
    c_lengths = lengths_of(c_terms)
    c_postings = merged([(x.chunk_postings, t_map[p], c_map[p]) for p, x in enumerate(parts)], len(vocabulary), m)
    inside = _ragged(parts, "chunk_sentences", c_runs, s_map)
    hashes = _array(parts, "sentence_hashes", s_runs)
    offsets = np.cumsum([0] + [len(x.sentence_texts) for x in parts])
    order = np.concatenate([np.arange(lo, hi) + offsets[p] for p, lo, hi in s_runs] or [np.zeros(0, np.int64)])
    return CorpusColumns(
        sources=Packed.of([parts[p].sources[d] for p, d in picks]),
        sentence_first=_firsts_of(parts, "sentence_first", picks),
        chunk_first=_firsts_of(parts, "chunk_first", picks),
        sentence_ids=_packed(parts, "sentence_ids", s_runs),
        sentence_hashes=hashes,
        sentence_id_order=_id_order(parts, s_map, hashes),
        sentence_texts=_packed(parts, "sentence_texts", s_runs),
        sentence_leads=_packed(parts, "sentence_leads", s_runs),
        sentence_spans=_array(parts, "sentence_spans", s_runs).reshape(-1, 4),
        sentence_terms=_ragged(parts, "sentence_terms", s_runs, t_map),
        units=np.concatenate([s_map[p][parts[p].units[lo:hi]] for p, lo, hi in s_runs] or [np.zeros((0, 2), np.int64)]),
        chunk_ids=_packed(parts, "chunk_ids", c_runs),
        chunk_texts=_packed(parts, "chunk_texts", c_runs),
        chunk_spans=_array(parts, "chunk_spans", c_runs).reshape(-1, 3),
        chunk_terms=c_terms,
        chunk_sentences=inside,
        chunks_of_sentence=_ragged(parts, "chunks_of_sentence", s_runs, c_map),
        vocabulary=vocabulary,
        sentence_postings=merged(
            [(x.sentence_postings, t_map[p], s_map[p]) for p, x in enumerate(parts)], len(vocabulary), n
        ),
        chunk_postings=c_postings,
        chunk_lengths=c_lengths,
        vectors=SentenceVectors.joined([x.vectors for x in parts], order),
    )


def _id_order(parts: Sequence[CorpusColumns], s_map: list[np.ndarray], hashes: np.ndarray) -> np.ndarray:
    """`np.argsort(hashes, kind="stable")` of the combined rows, from the largest part's own order with the
    others' rows inserted (sorting the 1.66 million hashes of 10,000 documents takes 0.15-0.16 s). Should an inserted
    hash equal a kept one (a 64-bit collision), the order among equals is left to the full sort."""
    big = max(range(len(parts)), key=lambda p: len(parts[p].sentence_hashes))
    kept = s_map[big][parts[big].sentence_id_order]
    kept = kept[kept >= 0]
    others = np.sort(np.concatenate([m[m >= 0] for p, m in enumerate(s_map) if p != big] or [kept[:0]]))
    others = others[np.argsort(hashes[others], kind="stable")]
    ordered, wanted = hashes[kept], hashes[others]
    at = np.searchsorted(ordered, wanted)
    if len(ordered) and np.any(ordered[np.minimum(at, len(ordered) - 1)] == wanted):
        return np.argsort(hashes, kind="stable")
    return inserted(kept, at, others)


def _row_maps(sizes: list[int], runs: list[tuple[int, int, int]]) -> list[np.ndarray]:
    """For each part, the new row of each of its rows (-1: left out)."""
    maps = [np.full(size, -1, dtype=np.int64) for size in sizes]
    at = 0
    for p, lo, hi in runs:
        maps[p][lo:hi] = np.arange(at, at + hi - lo)
        at += hi - lo
    return maps


def _array(parts: Sequence[CorpusColumns], name: str, runs: list[tuple[int, int, int]]) -> np.ndarray:
    pieces = [np.asarray(getattr(parts[p], name)[lo:hi]) for p, lo, hi in runs]
    return np.concatenate(pieces) if pieces else np.asarray(getattr(parts[0], name)[:0])


def _packed(parts: Sequence[CorpusColumns], name: str, runs: list[tuple[int, int, int]]) -> Packed:
    return Packed.gathered([(getattr(parts[p], name), lo, hi) for p, lo, hi in runs])


def _ragged(
    parts: Sequence[CorpusColumns], name: str, runs: list[tuple[int, int, int]], maps: list[np.ndarray]
) -> Ragged:
    return Ragged.gathered([(getattr(parts[p], name), lo, hi, maps[p]) for p, lo, hi in runs])


def _firsts_of(parts: Sequence[CorpusColumns], name: str, picks: Sequence[tuple[int, int]]) -> np.ndarray:
    sizes = [int(getattr(parts[p], name)[d + 1] - getattr(parts[p], name)[d]) for p, d in picks]
    return np.concatenate(([0], np.cumsum(sizes, dtype=np.int64))).astype(np.int64)


def _firsts(row_sources: list[str], sources: list[str]) -> np.ndarray:
    counts: dict[str, int] = defaultdict(int)
    for source in row_sources:
        counts[source] += 1
    return np.concatenate(([0], np.cumsum([counts[s] for s in sources], dtype=np.int64))).astype(np.int64)


def _sentences_of_chunks(chunks: list[Chunk], sentences: list[Sentence]) -> list[list[int]]:
    """For each chunk, the sentences that overlap it (rows, in document order)."""
    by_source: dict[str, tuple[list[int], list[int]]] = {}
    for i, s in enumerate(sentences):
        starts, rows = by_source.setdefault(s.source, ([], []))
        starts.append(s.start)
        rows.append(i)
    out = []
    for c in chunks:
        starts, rows = by_source.get(c.source, ([], []))
        lo = max(0, bisect.bisect_right(starts, c.start) - 1)
        hi = bisect.bisect_left(starts, c.end)
        out.append([rows[k] for k in range(lo, hi) if sentences[rows[k]].end > c.start])
    return out


def _inverse(inside: Ragged, n: int) -> Ragged:
    """For each sentence, the chunks that hold it, ascending (the inverse of `chunk_sentences`)."""
    owner = np.repeat(np.arange(len(inside), dtype=np.int64), inside.lengths())
    order = np.argsort(inside.values, kind="stable")
    return Ragged(owner[order], np.cumsum(np.bincount(inside.values, minlength=n)).astype(np.int64))


def _same_line(a: Sentence, b: Sentence) -> bool:
    return a.source == b.source and a.paragraph == b.paragraph and a.position + 1 == b.position


def _units(sentences: list[Sentence]) -> list[tuple[int, int]]:
    """For each sentence, the run of sentences it belongs to: a sentence opening with a pronoun
    ("He hopes...") continues the one before it, so the two are quoted and judged together."""
    units: list[tuple[int, int]] = []
    first = 0
    for i, s in enumerate(sentences):
        continues = i > 0 and _same_line(sentences[i - 1], s) and bool(_REFERRING.match(s.text.strip()))
        if not continues or i - first >= _MAX_UNIT:
            first = i
        units.append((first, i))
    last = list(range(len(sentences)))
    for i in range(len(sentences) - 1, -1, -1):
        if i + 1 < len(sentences) and units[i + 1][0] == units[i][0]:
            last[i] = last[i + 1]
    return [(units[i][0], last[i]) for i in range(len(sentences))]
