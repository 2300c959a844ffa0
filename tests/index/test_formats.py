"""HTML, PDF and DOCX documents: extracted, indexed and cited by offsets into the extracted text;
`qa docs`, `qa remove` and separate collections."""

import docx
import pytest
from fpdf import FPDF

from qa.apps.cli import main
from qa.eval.checks import citation_holds
from qa.index.readers import extract_text


def _pdf(path, pages):
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    pdf.output(str(path))


def _docx(path, heading, paragraphs):
    document = docx.Document()
    document.add_heading(heading, 1)
    for text in paragraphs:
        document.add_paragraph(text)
    document.save(str(path))


@pytest.fixture
def mixed(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    _pdf(
        folder / "lighthouse.pdf",
        [
            "The lighthouse keeper is named Oskar Lind. He has kept the light since 1987.",
            "The lamp of the lighthouse burns paraffin.",
        ],
    )
    _docx(
        folder / "ferry.docx",
        "Harbour notes",
        ["The ferry leaves the harbour at 7:15 every morning.", "It carries forty cars."],
    )
    (folder / "bakery.html").write_text(
        "<html><head><title>Bakery</title><style>p {color: red}</style></head><body><h1>Bakery</h1>"
        "<p>The bakery on Mill Street is run by <b>Greta Holm</b>.</p><script>var x = 1;</script></body></html>",
        encoding="utf-8",
    )
    (folder / "notes.txt").write_text("The village well was dug in 1820.\n", encoding="utf-8")
    return folder


def test_extraction_keeps_visible_text_only(mixed):
    html = extract_text(mixed / "bakery.html")
    assert html == "Bakery\nThe bakery on Mill Street is run by Greta Holm."
    assert extract_text(mixed / "lighthouse.pdf").count("\n\n") == 1  # one blank line between pages
    assert extract_text(mixed / "ferry.docx").startswith("Harbour notes\n\nThe ferry leaves")


@pytest.mark.parametrize(
    "question, expected, source",
    [
        ("Who is the lighthouse keeper?", "Oskar Lind", "lighthouse.pdf"),
        ("How many cars does the ferry carry?", "forty cars", "ferry.docx"),
        ("Who runs the bakery on Mill Street?", "Greta Holm", "bakery.html"),
    ],
)
def test_rich_documents_are_cited_by_offsets_into_their_extracted_text(make_service, mixed, question, expected, source):
    svc = make_service(mixed)
    report = svc.ingest()
    assert len(report.added) == 4 and not report.errors
    reply = svc.ask(question)
    assert reply.supported and expected in reply.answer
    cited = reply.citations[0]
    assert cited.source == str(mixed / source)
    assert citation_holds(cited, svc.document_text)
    assert svc.document_text(cited.source) == extract_text(mixed / source)


def test_unreadable_pdf_is_reported_and_the_rest_indexed(make_service, mixed):
    (mixed / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    report = make_service(mixed).ingest()
    assert len(report.errors) == 1 and "broken.pdf: cannot extract text" in str(report.errors[0])
    assert len(report.added) == 4


def test_unchanged_rich_documents_are_skipped(make_service, mixed):
    svc = make_service(mixed)
    svc.ingest()
    again = svc.ingest()
    assert len(again.unchanged) == 4 and not again.added and not again.updated


def test_docs_lists_details_and_remove_forgets(tmp_path, mixed, capsys):
    index = str(tmp_path / "cli-index")
    assert main(["--index-dir", index, "ingest", str(mixed)]) == 0
    capsys.readouterr()
    assert main(["--index-dir", index, "docs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    source, chunks, sentences, digest, when, title = lines[0].split("\t")
    assert source == str(mixed / "bakery.html") and chunks == "1 chunks" and sentences == "2 sentences"
    assert digest.startswith("sha256:") and when[:2] == "20" and title == "Bakery"
    assert main(["--index-dir", index, "docs", "--text", str(mixed / "bakery.html")]) == 0
    assert capsys.readouterr().out.startswith("Bakery\nThe bakery on Mill Street")
    assert main(["--index-dir", index, "remove", str(mixed / "ferry.docx")]) == 0
    assert capsys.readouterr().out.strip() == f"removed: {mixed / 'ferry.docx'}"
    assert main(["--index-dir", index, "remove", "nowhere.txt"]) == 2
    captured = capsys.readouterr()
    assert "not indexed: nowhere.txt" in captured.out and "Traceback" not in captured.err
    main(["--index-dir", index, "docs"])
    assert "ferry.docx" not in capsys.readouterr().out
    main(["--index-dir", index, "ask", "How many cars does the ferry carry?"])
    assert "forty cars" not in capsys.readouterr().out


def test_collections_keep_corpora_apart(tmp_path, mixed, capsys):
    index = str(tmp_path / "cli-index")
    assert main(["--index-dir", index, "--collection", "village", "ingest", str(mixed / "notes.txt")]) == 0
    assert main(["--index-dir", index, "--collection", "harbour", "ingest", str(mixed / "ferry.docx")]) == 0
    capsys.readouterr()
    main(["--index-dir", index, "--collection", "village", "docs"])
    assert capsys.readouterr().out.split("\t")[0] == str(mixed / "notes.txt")
    main(["--index-dir", index, "--collection", "harbour", "ask", "When was the village well dug?"])
    assert "1820" not in capsys.readouterr().out
    main(["--index-dir", index, "--collection", "village", "ask", "When was the village well dug?"])
    assert "1820" in capsys.readouterr().out


def test_golden_eval_of_rich_documents_checks_offsets_in_their_extracted_text(make_service, mixed, tmp_path):
    """`qa eval` on a golden file whose answers cite a PDF and an HTML page: the offset check reads the
    extracted text the index keeps, not the binary file (it used to crash or call every citation broken)."""
    import json

    from qa.eval.golden import evaluate, load_cases

    golden = tmp_path / "rich.jsonl"
    golden.write_text(
        "".join(
            json.dumps(c) + "\n"
            for c in [
                {
                    "id": "pdf",
                    "question": "Who is the lighthouse keeper?",
                    "answers": ["Oskar Lind"],
                    "evidence": "The lighthouse keeper is named Oskar Lind",
                },
                {
                    "id": "html",
                    "question": "Who runs the bakery on Mill Street?",
                    "answers": ["Greta Holm"],
                    "evidence": "run by Greta Holm",
                },
            ]
        ),
        encoding="utf-8",
    )
    svc = make_service(mixed)
    svc.ingest()
    report = evaluate(svc, load_cases(golden))
    assert {c.source.rsplit(".", 1)[1] for o in report.outcomes for c in o.reply.citations} == {"pdf", "html"}
    assert report.metrics["offsets_ok"] == 1.0
