"""`qa eval` on a SQuAD-format file: its own collection, offsets-based retrieval metrics, SQuAD F1."""

import json
from pathlib import Path

import pytest

from qa.apps.cli import main
from qa.eval.squad import Question, f1, normalize_answer

MINI = Path("tests/golden/squad-mini.json")
KEYS = ["n", "hit@1", "hit@5", "mrr", "answer_recall", "f1", "citation_precision", "latency_p50_ms"]


def test_official_squad_normalisation_and_f1():
    assert normalize_answer("The  Cat, sat!") == "cat sat"
    assert f1("the cat sat on a mat", "A cat sat.") == pytest.approx(2 * (2 / 4) * 1 / (2 / 4 + 1))
    assert f1("Tomas Brandt", "tomas brandt") == 1.0
    assert f1("", "anything") == 0.0


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    index = tmp_path_factory.mktemp("squad-index")
    assert main(["--index-dir", str(index), "eval", str(MINI), "--json"]) == 0
    return index


def test_gold_spans_leave_out_the_whitespace_an_annotation_begins_or_ends_with():
    q = Question("1", "q?", "a.txt", [(" Seroconversion occurred ", 100), ("86%", 7), ("  ", 50)])
    assert q.spans == [(101, 124), (7, 10)], "a chunk stored without edge whitespace still covers the answer"


def test_squad_eval_reports_the_metrics_as_json(evaluated, capsys):
    assert main(["--index-dir", str(evaluated), "eval", str(MINI), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 5  # the unanswerable question is not scored
    for key in KEYS[1:-1]:
        assert 0.0 <= report[key] <= 1.0
    assert report["hit@5"] == 1.0 and report["mrr"] >= 0.8 and report["answer_recall"] >= 0.8
    assert report["citation_precision"] >= 0.8 and report["f1"] > 0.1
    assert report["latency_p50_ms"] > 0
    assert [q["id"] for q in report["questions"]] == ["2", "4", "6", "10", "12"]
    assert all(q["ms"] > 0 and q["rank"] in (1, 2, 3, 4, 5, None) for q in report["questions"])


def test_contexts_are_files_whose_offsets_match_the_gold_spans(evaluated):
    data = json.loads(MINI.read_text(encoding="utf-8"))
    folder = evaluated / "eval-texts" / "eval-squad-mini"
    for paragraph in (p for a in data["data"] for p in a["paragraphs"]):
        text = (folder / f"{paragraph['document_id']}.txt").read_text(encoding="utf-8")
        assert text == paragraph["context"]
        for qa in paragraph["qas"]:
            for answer in qa["answers"]:
                start = answer["answer_start"]
                assert text[start : start + len(answer["text"])] == answer["text"]


def test_squad_eval_leaves_the_users_collection_alone(evaluated, capsys):
    capsys.readouterr()
    assert main(["--index-dir", str(evaluated), "docs"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["--index-dir", str(evaluated), "--collection", "eval-squad-mini", "docs"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_table_output_and_limit(evaluated, capsys):
    assert main(["--index-dir", str(evaluated), "eval", str(MINI), "--limit", "2"]) == 0
    rows = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert rows["n"].strip() == "2" and set(KEYS) <= set(rows)


def test_unreadable_squad_file_is_one_error(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"data": [{"nope": 1}]}', encoding="utf-8")
    assert main(["--index-dir", str(tmp_path / "i"), "eval", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "not a readable SQuAD file" in err and "Traceback" not in err


def test_squad_eval_honours_the_model_option(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("QA_LLM_MODEL", raising=False)
    code = main(
        ["--index-dir", str(tmp_path / "index"), "eval", "tests/golden/squad-mini.json", "--model", "openai-compatible"]
    )
    assert code == 2
    assert "QA_LLM_MODEL is required with QA_MODEL=openai-compatible" in capsys.readouterr().err
