"""Several services over one index: a service that did not ingest a document answers from it once the
store's generation moves on (checked every `refresh_seconds`), with no restart."""

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from processes import free_port, stop

ROOT = Path(__file__).resolve().parents[1]
FIRST = "The meeting room is on the fourth floor. Coffee is served at ten.\n"
LATER = "The boiler was replaced by Hendrik Vos in March. It heats the west wing.\n"
QUESTION = "Who replaced the boiler?"


def _docs(folder: Path) -> Path:
    folder.mkdir()
    (folder / "office.txt").write_text(FIRST)
    return folder


def _writer_then_reader(tmp_path: Path, make_service, refresh_seconds: float):
    """A service that ingested the office note, a second one over the same index that has answered once
    (so it holds a snapshot), and the boiler note the writer ingests next; the boiler question unanswered."""
    docs = _docs(tmp_path / "docs")
    writer = make_service(docs)
    writer.ingest()
    reader = make_service(docs, refresh_seconds=refresh_seconds)
    assert not reader.ask(QUESTION).supported
    (tmp_path / "later").mkdir()
    boiler = tmp_path / "later" / "boiler.txt"
    boiler.write_text(LATER)
    assert writer.ingest([boiler.parent]).added
    time.sleep(0.3)
    return writer, reader, boiler


def test_a_second_service_answers_from_a_document_the_first_one_ingested(tmp_path, make_service):
    writer, reader, boiler = _writer_then_reader(tmp_path, make_service, refresh_seconds=0.2)
    reply = reader.ask(QUESTION)
    assert reply.supported and "Hendrik Vos" in reply.answer
    assert {c.source for c in reply.citations} == {str(boiler)}
    assert writer.remove(boiler)
    time.sleep(0.3)
    assert not reader.ask(QUESTION).supported, "a removal reaches the other service too"


def test_with_refresh_off_a_service_keeps_its_snapshot(tmp_path, make_service):
    _, reader, _ = _writer_then_reader(tmp_path, make_service, refresh_seconds=0)
    assert not reader.ask(QUESTION).supported


def _ask(url: str, question: str) -> dict:
    request = urllib.request.Request(
        f"{url}v1/ask", data=json.dumps({"question": question}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_a_server_answers_from_a_document_another_process_ingested_into_the_chroma_server(tmp_path, chroma_url):
    """Two processes on loopback sharing a Chroma server: `qa ingest` adds a document while the web server
    runs; the server answers from it within the refresh interval plus its reload, without a restart."""
    docs = _docs(tmp_path / "docs")
    env = {
        **os.environ,
        "QA_CHROMA_URL": chroma_url,
        "QA_COLLECTION": f"shared-{os.getpid()}",
        "QA_DOCUMENTS": json.dumps([str(docs)]),
        "QA_UPLOAD_DIR": str(tmp_path / "uploads"),
        "QA_REFRESH_SECONDS": "1",
    }
    port = free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180
        while f"docqa web chat: {url}" not in log_path.read_text():
            assert server.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        assert not _ask(url, QUESTION)["supported"]
        later = tmp_path / "later"
        later.mkdir()
        (later / "boiler.txt").write_text(LATER)
        ingest = subprocess.run(
            [sys.executable, "-m", "qa.apps.cli", "ingest", str(later)], cwd=ROOT, env=env, capture_output=True
        )
        assert ingest.returncode == 0, ingest.stderr
        ingested = time.monotonic()
        while not (reply := _ask(url, QUESTION))["supported"]:
            assert time.monotonic() - ingested < 10, "the server did not catch up within 10 s"
            time.sleep(0.2)
        assert "Hendrik Vos" in reply["answer"]
        assert {c["source"] for c in reply["citations"]} == {str(later / "boiler.txt")}
    finally:
        stop(server)
