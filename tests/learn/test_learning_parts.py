"""The pieces of the training recipe: splits by document, generated unanswerable questions,
leave-out corpora and the threshold rules."""

from pathlib import Path

import pytest

from qa.learn.fit import (
    Decision,
    balanced_precision,
    decision_auc,
    threshold_for_budget,
    threshold_for_precision,
    threshold_for_promise,
)
from qa.learn.perturb import perturb, replacement_words
from qa.learn.questions import LabelledQuestion, golden_questions, leave_out, split_documents
from qa.text import terms


def test_splits_are_by_document_seeded_and_complete():
    docs = [f"d{i}" for i in range(50)]
    first, again = split_documents(docs, 13), split_documents(list(reversed(docs)), 13)
    assert first == again and set(first) == set(docs)
    assert sorted(first.values()).count("train") == 30 and sorted(first.values()).count("test") == 10


def test_leave_out_and_perturbations_are_unanswerable():
    q = LabelledQuestion(
        "q1",
        "What is the main cause of HIV-1 infection in children?",
        "covid",
        "train",
        "p.txt",
        spans=(("p.txt", 0, 10),),
    )
    (loo,) = leave_out([q])
    assert not loo.answerable and loo.leave_out == {"p.txt"} and loo.origin == "leave-out"
    own = set(terms(q.text)) | {"mother"}
    changed = perturb([q], lambda _: own, replacement_words(["How do camels spread MERS?"]), seed=3)
    assert changed and all(not c.answerable and c.origin == "perturbed" and c.text != q.text for c in changed)
    assert all(not set(terms(c.text)) <= own for c in changed), "the changed question uses a word the paper never does"


def test_golden_files_become_labelled_questions():
    cases = golden_questions(Path("tests/golden/article-dev.jsonl"), "seeds/lei-jun-xiaomi.txt", "dev")
    assert len(cases) == 25 and sum(not c.answerable for c in cases) == 4
    assert all(c.meta["file"] == "article-dev.jsonl" for c in cases)


def test_corpus_without_a_document_forgets_it(service):
    corpus = service.corpus()
    (source,) = corpus.documents
    empty = corpus.without({source})
    assert not empty.documents and not empty.sentences and len(empty) == 0
    assert not empty.knows("xiaomi") and corpus.knows("xiaomi")


def _decisions() -> list[Decision]:
    return [
        Decision(0.9, True, True, "a"),
        Decision(0.6, True, True, "a"),
        Decision(0.3, False, True, "a"),
        Decision(0.5, False, False, "a"),
        Decision(0.1, False, False, "a"),
    ]


def test_balanced_precision_weighs_classes_alike():
    d = _decisions()
    assert balanced_precision(d, 0.55) == 2 / 3 / (2 / 3 + 0)
    assert balanced_precision(d, 0.2) == (2 / 3) / (1.0 + 0.5)
    assert threshold_for_precision(d, 0.99) == 0.6


def test_decision_auc_ranks_right_answers_against_unanswerable_questions_only():
    right, wrong = Decision(0.7, True, True), Decision(0.95, False, True)  # an answerable question, wrong run
    refused = [Decision(0.5, False, False), Decision(0.8, False, False)]
    assert decision_auc([right, *refused]) == 0.5  # 0.7 outranks 0.5, not 0.8
    assert decision_auc([right, wrong, *refused]) == 0.5  # the wrong answer's probability does not count
    assert decision_auc([Decision(0.9, True, True), *refused]) == 1.0


def test_promise_threshold_is_the_middle_of_the_feasible_range():
    d = [Decision(0.9, True, True), Decision(0.8, True, True), Decision(0.2, False, False), Decision(0.4, False, False)]
    # every answerable right and every unanswerable refused: thresholds in (0.4, 0.8]; grid midpoints 0.6 only
    assert threshold_for_promise(d, accuracy=1.0, refusals=1.0) == pytest.approx(0.6)
    # half the unanswerable refused is enough: (0.2, 0.8] -> grid points 0.3 and 0.6 -> their middle
    assert threshold_for_promise(d, accuracy=1.0, refusals=0.5) == pytest.approx((0.3 + 0.6) / 2)
    assert threshold_for_promise([Decision(0.2, False, True)], accuracy=0.9, refusals=1.0) is None


def test_veto_budget_threshold_vetoes_at_most_its_share_of_right_answers():
    kept = [0.9, 0.5, 0.05, 0.3, 0.0123, 0.7, 0.2, 0.6, 0.8, 0.4]
    # 10% of 10: one right answer may be vetoed, the lowest; t is the next, rounded down to 3 decimals
    assert threshold_for_budget(kept, 0.10) == (0.05, 1)
    assert threshold_for_budget(kept, 0.02) == (0.012, 0)  # none may go: t sits at or below the lowest
    assert sum(p < threshold_for_budget(kept, 0.25)[0] for p in kept) <= 2
    assert threshold_for_budget([], 0.02) == (1.0, 0)


def test_document_terms_collects_each_documents_sentence_terms(service):
    corpus = service.corpus()
    (terms_of,) = corpus.document_terms().values()
    assert terms_of == set().union(*corpus.sentence_term_list) and "xiaomi" in terms_of
