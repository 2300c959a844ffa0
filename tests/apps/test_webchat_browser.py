"""The web chat in a real browser: Debian's Chromium driven by Playwright against the real server."""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
expect.set_options(timeout=20_000)  # a busy 2-core CI machine can take seconds to re-render
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def page(tmp_path, chat_server):
    """A fresh browser profile on the chat page; every request the page makes is recorded."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            args=FLAGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
        )
        try:
            tab = browser.new_page()
            tab.requests = []
            tab.on("request", lambda request: tab.requests.append(request.url))
            tab.goto(chat_server)
            yield tab
        finally:
            browser.close()


def ask(page, question: str, submit_with_enter: bool = False) -> None:
    page.fill("#qa-question textarea", question)
    if submit_with_enter:
        page.press("#qa-question textarea", "Enter")
    else:
        page.click("#qa-ask")


def test_chat_answers_with_cited_passages_and_follow_ups(page, chat_server, tmp_path, request):
    answers = page.locator("#qa-chat .qa-answer")
    ask(page, "Who was Lei Jun's partner at Joyo.com?")
    expect(answers).to_have_count(1, timeout=30_000)
    expect(answers.first).to_contain_text("Chen Nian")
    expect(answers.first).to_contain_text("[1]")
    cite = answers.first.locator("a.qa-cite")
    expect(cite).to_have_attribute("title", re.compile("Chen Nian"))
    highlight = page.locator("#qa-sources .qa-source mark")
    expect(highlight).to_have_count(1)
    expect(highlight).to_contain_text("Chen Nian")
    expect(page.locator("#qa-sources .qa-source")).to_contain_text("lei-jun-xiaomi.txt")

    cite.click()
    expect(page.locator("#qa-sources .qa-source.qa-flash")).to_have_count(1, timeout=3_000)

    ask(page, "What company did he later found?", submit_with_enter=True)
    expect(answers).to_have_count(2, timeout=30_000)
    expect(answers.nth(1)).to_contain_text("VANCL")
    expect(highlight).to_contain_text("VANCL")

    ask(page, "What was Xiaomi's revenue in 2023?")
    expect(page.locator("#qa-chat .qa-refusal")).to_have_count(1, timeout=30_000)
    expect(page.locator("#qa-sources")).to_contain_text("Closest passages")

    page.locator("#qa-chat .qa-answer").first.click()
    expect(highlight).to_contain_text("Chen Nian")

    page.locator("#qa-chat .qa-refusal").scroll_into_view_if_needed()
    shot = page.screenshot(path=str(request.config.getoption("--screenshot") or tmp_path / "chat.png"))
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 20_000

    hosts = {urlsplit(url).netloc for url in page.requests if not url.startswith(("data:", "blob:"))}
    assert hosts == {urlsplit(chat_server).netloc}, f"requests left loopback: {hosts}"


def test_clear_and_empty_input(page):
    ask(page, "")
    page.wait_for_timeout(500)
    expect(page.locator("#qa-chat .message-row")).to_have_count(0)
    ask(page, "Who bought Joyo.com?")
    expect(page.locator("#qa-chat .qa-answer")).to_contain_text("Amazon", timeout=30_000)
    expect(page.locator("#qa-chat .message-row")).to_have_count(2)
    page.click("#qa-clear")
    expect(page.locator("#qa-chat .qa-answer")).to_have_count(0)
    expect(page.locator("#qa-chat .message-row")).to_have_count(0)
    expect(page.locator("#qa-sources")).to_contain_text("Cited passages appear here")
