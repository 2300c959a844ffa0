"""The LLM backend against a real OpenAI-compatible server: llama.cpp (xllamacpp) serving SmolLM2-135M.

The server runs in a child process owned by a session fixture. SmolLM2 never writes `[n]` and
sometimes answers from the wrong passage: these tests check the plumbing (streaming, parsing,
verification, post-hoc citation, refusal and fallback, failures), not the model's wisdom.
Failures the real server cannot be made to show on demand (401, 429, 5xx, a garbled stream)
come from a small loopback HTTP server that plays them back.
"""

import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from llm_server import start_server, stop_server
from pydantic import SecretStr

from qa.answering.factory import build_model
from qa.answering.llm.openai_compat import ChatClient
from qa.answering.llm.verify import Scorer, reply_problems
from qa.apps.cli import main
from qa.errors import ModelUnavailable
from qa.eval.golden import judge, load_cases
from qa.query.conversation import LLMCondenser, condense
from qa.query.retrieval import Query
from qa.reply import Delta, Reply

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-test-7f3a9c-do-not-leak"
pytestmark = pytest.mark.slow


def llm_service(service, url: str, **settings):
    """The shared test index, answered by the LLM at `url` (small answers keep the tests fast)."""
    options = {
        "model": "openai-compatible",
        "llm_base_url": url,
        "llm_model": "smollm2",
        "llm_max_tokens": 48,
        "llm_timeout": 60.0,
        "llm_max_retries": 0,
        "llm_api_key": SecretStr(KEY),
    } | settings
    tuned = service.settings.model_copy(update=options)
    return service.with_model(*build_model(tuned, service.embedder))


def test_answer_streams_from_the_real_server_with_verified_citations(service, llm_url):
    llm = llm_service(service, llm_url, llm_fallback=False)
    events = list(llm.stream("Who bought Joyo.com?", top_k=2))
    reply = events[-1]
    assert isinstance(reply, Reply) and all(isinstance(e, Delta) for e in events[:-1]) and len(events) >= 2
    assert "".join(e.text for e in events[:-1]) == reply.answer
    stats = llm.model.last_stats
    assert stats.sentences >= 1  # the model wrote something, and the verifier judged it
    assert reply_problems(reply, Scorer(service.corpus(), service.embedder)) == []
    assert reply.supported == bool(reply.citations)
    assert len(reply.citations) <= stats.kept + stats.repaired + stats.added


def test_golden_cases_with_the_small_model_keep_every_citation_rule(service, llm_url):
    cases = {c.id: c for c in load_cases(ROOT / "tests/golden/article.jsonl")}
    chosen = [cases["fact-02"], next(c for c in cases.values() if c.evidence is None)]
    llm = llm_service(service, llm_url, llm_max_tokens=32)
    scorer = Scorer(service.corpus(), service.embedder)
    for case in chosen:
        reply = llm.ask(case.question, history=case.history, top_k=2)
        assert judge(case, reply, 0.0).offsets_ok, case.id
        assert reply_problems(reply, scorer) == [], case.id
    assert llm.model.totals.sentences >= 1


def test_follow_up_is_condensed_by_the_llm(llm_url):
    client = ChatClient(llm_url, SecretStr(KEY), "smollm2", max_retries=0)
    history = [
        {"role": "user", "content": "When did Lei Jun found Joyo.com?"},
        {"role": "assistant", "content": "In 2000 [1]."},
    ]
    written: list[str] = []

    def complete(messages):
        written.append(client.complete(messages))
        return written[-1]

    question = "And who bought it?"
    query = LLMCondenser(complete)(question, history)
    assert len(written) == 1 and written[0].strip()
    first = written[0].strip().splitlines()[0].strip().strip('"')
    assert query in (Query(first, first), condense(question, history))
    standalone = "Who founded Xiaomi?"
    assert LLMCondenser(complete)(standalone, history) == Query(standalone, standalone) and len(written) == 1


def test_server_stopped_mid_stream_then_refusing_connections(tmp_path, caplog):
    proc, url = start_server(tmp_path / "server.log")
    client = ChatClient(url, SecretStr(KEY), "smollm2", timeout=30, max_tokens=400, max_retries=0)
    messages = [{"role": "user", "content": "Write a long story about a robot who learns to paint."}]
    pieces = []
    with caplog.at_level(logging.DEBUG), pytest.raises(ModelUnavailable) as stopped:
        try:
            for piece in client.stream(messages):
                pieces.append(piece)
                if len(pieces) == 1:
                    proc.kill()
        finally:
            stop_server(proc)
    assert pieces and url in stopped.value.user_message()
    with pytest.raises(ModelUnavailable, match="cannot be reached") as refused:
        "".join(client.stream(messages))
    for exc in (stopped.value, refused.value):
        assert KEY not in exc.user_message() and KEY not in repr(exc)
    assert KEY not in caplog.text


class Playback(BaseHTTPRequestHandler):
    """Plays back a failure chosen by the URL path: /status/<code>, /slow, /malformed, /dropped."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        kind = self.path.split("/")[1]
        if kind == "status":
            code = int(self.path.split("/")[2])
            body = json.dumps({"error": {"message": f"nope, you sent {self.headers.get('Authorization')}"}})
            self._send(code, "application/json", body.encode())
        elif kind == "slow":
            time.sleep(3)
            self._send(200, "application/json", b"{}")
        elif kind == "malformed":
            self._send(200, "text/event-stream", b"data: {this is not json\n\n")
        elif kind == "dropped":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            event = (
                b'data: {"id":"1","object":"chat.completion.chunk","created":1,"model":"m","choices":'
                b'[{"index":0,"delta":{"content":"Joyo.com was"},"finish_reason":null}]}\n\n'
            )
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event) + b"400\r\npartial")
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, code: int, kind: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def playback():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Playback)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "path, message",
    [
        ("/status/401", "rejected the API key"),
        ("/status/403", "rejected the API key"),
        ("/status/404", "does not know model"),
        ("/status/429", "rate-limiting"),
        ("/status/500", "failed .HTTP 500"),
        ("/status/503", "failed .HTTP 503"),
        ("/slow", "did not answer within 0.5 s"),
        ("/malformed", "malformed"),
        ("/dropped", "stopped in the middle"),
    ],
)
def test_server_failures_are_clear_and_never_show_the_key(service, playback, caplog, path, message):
    llm = llm_service(service, f"{playback}{path}/v1", llm_fallback=False, llm_timeout=0.5)
    with caplog.at_level(logging.DEBUG), pytest.raises(ModelUnavailable, match=message) as failed:
        llm.ask("Who bought Joyo.com?")
    assert KEY not in failed.value.user_message() and KEY not in repr(failed.value)
    assert failed.value.__cause__ is None and failed.value.__suppress_context__
    assert KEY not in caplog.text


def test_failures_fall_back_to_the_extractive_answer(service, playback):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    nothing_listening = f"http://127.0.0.1:{closed.getsockname()[1]}/v1"
    closed.close()
    for url in (nothing_listening, f"{playback}/status/500/v1"):
        reply = llm_service(service, url).ask("Who bought Joyo.com?")
        assert reply == service.ask("Who bought Joyo.com?")
        assert reply.supported and reply.citations
    with pytest.raises(ModelUnavailable, match="cannot be reached"):
        llm_service(service, nothing_listening, llm_fallback=False).ask("Who bought Joyo.com?")


def test_qa_eval_with_the_llm_reports_what_the_verifier_did(service, llm_url, tmp_path, monkeypatch, capsys):
    cases = (ROOT / "tests/golden/article.jsonl").read_text(encoding="utf-8").splitlines()[:2]
    golden = tmp_path / "two.jsonl"
    golden.write_text("\n".join(cases) + "\n", encoding="utf-8")
    for name, value in {"QA_LLM_BASE_URL": llm_url, "QA_LLM_MODEL": "smollm2", "QA_LLM_MAX_TOKENS": "48"}.items():
        monkeypatch.setenv(name, value)
    code = main(["--index-dir", str(tmp_path / "index"), "eval", str(golden), "--json", "--model", "openai-compatible"])
    report = json.loads(capsys.readouterr().out)
    assert code in (0, 1) and report["metrics"]["cases"] == 2
    verifier = report["verifier"]
    assert verifier["sentences"] >= 1
    assert verifier["dropped"] + verifier["kept"] == verifier["markers"]
