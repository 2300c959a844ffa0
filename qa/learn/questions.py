"""Training and evaluation questions with their gold evidence, and document-level splits.

Two sources: SQuAD-format sets such as COVID-QA (gold answers are character spans of a paper) and
golden JSON Lines files about the bundled article (gold evidence is a text the answer must quote;
null when the article does not answer). Splits are made by document, never by question, so a
paper's questions are all in one split.
"""

import json
import random
from dataclasses import dataclass, field, replace
from pathlib import Path

from qa.eval.golden import load_cases
from qa.eval.squad import load_squad


@dataclass(frozen=True)
class LabelledQuestion:
    """A question, where its answer is (if anywhere), and how it was made.

    `spans` are (source, start, end) gold spans; `evidence` a text the answering run must contain;
    both empty when the corpus does not answer. `leave_out` names documents the question is asked
    without (the leave-the-gold-paper-out negatives). `origin` is "asked", "leave-out", "perturbed"
    or "written" (a hand-written unanswerable question).
    """

    id: str
    text: str
    domain: str
    split: str
    document: str
    history: tuple[dict, ...] = ()
    spans: tuple[tuple[str, int, int], ...] = ()
    evidence: str | None = None
    leave_out: frozenset[str] = frozenset()
    origin: str = "asked"
    kind: str = ""
    meta: dict = field(default_factory=dict, compare=False)

    @property
    def answerable(self) -> bool:
        return bool(self.spans) or self.evidence is not None


def split_documents(documents: list[str], seed: int, shares: tuple[float, float] = (0.6, 0.2)) -> dict[str, str]:
    """Each document to "train", "dev" or "test", by a seeded shuffle."""
    ordered = sorted(documents)
    random.Random(seed).shuffle(ordered)
    n_train = round(shares[0] * len(ordered))
    n_dev = round(shares[1] * len(ordered))
    return {d: "train" if i < n_train else "dev" if i < n_train + n_dev else "test" for i, d in enumerate(ordered)}


def squad_questions(
    path: Path, folder: Path, splits: dict[str, str] | None, seed: int
) -> tuple[list[LabelledQuestion], dict[str, str]]:
    """The answerable questions of a SQuAD file whose contexts live in `folder`, with their splits."""
    squad = load_squad(path, folder)
    documents = sorted({q.source for q in squad.questions})
    splits = splits or split_documents(documents, seed)
    out = [
        LabelledQuestion(
            f"squad-{q.id}",
            q.text,
            "covid",
            splits[q.source],
            q.source,
            spans=tuple((q.source, s, e) for s, e in q.spans),
        )
        for q in squad.questions
    ]
    return out, splits


def leave_out(questions: list[LabelledQuestion]) -> list[LabelledQuestion]:
    """Each answerable question asked against the corpus without its own document: unanswerable."""
    return [
        replace(q, id=f"{q.id}-loo", spans=(), evidence=None, leave_out=frozenset({q.document}), origin="leave-out")
        for q in questions
        if q.answerable
    ]


def golden_questions(path: Path, source: str, split: str, domain: str = "article") -> list[LabelledQuestion]:
    """The cases of a golden JSON Lines file about one document."""
    return [
        LabelledQuestion(
            c.id,
            c.question,
            domain,
            split,
            source,
            tuple(c.history),
            evidence=c.evidence,
            origin="asked" if c.answerable else "written",
            kind=c.kind,
            meta={"answers": c.answers, "file": path.name},
        )
        for c in load_cases(path)
    ]


def write_jsonl(rows: list[dict], path: Path) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
