"""Notebooks in the library: separate collections and upload folders, owners, persistence, read-only sharing."""

import pytest

import qa
from qa.notebooks import DEFAULT_ID, NotebookNotFound, Notebooks
from qa.query.record_cache import CACHE_FOLDER, SUFFIX

NOTES = b"# Office\n\nThe meeting room is on the fourth floor. It seats twelve people.\n"


def test_notebooks_keep_documents_apart_and_survive_a_new_process(make_service, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "base.txt").write_text("The library opens at nine in the morning.\n")
    main = make_service(docs, upload_dir=tmp_path / "uploads")
    main.ingest()
    books = Notebooks({"extractive": main})
    office = books.create("  Office\x00 notes ")
    assert office.name == "Office notes" and [b.id for b in books.list()] == [DEFAULT_ID, office.id]
    report = books.writable(office.id).add_files([("notes.md", NOTES)])
    assert report.added == [str(tmp_path / "uploads" / office.id / "notes.md")]
    assert books.services(office.id)["extractive"].ask("Which floor is the meeting room on?").supported
    assert not main.ask("Which floor is the meeting room on?").supported

    again = Notebooks(
        {"extractive": qa.load(index_dir=tmp_path / "index", documents=[docs], upload_dir=tmp_path / "uploads")}
    )
    assert [(b.id, b.name) for b in again.list()][1:] == [(office.id, "Office notes")]
    assert again.rename(office.id, "Office").name == "Office"
    assert [d.source for d in again.services(office.id)["extractive"].documents()] == report.added
    cached = tmp_path / "index" / CACHE_FOLDER / f"{main.settings.collection}-{office.id}"
    assert list(cached.glob(f"*{SUFFIX}")), "the notebook's records were cached when it answered"
    again.delete(office.id)
    assert [b.id for b in again.list()] == [DEFAULT_ID]
    assert not (tmp_path / "uploads" / office.id).exists()
    assert not cached.exists(), "a deleted notebook's cached records are gone"
    with pytest.raises(NotebookNotFound):
        again.services(office.id)


def test_owners_see_only_their_own_and_the_shared_one_can_be_read_only(service):
    books = Notebooks({"extractive": service}, default_read_only=True)
    ann = books.create("Ann's", user="ann")
    assert [b.id for b in books.list("bob")] == [DEFAULT_ID]
    for action in (
        lambda: books.services(ann.id, "bob"),
        lambda: books.delete(ann.id, "bob"),
        lambda: books.rename(ann.id, "mine", "bob"),
    ):
        with pytest.raises(NotebookNotFound):
            action()
    with pytest.raises(qa.InvalidQuestion, match="shared notebook cannot be changed"):
        books.writable(DEFAULT_ID, "ann")
    with pytest.raises(qa.InvalidQuestion, match="cannot be renamed or deleted"):
        books.delete(DEFAULT_ID, "ann")
    with pytest.raises(qa.InvalidQuestion, match="needs a name"):
        books.create("   ", "ann")
    books.delete(ann.id, "ann")
