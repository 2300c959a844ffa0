"""Golden-answer evaluation: run cases through the public API and measure what users care about.

A golden file is JSON Lines; each case has `question`, optional `history`, `answers` (any one
must appear in the answer) and `evidence` (text a citation must contain; null when the documents
do not answer, in which case the reply must be a refusal).
"""

import json
import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import QAError
from qa.eval.checks import TextOf, file_text, offsets_hold
from qa.reply import Reply
from qa.service import QAService

THRESHOLDS = {"answer_accuracy": 0.9, "citation_precision": 0.95, "refusal_accuracy": 1.0}


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    question: str
    history: list[dict]
    answers: list[str]
    evidence: str | None

    @property
    def answerable(self) -> bool:
        return self.evidence is not None


@dataclass
class Outcome:
    """One case's reply and verdicts."""

    case: Case
    reply: Reply
    seconds: float
    correct: bool
    relevant_citations: int
    retrieved: bool
    offsets_ok: bool


@dataclass
class Report:
    outcomes: list[Outcome]
    metrics: dict[str, float] = field(default_factory=dict)
    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)

    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.correct]

    def passed(self) -> bool:
        return all(self.metrics.get(k, 0.0) >= v for k, v in THRESHOLDS.items()) and self.metrics["offsets_ok"] == 1.0


def load_cases(path: Path) -> list[Case]:
    """Read a golden JSONL file; a malformed line is a QAError naming the line."""
    cases = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QAError(f"Cannot read golden file {path}: {exc}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            cases.append(
                Case(
                    str(raw.get("id", n)),
                    str(raw.get("kind", "")),
                    raw["question"],
                    list(raw.get("history") or []),
                    list(raw.get("answers") or []),
                    raw.get("evidence"),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise QAError(f"{path}:{n}: not a golden case ({exc})") from None
    return cases


def normalise(text: str) -> str:
    """Lower case, straight quotes, single spaces: containment should not hinge on typography."""
    text = text.lower().replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"\s+", " ", text).strip()


def judge(case: Case, reply: Reply, seconds: float, document_text: TextOf = file_text) -> Outcome:
    """The verdicts on one reply; offsets are checked against `document_text` (the service's, for
    PDF, HTML and DOCX sources)."""
    answer = normalise(reply.answer)
    evidence = normalise(case.evidence or "")
    if case.answerable:
        correct = reply.supported and any(normalise(a) in answer for a in case.answers)
        relevant = sum(1 for c in reply.citations if evidence in normalise(c.text))
        retrieved = any(evidence in normalise(p.text) for p in reply.passages)
    else:
        correct, relevant, retrieved = (not reply.supported and not reply.citations), 0, True
    return Outcome(case, reply, seconds, correct, relevant, retrieved, offsets_hold(reply.citations, document_text))


def evaluate(service: QAService, cases: list[Case]) -> Report:
    """Ask every case and compute the metrics, overall and by kind."""
    outcomes = []
    for case in cases:
        began = time.perf_counter()
        reply = service.ask(case.question, history=case.history)
        outcomes.append(judge(case, reply, time.perf_counter() - began, service.document_text))
    report = Report(outcomes, metrics(outcomes))
    for kind in sorted({o.case.kind for o in outcomes}):
        report.by_kind[kind] = metrics([o for o in outcomes if o.case.kind == kind])
    return report


def metrics(outcomes: list[Outcome]) -> dict[str, float]:
    answerable = [o for o in outcomes if o.case.answerable]
    unanswerable = [o for o in outcomes if not o.case.answerable]
    cited = [c for o in answerable for c in o.reply.citations]
    return {
        "cases": len(outcomes),
        "answer_accuracy": _share(o.correct for o in answerable),
        "citation_precision": (sum(o.relevant_citations for o in answerable) / len(cited)) if cited else 1.0,
        "evidence_cited": _share(o.relevant_citations > 0 for o in answerable),
        "evidence_hit@k": _share(o.retrieved for o in answerable),
        "refusal_accuracy": _share(o.correct for o in unanswerable),
        "false_refusals": _share(not o.reply.supported for o in answerable) if answerable else 0.0,
        "offsets_ok": _share(o.offsets_ok for o in outcomes),
        "latency_p50_ms": 1000 * statistics.median(o.seconds for o in outcomes) if outcomes else 0.0,
    }


def _share(flags: object) -> float:
    values = list(flags)  # type: ignore[call-overload]
    return sum(1 for v in values if v) / len(values) if values else 1.0
