"""SQuAD-format evaluation (e.g. COVID-QA): index the file's contexts in a collection of their own,
ask every question, and measure retrieval and answers against the gold answer spans.

Each context is written to `<folder>/<document_id>.txt` exactly as given, so gold offsets are
offsets into that file, and so are citation and chunk offsets: "a retrieved chunk covers the gold
answer" and "a citation overlaps the gold answer" are plain comparisons of character spans.
"""

import collections
import json
import re
import statistics
import string
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from qa.answering.citations import strip_markers
from qa.errors import QAError
from qa.reply import Reply
from qa.service import QAService
from qa.settings import Settings

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    source: str
    answers: list[tuple[str, int]]  # (text, start) in the source file

    @property
    def spans(self) -> list[tuple[int, int]]:
        """The gold spans without the whitespace some annotations begin or end with (" Seroconversion
        ..."): chunks and sentences are stored without their edge whitespace, so a passage that holds the
        whole answer text would otherwise not count as covering it."""
        return [
            (start + len(text) - len(text.lstrip()), start + len(text.rstrip()))
            for text, start in self.answers
            if text.strip()
        ]


@dataclass(frozen=True)
class SquadSet:
    contexts: dict[str, str]  # file name -> exact text
    questions: list[Question]


@dataclass
class Result:
    question: Question
    reply: Reply
    seconds: float
    rank: int | None  # 1-based rank of the first retrieved chunk covering a gold span


def is_squad(path: Path) -> bool:
    """A `.json` file (SQuAD) rather than golden JSON Lines."""
    return path.suffix.lower() == ".json"


def collection_for(path: Path) -> str:
    """The file's own collection, so evaluating never touches the user's index."""
    slug = re.sub(r"[^a-zA-Z0-9_-]+", "-", path.stem).strip("-_")[:30] or "squad"
    return f"eval-{slug}"


def evaluate_file(path: Path, settings: Settings, limit: int | None = None, progress: bool = False) -> list[Result]:
    """Index the file's contexts (incrementally: a rerun reuses them) and ask its questions."""
    collection = collection_for(path)
    folder = settings.index_dir / "eval-texts" / collection
    squad = load_squad(path, folder)
    write_contexts(squad, folder)
    own = settings.model_copy(update={"collection": collection, "documents": [folder], "auto_ingest": False})
    service = QAService.from_settings(own)
    service.ingest([folder], progress=progress)
    return run(service, squad.questions[:limit], progress)


def load_squad(path: Path, folder: Path) -> SquadSet:
    """Read a SQuAD v1/v2 file; answerable questions only; sources named as they will live in `folder`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
        contexts: dict[str, str] = {}
        questions = []
        for n, paragraph in enumerate(p for article in data for p in article["paragraphs"]):
            name = f"{paragraph.get('document_id', n)}.txt"
            contexts[name] = paragraph["context"]
            for qa in paragraph["qas"]:
                answers = [(a["text"], int(a["answer_start"])) for a in qa.get("answers") or []]
                if answers and not qa.get("is_impossible"):
                    questions.append(Question(str(qa["id"]), qa["question"], str(folder / name), answers))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise QAError(f"{path}: not a readable SQuAD file ({type(exc).__name__}: {exc})") from None
    return SquadSet(contexts, questions)


def write_contexts(squad: SquadSet, folder: Path) -> None:
    """Write each context as a UTF-8 file, byte-exact, leaving unchanged files untouched."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in squad.contexts.items():
        path = folder / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8", newline="")


def run(service: QAService, questions: list[Question], progress: bool = False) -> list[Result]:
    """Ask every question (top 5 passages) and find where the gold span was retrieved."""
    results = []
    if questions:
        service.ask(questions[0].text, top_k=5)  # loads the corpus snapshot: not part of any timing
    for q in tqdm(questions, desc="Asking", unit="question", disable=not progress):
        began = time.perf_counter()
        reply = service.ask(q.text, top_k=5)
        seconds = time.perf_counter() - began
        ranks = [n for n, p in enumerate(reply.passages, 1) if p.source == q.source and _covers(p, q.spans)]
        results.append(Result(q, reply, seconds, ranks[0] if ranks else None))
    return results


def _covers(passage, spans: list[tuple[int, int]]) -> bool:
    return any(passage.start <= s and e <= passage.end for s, e in spans)


def _overlaps(citation, spans: list[tuple[int, int]]) -> bool:
    return any(citation.start < e and s < citation.end for s, e in spans)


def metrics(results: list[Result]) -> dict[str, float]:
    """The SQuAD report: retrieval (hit@k, MRR), answers (recall, F1), citations, latency."""
    n = len(results)
    cited = [(r, c) for r in results for c in r.reply.citations]
    answered = [r for r in results if r.reply.supported]
    times = sorted(1000 * r.seconds for r in results)
    lengths = [len(answer_text(r.reply).split()) for r in answered]
    return {
        "n": n,
        "hit@1": _mean(r.rank == 1 for r in results),
        "hit@5": _mean(r.rank is not None for r in results),
        "mrr": _mean(1 / r.rank if r.rank else 0.0 for r in results),
        "answer_recall": _mean(_recalled(r) for r in results),
        "f1": _mean(max(f1(answer_text(r.reply), t) for t, _ in r.question.answers) for r in results),
        "citation_precision": _mean(c.source == r.question.source and _overlaps(c, r.question.spans) for r, c in cited)
        if cited
        else 1.0,
        "answered": _mean(r.reply.supported for r in results),
        "answer_words_median": float(statistics.median(lengths)) if lengths else 0.0,
        "latency_p50_ms": statistics.median(times) if times else 0.0,
        "latency_p95_ms": times[min(n - 1, round(0.95 * (n - 1)))] if times else 0.0,
    }


def per_question(results: list[Result]) -> list[dict]:
    """One row per question for `--json`: timing, where the gold span ranked, the answer's F1."""
    return [
        {
            "id": r.question.id,
            "ms": round(1000 * r.seconds, 1),
            "rank": r.rank,
            "supported": r.reply.supported,
            "f1": round(max(f1(answer_text(r.reply), t) for t, _ in r.question.answers), 3),
        }
        for r in results
    ]


def answer_text(reply: Reply) -> str:
    """The answer without citation markers; empty for a refusal."""
    return strip_markers(reply.answer) if reply.supported else ""


def _recalled(result: Result) -> bool:
    answer = normalize_answer(answer_text(result.reply))
    return bool(answer) and any(normalize_answer(t) in answer for t, _ in result.question.answers)


def normalize_answer(text: str) -> str:
    """The official SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def f1(prediction: str, gold: str) -> float:
    """The official SQuAD token F1 between a prediction and one gold answer."""
    pred, truth = normalize_answer(prediction).split(), normalize_answer(gold).split()
    common = sum((collections.Counter(pred) & collections.Counter(truth)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(truth)
    return 2 * precision * recall / (precision + recall)


def _mean(values) -> float:
    items = [float(v) for v in values]
    return sum(items) / len(items) if items else 0.0
