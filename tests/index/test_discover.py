"""Finding files to ingest: links that lead out of a folder and special files are not read."""

import os

import pytest

from qa.apps.cli import main as cli
from qa.index.documents import discover


@pytest.fixture
def tree(tmp_path):
    docs, outside = tmp_path / "docs", tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    docs.mkdir()
    (outside / "secret.txt").write_text("The secret outside the folder is 42 apples.\n")
    (outside / "sub" / "inner.txt").write_text("An inner document outside the folder.\n")
    (docs / "real.txt").write_text("A real document inside the folder.\n")
    (docs / "inside.txt").symlink_to(docs / "real.txt")
    (docs / "link.txt").symlink_to(outside / "secret.txt")
    (docs / "dirlink").symlink_to(outside / "sub")
    os.mkfifo(docs / "pipe.txt")
    return docs


def test_links_out_of_the_folder_and_fifos_are_skipped(tree):
    files, errors, skipped = discover([tree])
    assert sorted(f.name for f in files) == ["inside.txt", "real.txt"] and not errors
    assert any("link.txt" in s and "outside" in s for s in skipped)
    assert any("dirlink" in s for s in skipped)
    assert any("pipe.txt" in s and "not a regular file" in s for s in skipped)


def test_follow_links_opts_in(tree):
    files, _, skipped = discover([tree], follow_links=True)
    assert sorted(f.name for f in files) == ["inner.txt", "inside.txt", "link.txt", "real.txt"]
    assert all("pipe.txt" in s for s in skipped)


def test_a_fifo_named_directly_is_a_clear_error(tree):
    _, errors, _ = discover([tree / "pipe.txt"])
    assert "not a regular file" in str(errors[0])


def test_cli_ingest_warns_and_does_not_index_the_outside_file(tree, tmp_path, capsys):
    index = str(tmp_path / "index")
    assert cli(["--index-dir", index, "ingest", str(tree)]) == 0
    err = capsys.readouterr().err
    assert "qa: warning: skipped" in err and "link.txt" in err
    assert cli(["--index-dir", index, "docs"]) == 0
    listed = capsys.readouterr().out
    assert "real.txt" in listed and "link.txt" not in listed and "secret" not in listed
