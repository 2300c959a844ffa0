"""How well the verifier's support rule separates right from wrong citations, on the golden set.

Each answerable golden case gives a pseudo-claim: its question's words plus its expected answer
("Who was Lei Jun's idol and mentor at Kingsoft Qiu Bojun"), a paraphrase-like claim that shares
only some words with the evidence. The rule should accept it against the evidence sentence run
(true accept) and reject it against every other run of the document (false accept: some other run
passes), and reject the claim with its numbers changed against the evidence.

    python bench/grounding.py
"""

import functools
import re
import tempfile
from dataclasses import replace
from pathlib import Path

import qa
from qa.answering.llm.verify import Grounding, Scorer
from qa.eval.golden import load_cases, normalise

ROOT = Path(__file__).resolve().parents[1]
RULES = {
    "default": Grounding(),
    "lexical only 0.6": replace(Grounding(), min_lexical_with_dense=2.0),
    "lexical 0.5": replace(Grounding(), min_lexical=0.5),
    "lexical 0.7": replace(Grounding(), min_lexical=0.7),
    "dense 0.85": replace(Grounding(), min_dense=0.85),
}


def _accepts(rule: Grounding, s) -> bool:
    return rule.supports(s.lexical, s.dense, s.numbers_ok)


def main() -> None:
    service = qa.load(index_dir=Path(tempfile.mkdtemp(prefix="bench-grounding-")))
    service.ingest()
    corpus = service.corpus()
    scorer = Scorer(corpus, service.embedder)
    units = list(dict.fromkeys(corpus.units))
    rows = []
    for case in load_cases(ROOT / "tests/golden/article.jsonl"):
        if not case.answerable or case.history:
            continue
        own = [u for u in units if normalise(case.evidence) in normalise(corpus.span_text(*u))]
        if not own:
            continue
        claim = f"{case.question.rstrip('?')} {case.answers[0]}"
        vector = scorer.vector(claim)
        right = scorer.support(claim, (own[0],), vector)
        others = [scorer.support(claim, (u,), vector) for u in units if u not in own]
        changed = re.sub(r"\d+", lambda m: str(int(m.group()) + 1), claim)
        wrong_number = scorer.support(changed, (own[0],)) if changed != claim else None
        rows.append((right, others, wrong_number))
    with_numbers = [w for _, _, w in rows if w is not None]
    print(f"{len(rows)} claims from the golden set, {len(with_numbers)} with numbers")
    print(f"{'rule':20}{'true accept':>14}{'false accept':>14}{'wrong number accepted':>24}")
    for name, rule in RULES.items():
        accepts = functools.partial(_accepts, rule)
        true = sum(accepts(r) for r, _, _ in rows) / len(rows)
        false = sum(any(accepts(o) for o in others) for _, others, _ in rows) / len(rows)
        numbers = sum(accepts(w) for w in with_numbers) / max(1, len(with_numbers))
        print(f"{name:20}{true:14.3f}{false:14.3f}{numbers:24.3f}")


if __name__ == "__main__":
    main()
