"""Citations of an LLM answer are verified, not trusted.

Each sentence of the answer is scored against the sentence runs of the prompt's excerpts it cites
(see prompt.py): lexically (rarity-weighted share of its content terms found there, every number it
states found there too) and densely (cosine of e5 vectors). Citations that do not support their
sentence are dropped; a sentence left without support gets the best supporting run of any excerpt
(post-hoc citation); a sentence nothing supports is left out of the answer. Citations are then
numbered by first use over exact corpus spans and scored by the evidence ranker, like the
extractive model's: how well a run supports a sentence decides whether it is cited, not its score.
"""

import logging
import re
from dataclasses import dataclass, fields

import numpy as np

from qa.answering.citations import CitationList
from qa.answering.llm.markers import parse
from qa.answering.llm.sentences import Claim, SentenceStream
from qa.eval.checks import TextOf, citation_holds, file_text
from qa.index.embedding import Embedder
from qa.query.corpus import Corpus
from qa.query.evidence import Ranking
from qa.query.features import coverage
from qa.reply import Reply
from qa.text import terms

log = logging.getLogger(__name__)

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CODE = re.compile(r"```.*?(```|$)|`[^`]*`", re.DOTALL)
_REFUSING = re.compile(
    r"\b(could ?n[o']t find|can ?n[o']t find|cannot find|unable to (find|answer)|no information|"
    r"not (mentioned|stated|specified|provided|given|found|contained|available|"
    r"in the (passages|documents|text|context))|"
    r"do(es)? not (say|mention|contain|provide|specify|state|include)|there is no mention)\b",
    re.IGNORECASE,
)

Unit = tuple[int, int]


@dataclass(frozen=True)
class Grounding:
    """When does a run of document sentences support an answer sentence? bench/grounding.py measures it.

    Lexical support alone is enough when most of the sentence's weighted terms are there; a
    paraphrase with fewer shared words needs a high dense similarity too. Numbers must match.
    """

    min_lexical: float = 0.6
    min_lexical_with_dense: float = 0.35
    min_dense: float = 0.88
    min_partial: float = 0.25

    def supports(self, lexical: float, dense: float, numbers_ok: bool) -> bool:
        if not numbers_ok:
            return False
        return lexical >= self.min_lexical or (lexical >= self.min_lexical_with_dense and dense >= self.min_dense)


@dataclass(frozen=True)
class Support:
    units: tuple[Unit, ...]
    lexical: float
    dense: float
    numbers_ok: bool


@dataclass
class VerifyStats:
    """What the verifier did to one answer (or, summed, to many)."""

    markers: int = 0  # citation numbers the LLM wrote
    kept: int = 0  # citations shown as the LLM wrote them
    dropped: int = 0  # citations removed: out of range, or not supporting their sentence
    repaired: int = 0  # cited sentences whose citation was replaced by a supporting excerpt's run
    added: int = 0  # uncited sentences given a supporting excerpt's run (post-hoc citation)
    sentences: int = 0
    unsupported_sentences: int = 0  # left out of the answer: nothing retrieved supports them
    refusals: int = 0  # sentences saying the documents do not hold the answer
    repeats: int = 0  # sentences the LLM had already written (small models loop)

    def add(self, other: "VerifyStats") -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def is_refusal(text: str) -> bool:
    return bool(_REFUSING.search(text))


def makes_no_claim(text: str) -> bool:
    """A lead-in ("The passage that discusses X is:") or a question (often the user's, echoed back)
    asserts nothing, however well its words match an excerpt; small models write both."""
    return text.rstrip().endswith((":", "：", "?", "？"))


class Scorer:
    """Support scores of answer sentences against corpus sentence runs."""

    def __init__(self, corpus: Corpus, embedder: Embedder, grounding: Grounding = Grounding()):
        self.corpus = corpus
        self.grounding = grounding
        self._embedder = embedder

    def support(self, text: str, units: tuple[Unit, ...], vector: np.ndarray | None = None) -> Support:
        """How well the runs together support the sentence (code in it is quoted, not claimed)."""
        c = self.corpus
        text = _CODE.sub(" ", text)
        ids = [k for first, last in units for k in range(first, last + 1)]
        unit_terms = set().union(*(c.sentence_term_list[k] for k in ids)) if ids else set()
        lexical = coverage(terms(text), unit_terms, c)
        vector = self.vector(text) if vector is None else vector
        dense = float(np.max(c.sentence_vectors[ids] @ vector)) if ids else 0.0
        stated = numbers(text)
        found = set().union(*(numbers(c.span_text(first, last)) for first, last in units)) if units else set()
        return Support(units, lexical, dense, stated <= found)

    def vector(self, text: str) -> np.ndarray:
        return self._embedder.embed_passages([_CODE.sub(" ", text)])[0]

    def holds(self, s: Support) -> bool:
        return self.grounding.supports(s.lexical, s.dense, s.numbers_ok)

    def best(self, text: str, candidates: list[Unit], vector: np.ndarray) -> Support | None:
        """The candidate run that supports the sentence best (supported first, then by score)."""
        scored = [self.support(text, (u,), vector) for u in dict.fromkeys(candidates)]
        return max(scored, key=lambda s: (self.holds(s), s.numbers_ok, s.lexical + s.dense), default=None)


class Verifier:
    """Verifies the claims of one answer in order, numbering the citations it keeps.

    `excerpts` holds the sentence runs of each numbered excerpt of the prompt (`excerpt_units`);
    `ranking` is the evidence ranker's for the same question, whose score of a run its citation carries.
    """

    def __init__(self, scorer: Scorer, excerpts: list[list[Unit]], cites: CitationList, ranking: Ranking):
        self._scorer = scorer
        self._excerpts = excerpts
        self._cites = cites
        self._evidence_scores = {(e.first, e.last): e.probability for e in ranking.evidence}
        self.stats = VerifyStats()
        self._said: set[str] = set()

    def verify(self, claim: Claim) -> list[int] | None:
        """The citation numbers to show with the sentence, or None to leave it out."""
        st = self.stats
        st.sentences += 1
        st.markers += len(claim.numbers)
        valid = [n for n in claim.numbers if 1 <= n <= len(self._excerpts)]
        st.dropped += len(claim.numbers) - len(valid)
        if claim.text.lower() in self._said:
            st.repeats += 1
            st.dropped += len(valid)
            return None
        self._said.add(claim.text.lower())
        if is_refusal(claim.text) or makes_no_claim(claim.text) or not terms(claim.text):
            st.refusals += is_refusal(claim.text)
            st.unsupported_sentences += not is_refusal(claim.text)
            st.dropped += len(valid)
            return None
        vector = self._scorer.vector(claim.text)
        cited = [s for s in (self._scorer.best(claim.text, self._excerpts[n - 1], vector) for n in valid) if s]
        partial = [s for s in cited if s.lexical >= self._scorer.grounding.min_partial and s.numbers_ok]
        together = self._scorer.support(claim.text, tuple(u for s in partial for u in s.units), vector)
        if partial and self._scorer.holds(together):
            st.kept += len(partial)
            st.dropped += len(valid) - len(partial)
            return [self._cite(s) for s in partial]
        every = [u for units in self._excerpts for u in units]
        best = self._scorer.best(claim.text, every, vector)
        st.dropped += len(valid)
        if best is None or not self._scorer.holds(best):
            st.unsupported_sentences += 1
            return None
        if valid:
            st.repaired += 1
        else:
            st.added += 1
        return [self._cite(best)]

    def _cite(self, s: Support) -> int:
        """Cite the supporting run with the evidence ranker's score of it, as the extractive model does;
        0.0 for a run the ranker did not weigh (it leaves headings and fragments out)."""
        first, last = s.units[0]
        return self._cites.cite(first, last, self._evidence_scores.get((first, last), 0.0))


def excerpt_units(corpus: Corpus, chunks: list) -> list[list[Unit]]:
    """For each numbered excerpt of the prompt (a retrieved chunk), the sentence runs it holds, in document order."""
    return [list(dict.fromkeys(corpus.units[i] for i in corpus.sentences_in(chunk))) for chunk in chunks]


def reply_problems(reply: Reply, scorer: Scorer, document_text: TextOf = file_text) -> list[str]:
    """Why the reply breaks the citation rules: numbers pointing at nothing or out of first-use
    order, offsets not matching the files, cited sentences their citations do not support."""
    problems = []
    by_number = {c.number: c for c in reply.citations}
    stream = SentenceStream()
    claims = stream.feed(parse(reply.answer)) + stream.close()
    seen = list(dict.fromkeys(n for claim in claims for n in claim.numbers))
    if seen != list(range(1, len(by_number) + 1)):
        problems.append(f"markers {seen} are not 1..{len(by_number)} by first use")
    for c in reply.citations:
        if not citation_holds(c, document_text):
            problems.append(f"[{c.number}] offsets do not match {c.source}")
    text = ""
    for claim in claims:
        text = f"{text} {claim.text}".strip()
        if not claim.numbers:
            continue  # a quoted run ("He ... He ... [1].") carries one marker at its end
        units = tuple(u for n in claim.numbers if n in by_number for u in _units_of(by_number[n], scorer.corpus))
        if not scorer.holds(scorer.support(text, units)):
            problems.append(f"not supported by {claim.numbers}: {text!r}")
        text = ""
    if text and reply.supported:
        problems.append(f"uncited sentence: {text!r}")
    return problems


def _units_of(citation, corpus: Corpus) -> list[Unit]:
    ks = [
        k
        for k, s in enumerate(corpus.sentences)
        if s.source == citation.source and citation.start <= s.start and s.end <= citation.end
    ]
    return [(ks[0], ks[-1])] if ks else []
