"""The `qa` command: ask, chat, eval, docs and ingest, in this process and as a real console script."""

import json
import subprocess
import sys

import pytest

from qa.apps.cli import main


@pytest.fixture
def index_args(service):
    return ["--index-dir", str(service.settings.index_dir)]


def test_ask_prints_answer_and_citation(index_args, capsys):
    assert main(index_args + ["ask", "When did Xiaomi's market value pass HK$1 trillion?"]) == 0
    out = capsys.readouterr().out
    assert "February 4" in out and "[1] seeds/lei-jun-xiaomi.txt, chars" in out


def test_ask_json_shape(index_args, capsys):
    assert main(index_args + ["ask", "--json", "--top-k", "3", "Who bought Joyo.com?"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"answer", "supported", "citations"} and data["supported"] is True
    assert set(data["citations"][0]) == {"number", "text", "source", "start", "end", "score"}


def test_refusal_and_bad_question(index_args, capsys):
    assert main(index_args + ["ask", "What was Xiaomi's revenue in 2023?"]) == 0
    assert "could not find" in capsys.readouterr().out
    assert main(index_args + ["ask", "   "]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["qa: error: The question is empty. Type a question about the documents."]


def test_chat_follows_up(index_args, capsys, monkeypatch):
    answers = iter(["Who founded Joyo.com?", "And who ended up buying it?", ""])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    assert main(index_args + ["chat"]) == 0
    assert "Amazon" in capsys.readouterr().out


def test_eval_passes_thresholds(index_args, capsys):
    assert main(index_args + ["eval", "--json", "tests/golden/article.jsonl"]) == 0
    metrics = json.loads(capsys.readouterr().out)["metrics"]
    assert metrics["answer_accuracy"] >= 0.9 and metrics["refusal_accuracy"] == 1.0


def test_docs_lists_the_article(index_args, capsys):
    assert main(index_args + ["docs"]) == 0
    assert "seeds/lei-jun-xiaomi.txt" in capsys.readouterr().out


def test_rebuild_sets_a_corrupt_index_aside(tmp_path, capsys):
    index = tmp_path / "index"
    index.mkdir()
    (index / "chroma.sqlite3").write_bytes(b"garbage" * 100)
    assert main(["--index-dir", str(index), "ingest", "--rebuild"]) == 0
    assert "moved it to" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("index.broken-")]


def test_console_script_runs_in_a_real_process(service):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "qa.apps.cli",
            "--index-dir",
            str(service.settings.index_dir),
            "ask",
            "--json",
            "Who bought Joyo.com?",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Amazon" in json.loads(done.stdout)["answer"]
