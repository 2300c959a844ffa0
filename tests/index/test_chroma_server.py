"""Chroma server mode: a real `chroma run` on loopback; ingest, ask, remove through QA_CHROMA_URL,
and a clear error (no traceback) when the server is down."""

import time
from pathlib import Path

import pytest
from chroma_server import start_chroma
from processes import free_port, stop

import qa
from qa.apps.cli import main
from qa.eval.checks import citation_holds, file_text
from qa.query.record_cache import CACHE_FOLDER, SUFFIX

SEED = Path("seeds/lei-jun-xiaomi.txt")


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "article.txt").write_bytes(SEED.read_bytes())
    (folder / "notes.md").write_text(
        "# Notes\n\nThe meeting room is on the fourth floor. It seats twelve people.\n", encoding="utf-8"
    )
    return folder


@pytest.mark.slow
def test_ingest_ask_and_remove_through_the_server(chroma_url, docs, tmp_path):
    svc = qa.load(chroma_url=chroma_url, collection="served", documents=[docs], index_dir=tmp_path / "unused")
    report = svc.ingest()
    assert len(report.added) == 2 and not report.errors
    local = tmp_path / "unused"
    assert not local.exists() or [p.name for p in local.iterdir()] == [CACHE_FOLDER], (
        "server mode keeps no local index, only its copy of the records"
    )
    reply = svc.ask("Who bought Joyo.com?")
    assert reply.supported and "Amazon" in reply.answer
    cited = reply.citations[0]
    assert citation_holds(cited, file_text)

    again = qa.load(chroma_url=chroma_url, collection="served", documents=[docs], index_dir=local).ingest()
    assert len(again.unchanged) == 2 and not again.added

    assert svc.remove(docs / "notes.md")
    assert [d.source for d in svc.documents()] == [str(docs / "article.txt")]
    assert not svc.ask("Which floor is the meeting room on?").supported


@pytest.mark.slow
def test_a_new_process_on_this_machine_loads_the_servers_documents_from_its_record_cache(
    chroma_url, docs, tmp_path, monkeypatch
):
    first = qa.load(chroma_url=chroma_url, collection="cached", documents=[docs], index_dir=tmp_path / "here")
    first.ingest()
    assert "Amazon" in first.ask("Who bought Joyo.com?").answer
    copies = list((tmp_path / "here" / CACHE_FOLDER).glob(f"server-*/cached/*{SUFFIX}"))
    assert len(copies) == 2, "one file per document, in a folder of this server's own"

    again = qa.load(chroma_url=chroma_url, collection="cached", documents=[docs], index_dir=tmp_path / "here")
    read: list[set[str]] = []
    records = again.store.records
    monkeypatch.setattr(again.store, "records", lambda k, h, vectors=False: read.append(h) or records(k, h, vectors))
    reply = again.ask("Who bought Joyo.com?")
    assert read == [] and "Amazon" in reply.answer and citation_holds(reply.citations[0], file_text)

    elsewhere = qa.load(chroma_url=chroma_url, collection="cached", documents=[docs], index_dir=tmp_path / "there")
    records_elsewhere = elsewhere.store.records
    monkeypatch.setattr(
        elsewhere.store, "records", lambda k, h, vectors=False: read.append(h) or records_elsewhere(k, h, vectors)
    )
    assert "Amazon" in elsewhere.ask("Who bought Joyo.com?").answer
    assert read, "a machine without the copy reads the server"


@pytest.mark.slow
def test_cli_against_the_server(chroma_url, docs, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("QA_CHROMA_URL", chroma_url)
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "cache-only"))  # its record cache, not the repo's index/
    assert main(["--collection", "cli-served", "ingest", str(docs / "notes.md")]) == 0
    assert main(["--collection", "cli-served", "ask", "How many people does the meeting room seat?"]) == 0
    assert "twelve" in capsys.readouterr().out
    assert main(["--collection", "cli-served", "remove", str(docs / "notes.md")]) == 0
    capsys.readouterr()
    assert main(["--collection", "cli-served", "docs"]) == 0
    assert capsys.readouterr().out == ""


def test_server_down_is_one_clear_error(capsys, monkeypatch):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(qa.IndexUnavailable, match=f"Cannot reach the Chroma server at {url}"):
        qa.load(chroma_url=url)
    monkeypatch.setenv("QA_CHROMA_URL", url)
    assert main(["ask", "Who bought Joyo.com?"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"qa: error: Cannot reach the Chroma server at {url}") and "chroma run" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_chroma_url_must_be_http():
    with pytest.raises(qa.IndexUnavailable, match="not an http"):
        qa.load(chroma_url="localhost:8000")


@pytest.mark.slow
def test_server_restart_mid_session_costs_one_error_per_request(docs, tmp_path):
    """Kill `chroma run` under a live service: every request while it is down fails fast with one
    IndexUnavailable naming the server; once it is back, the same service answers again by itself."""
    path, port = tmp_path / "chroma-restart", free_port()
    url, proc = start_chroma(path, port)
    try:
        svc = qa.load(chroma_url=url, collection="restart", documents=[docs], index_dir=tmp_path / "unused")
        assert len(svc.ingest().added) == 2
        before = svc.ask("Who bought Joyo.com?")
        assert before.supported and "Amazon" in before.answer
        cold = qa.load(  # loads its snapshot on its first question, while the server is down
            chroma_url=url, collection="restart", documents=[docs], index_dir=tmp_path / "cold"
        )

        proc.kill()
        proc.wait(timeout=10)
        for request in (
            lambda: svc.ask("Who bought Joyo.com?"),
            lambda: svc.ask("Which floor is the meeting room on?"),
            svc.documents,
            lambda: svc.ask("Who bought Joyo.com?"),
            lambda: cold.ask("Who bought Joyo.com?"),
        ):
            started = time.monotonic()
            with pytest.raises(qa.IndexUnavailable) as caught:
                request()
            assert time.monotonic() - started < 10
            message = caught.value.user_message()
            assert message.startswith(f"Cannot reach the Chroma server at {url}") and "chroma run" in message
            assert "--rebuild" not in message and len(message.splitlines()) == 1

        url_again, proc = start_chroma(path, port)
        assert url_again == url
        after = svc.ask("Who bought Joyo.com?")
        assert after.supported and "Amazon" in after.answer
        assert after.answer == before.answer and after.citations == before.citations
        assert citation_holds(after.citations[0], file_text)
        assert "fourth" in svc.ask("Which floor is the meeting room on?").answer
        assert [d.source for d in svc.documents()] == [str(docs / "article.txt"), str(docs / "notes.md")]
        assert cold.ask("Who bought Joyo.com?").citations == before.citations
    finally:
        stop(proc, seconds=10)
