"""Incremental, crash-safe ingestion and clear errors for files that cannot be used."""

import shutil
from pathlib import Path

import pytest
from crashing import killed_at_commit

import qa

SEED = Path("seeds/lei-jun-xiaomi.txt")


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(SEED, folder / "article.txt")
    (folder / "notes.md").write_text(
        "# Notes\n\nThe meeting room is on the fourth floor. It seats twelve people.\n", encoding="utf-8"
    )
    return folder


def _counts(svc):
    store = svc._store
    return {kind: store._cols[kind].count() for kind in ("documents", "chunks", "sentences")}


def test_reingest_unchanged_changes_nothing(make_service, docs):
    svc = make_service(docs)
    first = svc.ingest()
    assert sorted(first.added) == sorted([str(docs / "article.txt"), str(docs / "notes.md")])
    before = _counts(svc)
    second = svc.ingest()
    assert second.added == [] and second.updated == [] and len(second.unchanged) == 2
    assert _counts(svc) == before


def test_changed_document_is_replaced_not_duplicated(make_service, docs):
    svc = make_service(docs)
    svc.ingest()
    note = docs / "notes.md"
    note.write_text(
        "# Notes\n\nThe meeting room moved to the ninth floor. It now seats forty people.\n", encoding="utf-8"
    )
    report = svc.ingest()
    assert report.updated == [str(note)]
    reply = svc.ask("Which floor is the meeting room on?")
    assert "ninth floor" in reply.answer
    sentences = svc._store.records("sentences", {d.content_hash for d in svc._store.documents().values()})
    assert not any("fourth floor" in t for t in sentences["texts"])
    assert _counts(svc)["documents"] == 2


WRAPPED = (
    "The meeting room moved to the ninth floor of the east building last spring, and\n"
    "it now seats forty people around one long table.\n\n"
    "Bookings are made through the front desk, which keeps the calendar for every\n"
    "room in the building and sends a reminder the day before each meeting.\n"
)


def test_a_hard_wrapped_document_split_line_by_line_is_split_anew(make_service, docs, monkeypatch):
    """An index made before hard-wrapped paragraphs were joined holds line fragments; the next ingest indexes
    such a document again (its digest includes the splitting rule), and leaves one-paragraph-a-line text alone."""
    note = docs / "notes.md"
    note.write_text(WRAPPED, encoding="utf-8")
    svc = make_service(docs)
    for module in ("qa.text", "qa.index.documents"):
        monkeypatch.setattr(f"{module}.hard_wrapped", lambda text: False)  # the rule before 2026-12-04
    svc.ingest()
    old = svc._store.records("sentences", {svc._store.documents()[str(note)].content_hash})["texts"]
    assert "it now seats forty people around one long table." in old
    monkeypatch.undo()
    report = svc.ingest()
    assert report.updated == [str(note)] and report.unchanged == [str(docs / "article.txt")]
    new = svc._store.records("sentences", {svc._store.documents()[str(note)].content_hash})["texts"]
    assert new == [WRAPPED.split("\n\n")[0], WRAPPED.split("\n\n")[1].strip()]
    assert svc.ingest().unchanged == sorted([str(docs / "article.txt"), str(note)])


def test_deleted_file_is_forgotten(make_service, docs):
    svc = make_service(docs)
    svc.ingest()
    (docs / "notes.md").unlink()
    report = svc.ingest()
    assert report.removed == [str(docs / "notes.md")]
    assert [d.source for d in svc.documents()] == [str(docs / "article.txt")]


def test_a_file_that_can_no_longer_be_read_leaves_the_index(make_service, docs):
    svc = make_service(docs)
    svc.ingest()
    (docs / "notes.md").write_bytes(b"\x00\x01 damaged")
    report = svc.ingest()
    assert report.removed == [str(docs / "notes.md")] and "looks binary" in str(report.errors[0])
    assert [d.source for d in svc.documents()] == [str(docs / "article.txt")]
    assert not svc.ask("Which floor is the meeting room on?").supported, "its old text must not be cited"


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("latin1.txt", "caf\xe9 cr\xe8me".encode("latin-1"), "not valid UTF-8"),
        ("binary.txt", b"\x00\x01\x02\x03binary", "looks binary"),
        ("empty.md", b"   \n", "empty document"),
    ],
)
def test_bad_files_are_reported_and_the_rest_is_indexed(make_service, docs, name, content, message):
    (docs / name).write_bytes(content)
    svc = make_service(docs)
    report = svc.ingest()
    assert len(report.errors) == 1 and message in str(report.errors[0])
    assert isinstance(report.errors[0], qa.DocumentError)
    assert len(report.added) == 2
    assert svc.ask("Who bought Joyo.com?").supported


def test_huge_file_is_refused(make_service, docs):
    (docs / "huge.txt").write_text("word " * 5000, encoding="utf-8")
    report = make_service(docs, max_file_bytes=10_000).ingest()
    assert any("over the limit" in str(e) for e in report.errors)


def test_index_builds_itself_on_first_use(make_service, docs):
    svc = make_service(docs)
    assert svc.ask("Who bought Joyo.com?").supported
    assert len(svc.documents()) == 2


def test_half_written_document_is_invisible_and_repaired(make_service, docs, monkeypatch):
    """A crash between writing a document's records and committing it must not show or linger."""
    svc = make_service(docs)
    svc.ingest()
    store = svc._store
    doc = qa.index.documents.read_document(docs / "notes.md", 10**6)
    orphan = qa.index.documents.Document(doc.source, doc.text.replace("fourth", "seventh"), doc.title, "", "f" * 64)
    from qa.index.ingestion import chunk_vectors
    from qa.index.store import EmbeddedDocument

    chunks, sentences = svc._ingestor._chunker.chunks(orphan), svc._ingestor._chunker.sentences(orphan)
    vectors = svc._embedder.embed_passages([s.text for s in sentences])
    with killed_at_commit(store, monkeypatch):
        store.write(EmbeddedDocument(orphan, chunks, chunk_vectors(chunks, sentences, vectors), sentences, vectors))
    fresh = make_service(docs)
    assert "seventh" not in fresh.ask("Which floor is the meeting room on?").answer
    assert fresh.ingest().repaired == len(chunks) + len(sentences)


def test_rebuild_starts_from_scratch(make_service, docs):
    svc = make_service(docs)
    svc.ingest()
    report = svc.ingest(rebuild=True)
    assert len(report.added) == 2 and _counts(svc)["documents"] == 2


def test_questions_can_be_restricted_to_chosen_documents(make_service, docs):
    svc = make_service(docs)
    svc.ingest()
    notes, article = str(docs / "notes.md"), str(docs / "article.txt")
    reply = svc.ask("Which floor is the meeting room on?", sources=[notes])
    assert reply.supported and {c.source for c in reply.citations} == {notes}
    assert not svc.ask("Which floor is the meeting room on?", sources=[article]).supported
    by_id = {d.source: d.id for d in svc.documents()}
    reply = svc.ask("Who bought Joyo.com?", sources=[by_id[article]])
    assert "Amazon" in reply.answer and {p.source for p in reply.passages} == {article}
    assert not svc.ask("Who bought Joyo.com?", sources=[notes]).supported
    with pytest.raises(qa.InvalidQuestion, match="No sources are selected"):
        svc.ask("Who bought Joyo.com?", sources=[])
    with pytest.raises(qa.InvalidQuestion, match="Not in the index: 'elsewhere.txt'"):
        svc.ask("Who bought Joyo.com?", sources=["elsewhere.txt"])
    with pytest.raises(qa.InvalidQuestion, match="must be a list"):
        svc.ask("Who bought Joyo.com?", sources=article)


def test_text_that_expands_past_the_limit_is_refused(make_service, tmp_path):
    from docx import Document

    folder = tmp_path / "expand"
    folder.mkdir()
    document = Document()
    document.add_paragraph("word " * 4000)
    document.save(folder / "bomb.docx")
    (folder / "long.txt").write_text("word " * 400)
    (folder / "short.txt").write_text("A short note that fits.\n")
    report = make_service(folder, max_text_chars=1000).ingest()
    assert report.added == [str(folder / "short.txt")]
    problems = sorted(str(e) for e in report.errors)
    assert "unpacks to" in problems[0] and "refused unread" in problems[0]
    assert "its text is 2000 characters, over the limit of 1000" in problems[1]
