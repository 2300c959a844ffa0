"""Uploaded files: the kind comes from the bytes, the name is made safe, a file is written whole or not at all."""

import io
import zipfile

import pytest

from qa.errors import DocumentError
from qa.index.uploads import UploadFolder, safe_name, sniff_suffix


def _docx() -> bytes:
    from docx import Document

    out = io.BytesIO()
    document = Document()
    document.add_paragraph("The meeting room is on the fourth floor.")
    document.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    "data, name, suffix",
    [
        (b"%PDF-1.7\n...", "scan.txt", ".pdf"),
        (b"<!DOCTYPE html><html><body>x</body></html>", "page.pdf", ".html"),
        (b"\xef\xbb\xbf  <!-- c --> <html lang=en>", "page", ".html"),
        (b"# Title\n\nText.", "notes.md", ".md"),
        (b"# Title\n\nText.", "notes.pdf", ".txt"),
        (b"plain words", "", ".txt"),
    ],
)
def test_the_kind_comes_from_the_bytes_not_the_name(data, name, suffix):
    assert sniff_suffix(data, name) == suffix


def test_a_word_document_is_recognised_and_other_zips_are_refused():
    assert sniff_suffix(_docx(), "report.pdf") == ".docx"
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("evil.sh", "rm -rf /")
    with pytest.raises(DocumentError, match="a ZIP archive that is not a Word"):
        sniff_suffix(other.getvalue(), "report.docx")


@pytest.mark.parametrize(
    "data, words",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary content"),
        (b"caf\xe9 au lait", "not valid UTF-8 text \\(byte 3\\)"),
    ],
)
def test_other_content_is_refused_with_the_reason(data, words):
    with pytest.raises(DocumentError, match=words):
        sniff_suffix(data, "x.txt")


@pytest.mark.parametrize(
    "name, expected",
    [
        ("../../etc/passwd", "passwd.txt"),
        ("/abs/path/report.final.md", "report.final.txt"),
        ("C:\\Users\\me\\notes.md", "notes.txt"),
        ("\x00\x1b[31mred\u202e.md", "31mred.txt"),
        ("..", "upload.txt"),
        ("", "upload.txt"),
        ("a b (1).md", "a b (1).txt"),
        ("x" * 300 + ".md", "x" * 100 + ".txt"),
        ("rm -rf $(whoami);.md", "rm -rf _(whoami).txt"),
    ],
)
def test_names_become_plain_file_names(name, expected):
    assert safe_name(name, ".txt") == expected


def test_saving_reuses_identical_bytes_and_suffixes_different_ones(tmp_path):
    folder = UploadFolder(tmp_path / "uploads")
    first = folder.save("notes.md", b"one")
    assert first == tmp_path / "uploads/notes.md" and first.read_bytes() == b"one"
    assert folder.save("../notes.md", b"one") == first
    second = folder.save("notes.md", b"two")
    assert second == tmp_path / "uploads/notes-2.md" and second.read_bytes() == b"two"
    assert sorted(p.name for p in (tmp_path / "uploads").iterdir()) == ["notes-2.md", "notes.md"]
    with pytest.raises(DocumentError, match="the file is empty"):
        folder.save("empty.txt", b"")


def test_discard_only_touches_its_own_folder(tmp_path):
    folder = UploadFolder(tmp_path / "uploads")
    kept = folder.save("a.txt", b"a")
    outside = tmp_path / "a.txt"
    outside.write_text("mine")
    folder.discard(outside)
    assert outside.exists()
    folder.discard(kept)
    assert not kept.exists()


def test_add_files_indexes_the_good_ones_and_leaves_nothing_of_the_bad(make_service, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "base.txt").write_text("The library opens at nine in the morning.\n")
    service = make_service(docs, upload_dir=tmp_path / "uploads")
    service.ingest()
    report = service.add_files(
        [
            ("notes.md", b"The meeting room is on the fourth floor. It seats twelve.\n"),
            ("scan.pdf", b"%PDF-1.4 not really"),
            ("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF"),
        ]
    )
    assert report.added == [str(tmp_path / "uploads/notes.md")]
    assert [str(e).split(":")[0] for e in report.errors] == ["photo.jpg", str(tmp_path / "uploads/scan.pdf")]
    assert sorted(p.name for p in (tmp_path / "uploads").iterdir()) == ["notes.md"]
    reply = service.ask("Which floor is the meeting room on?")
    assert reply.supported and reply.citations[0].source == str(tmp_path / "uploads/notes.md")

    assert service.remove(tmp_path / "uploads/notes.md")
    assert not (tmp_path / "uploads/notes.md").exists(), "a removed upload is deleted"
    assert service.remove(docs / "base.txt") and (docs / "base.txt").exists(), "the user's own files stay"
    with pytest.raises(DocumentError, match="the limit is 20"):
        service.add_files([("x.txt", b"x")] * 21)
