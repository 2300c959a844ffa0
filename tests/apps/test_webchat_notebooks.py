"""Notebooks and uploads in a real browser against the real server: make a notebook, drop a PDF and a DOCX
made here, ask what only they say, untick and remove sources, switch notebooks, restart the server."""

import pytest
from conftest import _chat_process, copy_index
from docx import Document
from fpdf import FPDF
from playwright.sync_api import expect, sync_playwright
from test_webchat_browser import CHROMIUM, FLAGS, ask

expect.set_options(timeout=30_000)


def _pdf(path):
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 8, "Field notes. The greenhouse on Lantern Street grows saffron crocuses every autumn.")
    path.write_bytes(bytes(pdf.output()))
    return path


def _docx(path):
    document = Document()
    document.add_paragraph("Tower history. The observatory telescope was built in 1911 by the Halden brothers.")
    document.save(path)
    return path


def _open(page, url: str) -> None:
    """Open the chat and wait for its page-load event, which fills the documents line: a click before that
    races the load's own update of the notebook list, which then rejects the new notebook's id."""
    page.goto(url)
    expect(page.locator("#qa-docs")).to_contain_text("Answering from 1 document")


def _choose(page, dropdown: str, option: str) -> None:
    page.click(f"{dropdown} input")
    page.locator("[role=listbox] [role=option]", has_text=option).first.click()


@pytest.fixture
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.mark.slow
def test_notebook_with_uploaded_documents_survives_a_restart(
    browser, tmp_path_factory, tmp_path, request, bundled_index
):
    folder = tmp_path_factory.mktemp("notebook-server")
    copy_index(bundled_index, folder)
    server = _chat_process(folder, {})
    url = next(server)
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    _open(page, url)
    page.fill("#qa-notebook-name textarea", "Field notes")
    page.click("#qa-notebook-new")
    expect(page.locator("#qa-notebook input")).to_have_value("Field notes")
    expect(page.locator("#qa-docs")).to_contain_text("This notebook is empty")

    page.set_input_files("#qa-upload input[type=file]", [_pdf(tmp_path / "field.pdf"), _docx(tmp_path / "tower.docx")])
    expect(page.locator("#qa-upload-status")).to_contain_text("Added field.pdf", timeout=90_000)
    expect(page.locator("#qa-upload-status")).to_contain_text("Added tower.docx")
    checks = page.locator("#qa-source-select label")
    expect(checks).to_have_count(2)

    answers = page.locator("#qa-chat .qa-answer")
    ask(page, "What does the greenhouse on Lantern Street grow?")
    expect(answers).to_have_count(1)
    expect(answers.first).to_contain_text("saffron")
    expect(page.locator("#qa-sources .qa-source mark")).to_contain_text("saffron crocuses")
    expect(page.locator("#qa-sources .qa-source").first).to_contain_text("field.pdf")
    shot = page.screenshot(path=str(request.config.getoption("--notebook-screenshot") or tmp_path / "notebook.png"))
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 20_000

    checks.filter(has_text="field.pdf").locator("input").uncheck()
    ask(page, "What does the greenhouse on Lantern Street grow?")
    expect(page.locator("#qa-chat .qa-refusal")).to_have_count(1)
    checks.filter(has_text="field.pdf").locator("input").check()

    ask(page, "Who built the observatory telescope?")
    expect(answers).to_have_count(2)
    expect(answers.nth(1)).to_contain_text("Halden")

    _choose(page, "#qa-doc", "tower.docx")
    page.click("#qa-doc-show")
    expect(page.locator("#qa-doc-text textarea")).to_have_value(
        "Tower history. The observatory telescope was built in 1911 by the Halden brothers."
    )
    page.click("#qa-doc-remove")
    page.click("#qa-doc-remove-confirm")
    expect(checks).to_have_count(1)
    expect(checks.first).to_contain_text("field.pdf")

    _choose(page, "#qa-notebook", "Bundled documents")
    expect(page.locator("#qa-chat .message-row")).to_have_count(0)
    expect(page.locator("#qa-source-select label")).to_contain_text(["lei-jun-xiaomi.txt"])
    ask(page, "Who bought Joyo.com?")
    expect(answers).to_have_count(1)
    expect(answers.first).to_contain_text("Amazon")
    _choose(page, "#qa-notebook", "Field notes")
    expect(answers).to_have_count(2)
    expect(answers.first).to_contain_text("saffron")

    next(server, None)  # stops the server
    server = _chat_process(folder, {})
    url = next(server)
    try:
        _open(page, url)
        _choose(page, "#qa-notebook", "Field notes")
        expect(checks).to_have_count(1)
        expect(checks.first).to_contain_text("field.pdf")  # the bundled notebook also shows one source
        ask(page, "What does the greenhouse on Lantern Street grow?")
        expect(answers.first).to_contain_text("saffron")

        page.fill("#qa-notebook-name textarea", "Garden notes")
        page.click("#qa-notebook-rename")
        expect(page.locator("#qa-notebook input")).to_have_value("Garden notes")
        page.click("#qa-notebook-delete")
        page.click("#qa-notebook-delete-confirm")
        expect(page.locator("#qa-notebook input")).to_have_value("Bundled documents")
        page.click("#qa-notebook input")
        expect(page.locator("[role=listbox] [role=option]")).to_have_count(1)
        assert not list((folder / "uploads").glob("*/field.pdf")), "a deleted notebook's uploads are gone"
    finally:
        next(server, None)
