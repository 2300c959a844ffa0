"""Features of (question, sentence run, chunk) for the learned evidence model.

A run is a sentence plus the ones that continue it ("He...", "This..."), inside a retrieved chunk.
Every feature is a plain number computed the same way at training and at answer time; which of
them matter, and how much, is fitted on data (`bench/train_ranker.py`), not set by hand. They say
how close the run is to the question (e5 cosine), which of the question's terms it has and which
rare ones it lacks (and whether those occur anywhere near it or anywhere in the corpus), whether it
holds the kind of fact asked for (a time, an amount, a count, a name), and how its chunk ranked.
"""

from dataclasses import dataclass

import numpy as np

from qa.query.answer_types import KINDS, Profile, holds, names_present, numbers_present, profile
from qa.query.corpus import Corpus
from qa.query.ordering import ranks
from qa.text import is_statement, terms, words

RUN_FEATURES = (
    "q_terms",
    "q_unknown",
    "q_non_latin",
    "q_follow_up",
    *(f"kind_{k}" for k in KINDS),
    "dense",
    "dense_gap",
    "dense_rank",
    "dense_search",
    "dense_context",
    "cover",
    "cover_gap",
    "cover_rank",
    "cover_search",
    "cover_context",
    "cover_doc",
    "cover_local",
    "cover_local_gap",
    "missing_local",
    "bigrams",
    "novelty",
    "dense_global_rank",
    "missing_idf",
    "missing_idf_doc",
    "missing_terms",
    "kind_fit",
    "kind_fit_context",
    "names",
    "numbers",
    "attribute_asked",
    "attribute_run",
    "attribute_context",
    "attribute_known",
    "chunk_score",
    "chunk_rank",
    "doc_pool_share",
    "run_words",
    "run_sentences",
    "position",
)

FEATURE_HELP = {
    "q_terms": "log(1 + number of content terms in the question)",
    "q_unknown": "rarity-weighted share of the question's terms the corpus never uses",
    "q_non_latin": "the question is mostly in a non-Latin script",
    "q_follow_up": "the question was read with the conversation (a follow-up)",
    **{f"kind_{k}": f"the question asks for {k.replace('_', '/')}" for k in KINDS},
    "dense": "e5 cosine of question and run",
    "dense_gap": "how far the run's cosine is below the best candidate's",
    "dense_rank": "log(1 + rank of the run by cosine)",
    "dense_search": "e5 cosine of the search query (with conversation) and run",
    "dense_context": "e5 cosine of question and the sentences around the run",
    "cover": "rarity-weighted share of the question's terms in the run",
    "cover_gap": "how far the run's term share is below the best candidate's",
    "cover_rank": "log(1 + rank of the run by term share)",
    "cover_search": "term share of the search query (with conversation) in the run",
    "cover_context": "term share of the question in the run and the sentences around it",
    "cover_doc": "term share of the question in the run's whole document",
    "cover_local": "term share weighted by rarity among the candidates (topic words count less)",
    "cover_local_gap": "how far that share is below the best candidate's",
    "missing_local": "how distinctive the most distinctive question term the run lacks is",
    "bigrams": "share of the question's word pairs the run has",
    "novelty": "share of the run's terms that are not in the question",
    "dense_global_rank": "log(1 + rank of the run's best sentence in the corpus-wide dense search)",
    "missing_idf": "rarity of the rarest question term the run lacks",
    "missing_idf_doc": "rarity of the rarest question term the run's document lacks",
    "missing_terms": "log(1 + number of question terms the run lacks)",
    "kind_fit": "share of the asked kinds of fact (time, money, count...) the run holds",
    "kind_fit_context": "the same for the run and the sentences around it",
    "names": "share of the question's names in the run's paragraph",
    "numbers": "share of the question's numbers in the run and around it",
    "attribute_asked": 'the question names what it asks about ("what was X\'s revenue")',
    "attribute_run": "share of that attribute's terms in the run",
    "attribute_context": "the same for the run and the sentences around it",
    "attribute_known": "share of that attribute's terms the corpus uses at all",
    "chunk_score": "the fused retrieval score of the run's chunk",
    "chunk_rank": "log(1 + rank of the run's chunk)",
    "doc_pool_share": "share of the retrieved chunks from the run's document",
    "run_words": "log(1 + words in the run)",
    "run_sentences": "sentences in the run",
    "position": "where the run sits in its document (0 first, 1 last)",
}

Unit = tuple[int, int]
_RUNS_KEPT = 50_000
_TERMS_KEPT = 20_000


@dataclass(frozen=True)
class Candidates:
    """The sentence runs found in a pool of ranked chunks, each with its best chunk's rank and score."""

    units: list[Unit]
    chunk_rank: np.ndarray
    chunk_score: np.ndarray
    chunk_doc: np.ndarray


def candidates(corpus: Corpus, pool: list[tuple[int, float]]) -> Candidates:
    """Runs overlapping the pool's chunks ((corpus chunk index, fused score), best first); headings and
    fragments that are not statements are left out."""
    seen: dict[Unit, int] = {}
    for rank, (chunk, _) in enumerate(pool):
        for i in corpus.chunk_sentences[chunk]:
            unit = corpus.units[int(i)]
            if unit not in seen and is_statement(corpus.sentence_text(unit[1])):
                seen[unit] = rank
    units = list(seen)
    ranks = np.array([seen[u] for u in units], dtype=np.float64)
    scores = np.array([pool[int(r)][1] for r in ranks], dtype=np.float64)
    docs = np.array([corpus.chunk_doc[pool[int(r)][0]] for r in ranks], dtype=np.int64)
    return Candidates(units, ranks, scores, docs)


class FeatureExtractor:
    """Computes RUN_FEATURES for the candidate runs of one question."""

    def __init__(self, corpus: Corpus):
        self._corpus = corpus
        # What depends on a run alone (its word count, the word pairs it holds) or on a term alone (the
        # sentences and documents using it) is kept: the same runs and terms come back question after
        # question. Bounded, since the snapshot is held for the process's life.
        self._per_run: dict[Unit, tuple[float, frozenset[tuple[str, str]]]] = {}
        self._per_term: dict[str, tuple[np.ndarray, set]] = {}

    def compute(
        self,
        focus: str,
        search: str,
        focus_vector: np.ndarray,
        search_vector: np.ndarray,
        found: Candidates,
        pool_docs: np.ndarray,
        global_similarity: dict[int, float],
    ) -> np.ndarray:
        c = self._corpus
        units = found.units
        n = len(units)
        if n == 0:
            return np.zeros((0, len(RUN_FEATURES)))
        need = profile(focus)
        focus_terms = list(dict.fromkeys(terms(focus)))
        search_terms = list(dict.fromkeys(terms(search)))
        ids = sorted({k for first, last in units for k in range(first, last + 1)})
        near = {u: c.neighbours(*u) for u in units}
        every = np.array(sorted(set(ids).union(*near.values())), dtype=np.int64)
        column = {s: j for j, s in enumerate(every.tolist())}
        vectors = c.sentence_vectors[every]
        sim_focus, sim_search = vectors @ focus_vector, vectors @ search_vector
        run_cols = [[column[k] for k in range(first, last + 1)] for first, last in units]
        near_cols = [[column[k] for k in near[u]] for u in units]
        dense = _group_max(sim_focus, run_cols)
        dense_search = _group_max(sim_search, run_cols)
        dense_context = _group_max(sim_focus, near_cols)

        focus_w, focus_has, focus_docs = self._term_table(focus_terms, every)
        search_w, search_has, _ = self._term_table(search_terms, every)
        in_run = _any_rows(focus_has, run_cols)
        in_near = in_run | _any_rows(focus_has, near_cols)
        docs = c.sentence_doc[[u[0] for u in units]]
        in_doc = np.array([[d in focus_docs[t] for t in range(len(focus_terms))] for d in docs], dtype=bool)
        in_doc = in_doc.reshape(n, len(focus_terms))
        attr_w, attr_has, attr_docs = self._term_table(need.attribute, every)
        attr_run = _any_rows(attr_has, run_cols)
        attr_near = attr_run | _any_rows(attr_has, near_cols)
        attr_known = float(np.mean([bool(docs) for docs in attr_docs])) if need.attribute else 1.0
        cover = _share(in_run, focus_w)
        cover_search = _share(_any_rows(search_has, run_cols), search_w)
        rarity = focus_w / c.max_idf
        missing = ~in_run
        missing_idf = np.where(missing, rarity, 0.0).max(axis=1, initial=0.0)
        missing_doc = np.where(~in_doc, rarity, 0.0).max(axis=1, initial=0.0)
        known = np.array([len(focus_docs[t]) > 0 for t in range(len(focus_terms))], dtype=bool)
        local = np.log((n + 1.0) / (in_run.sum(axis=0) + 0.5)) * focus_w
        cover_local = _share(in_run, local)
        missing_local = np.where(missing, local / (local.max(initial=0.0) or 1.0), 0.0).max(axis=1, initial=0.0)
        run_terms = [[t for k in range(first, last + 1) for t in c.sentence_term_list[k]] for first, last in units]
        per_run = [self._run_facts(u, t) for u, t in zip(units, run_terms)]
        bigrams = _bigram_share(focus_terms, [pairs for _, pairs in per_run], c)
        asked = set(focus_terms)
        novelty = np.array([1.0 - len(set(t) & asked) / len(set(t)) if t else 0.0 for t in run_terms])
        global_rank = _global_ranks(units, global_similarity)
        q_unknown = float(focus_w[~known].sum() / focus_w.sum()) if focus_terms else 0.0

        texts = [c.span_text(*u) for u in units]
        context = [" ".join([t] + [c.sentence_text(k) for k in near[u]]) for t, u in zip(texts, units)]
        kinds = sorted(need.kinds)
        kind_fit = np.array([_fit(t, kinds, need) for t in texts])
        kind_fit_context = np.array([_fit(t, kinds, need) for t in context])
        names = np.array([names_present(c.context_text(u[0]), need.names) for u in units])
        numbers = np.array([numbers_present(t, need.numbers) for t in context])
        doc_share = (found.chunk_doc[:, None] == pool_docs[None, :]).mean(axis=1) if pool_docs.size else np.zeros(n)
        run_words = np.log1p([count for count, _ in per_run])
        run_sentences = np.array([last - first + 1 for first, last in units], dtype=np.float64)
        position = c.sentence_position[[u[0] for u in units]].astype(np.float64)

        question = [np.log1p(len(focus_terms)), q_unknown, float(need.non_latin), float(search != focus)]
        question += [float(k in need.kinds) for k in KINDS]
        columns = [np.full(n, v) for v in question] + [
            dense,
            dense.max() - dense,
            np.log1p(ranks(dense) - 1),
            dense_search,
            dense_context,
            cover,
            cover.max() - cover,
            np.log1p(ranks(cover) - 1),
            cover_search,
            _share(in_near, focus_w),
            _share(in_doc, focus_w),
            cover_local,
            cover_local.max() - cover_local,
            missing_local,
            bigrams,
            novelty,
            np.log1p(global_rank),
            missing_idf,
            missing_doc,
            np.log1p(missing.sum(axis=1)),
            kind_fit,
            kind_fit_context,
            names,
            numbers,
            np.full(n, float(bool(need.attribute))),
            _share(attr_run, attr_w) if need.attribute else np.ones(n),
            _share(attr_near, attr_w) if need.attribute else np.ones(n),
            np.full(n, attr_known),
            found.chunk_score,
            np.log1p(found.chunk_rank),
            doc_share,
            run_words,
            run_sentences,
            position,
        ]
        return np.column_stack(columns)

    def _run_facts(self, unit: Unit, run_terms: list[str]) -> tuple[float, frozenset[tuple[str, str]]]:
        """The run's word count, and the term pairs it holds within a word of each other, either order."""
        facts = self._per_run.get(unit)
        if facts is None:
            if len(self._per_run) >= _RUNS_KEPT:
                self._per_run.clear()
            near = {(x, y) for gap in (1, 2) for x, y in zip(run_terms, run_terms[gap:])}
            near |= {(y, x) for x, y in near}
            facts = (float(len(words(self._corpus.span_text(*unit)))), frozenset(near))
            self._per_run[unit] = facts
        return facts

    def _term_table(self, query_terms: list[str], every: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[set]]:
        """Per term: its rarity weight, which of the sentences `every` use it, the documents that do."""
        c = self._corpus
        weights = np.array([c.idf(t) for t in query_terms], dtype=np.float64)
        has = np.zeros((len(every), len(query_terms)), dtype=bool)
        docs: list[set] = []
        for j, t in enumerate(query_terms):
            found, in_docs = self._term_sentences(t)
            if found.size:
                at = np.minimum(np.searchsorted(found, every), found.size - 1)
                has[:, j] = found[at] == every
            docs.append(in_docs)
        return weights, has, docs

    def _term_sentences(self, term: str) -> tuple[np.ndarray, set]:
        """The sentences using the term (sorted), and the documents they are in; kept per term."""
        kept = self._per_term.get(term)
        if kept is None:
            if len(self._per_term) >= _TERMS_KEPT:
                self._per_term.clear()
            found = self._corpus.sentences_with(term)
            kept = (found, set(np.unique(self._corpus.sentence_doc[found]).tolist()) if found.size else set())
            self._per_term[term] = kept
        return kept


def coverage(question_terms: list[str], text_terms: set[str] | frozenset[str], corpus: Corpus) -> float:
    """Rarity-weighted share of the question's terms found in a text of the corpus (0..1); a term
    counts as found when the text has a word matching it (see `Corpus.matches`)."""
    unique = list(dict.fromkeys(question_terms))
    if not unique:
        return 0.0
    weights = [corpus.idf(t) for t in unique]
    hit = sum(w for t, w in zip(unique, weights) if any(m in text_terms for m in corpus.matches(t)))
    return hit / sum(weights)


def _bigram_share(question: list[str], runs: list[frozenset[tuple[str, str]]], corpus: Corpus) -> np.ndarray:
    """Rarity-weighted share of the question's adjacent term pairs that the run has within a
    word of each other, in either order (each run's pairs from `FeatureExtractor._run_facts`): phrases
    ("peak time", "incubation period") matched."""
    pairs = list(dict.fromkeys(zip(question, question[1:])))
    if not pairs:
        return np.zeros(len(runs))
    weights = np.array([corpus.idf(a) + corpus.idf(b) for a, b in pairs])
    out = np.zeros(len(runs))
    for r, near in enumerate(runs):
        out[r] = sum(w for p, w in zip(pairs, weights) if p in near) / weights.sum()
    return out


def _global_ranks(units: list[Unit], similarity: dict[int, float]) -> np.ndarray:
    """Rank of each run's best sentence among the corpus-wide dense search's results (past its end:
    one more than the number of results)."""
    order = {s: r for r, s in enumerate(sorted(similarity, key=lambda s: -similarity[s]))}
    missing = len(order)
    return np.array(
        [min(order.get(k, missing) for k in range(first, last + 1)) for first, last in units], dtype=np.float64
    )


def _any_rows(has: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    """For each group of sentence columns: which terms any of them uses (n_groups x n_terms)."""
    member = np.zeros((len(groups), has.shape[0]))
    member[np.repeat(np.arange(len(groups)), [len(cols) for cols in groups]), _flat(groups)] = 1.0
    return (member @ has) > 0


def _group_max(values: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    """For each group of columns: the largest of `values` there (0 for an empty group)."""
    sizes = np.array([len(cols) for cols in groups], dtype=np.int64)
    out = np.zeros(len(groups), dtype=values.dtype)
    filled = sizes > 0
    if filled.any():
        starts = np.concatenate([[0], np.cumsum(sizes[filled])[:-1]])
        out[filled] = np.maximum.reduceat(values[_flat(groups)], starts)
    return out


def _flat(groups: list[list[int]]) -> np.ndarray:
    return np.fromiter((col for cols in groups for col in cols), dtype=np.int64)


def _share(present: np.ndarray, weights: np.ndarray) -> np.ndarray:
    total = weights.sum()
    if total <= 0:
        return np.zeros(len(present))
    return (present.astype(np.float64) @ weights) / total


def _fit(text: str, kinds: list[str], need: Profile) -> float:
    if not kinds:
        return 1.0
    return sum(holds(text, k, need) for k in kinds) / len(kinds)
