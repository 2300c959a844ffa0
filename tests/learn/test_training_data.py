"""The written training questions (`training/*.jsonl`) agree with the documents they were written about:
a label that points at text the document does not hold would silently teach the models nothing."""

from pathlib import Path

import pytest

from qa.eval.golden import load_cases, normalise

TRAINING = Path("training")
ARTICLE = Path("seeds/lei-jun-xiaomi.txt")


def _document(questions: Path) -> Path:
    """`article-train*.jsonl` is about the bundled article; `<name>-train*.jsonl` about `corpora/<name>*`."""
    name = questions.name.split("-train")[0]
    if name == "article":
        return ARTICLE
    [document] = sorted((TRAINING / "corpora").glob(f"{name}*"))
    return document


FILES = sorted(TRAINING.glob("*-train*.jsonl"))


def test_every_question_file_has_its_document():
    assert FILES, "the written training questions are in training/"
    assert all(_document(f).is_file() for f in FILES)


@pytest.mark.parametrize("questions", FILES, ids=lambda p: p.name)
def test_answers_sit_in_their_evidence_and_the_evidence_in_the_document(questions):
    text = normalise(_document(questions).read_text(encoding="utf-8"))
    for case in load_cases(questions):
        if case.evidence is None:
            assert not case.answers, f"{case.id}: answers without the evidence that states them"
            continue
        evidence = normalise(case.evidence)
        assert evidence in text, f"{case.id}: evidence not in the document: {case.evidence[:60]!r}"
        assert case.answers and all(normalise(a) in evidence for a in case.answers), (
            f"{case.id}: answer outside evidence"
        )


def test_question_ids_are_unique_across_files():
    ids = [case.id for f in FILES for case in load_cases(f)]
    assert len(ids) == len(set(ids))
