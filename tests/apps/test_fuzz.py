"""Property-based fuzzing (Hypothesis) of the Python API and of every HTTP endpoint of the real server.

The only outcomes allowed: a reply whose every citation holds, or a QAError (over HTTP: a 4xx, or 503,
with the JSON error). The example counts are bounded for CI and derandomized so a run is reproducible;
`bench/fuzz.py` runs the same strategies over 10,000 fresh inputs.
"""

from pathlib import Path

import httpx
import pytest
from fuzzing import (
    ask_bodies,
    chat_bodies,
    check_python_ask,
    check_response,
    histories,
    post_json,
    questions,
    source_lists,
    top_ks,
    upload_bytes,
    upload_names,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.errors import QAError

CI = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
FEW = settings(CI, max_examples=25)


@CI
@given(question=questions, history=histories, top_k=top_ks, streamed=st.booleans(), sources=source_lists)
def test_python_ask_and_stream_reply_or_raise_qaerror(service, question, history, top_k, streamed, sources):
    assert check_python_ask(service, question, history, top_k, streamed, sources) is None


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    import qa

    folder = tmp_path_factory.mktemp("fuzz-ingest")
    return folder, qa.load(
        index_dir=folder / "index", documents=[folder / "docs"], upload_dir=folder / "uploads", auto_ingest=False
    )


@FEW
@given(
    files=st.lists(
        st.tuples(st.sampled_from([".txt", ".md", ".html", ".pdf", ".docx", ".bin"]), upload_bytes),
        min_size=1,
        max_size=3,
    )
)
def test_ingesting_generated_files_reports_problems_and_keeps_citations_exact(scratch, files):
    folder, service = scratch
    docs = folder / "docs"
    docs.mkdir(exist_ok=True)
    for old in docs.iterdir():
        old.unlink()
    for number, (suffix, data) in enumerate(files):
        (docs / f"file{number}{suffix}").write_bytes(data)
    report = service.ingest()
    assert all(isinstance(error, QAError) and str(error) for error in report.errors)
    indexed = {d.source for d in service.documents()}
    assert indexed == set(report.added + report.updated + report.unchanged)
    assert check_python_ask(service, "What does the file say?", None, None, False) is None


@FEW
@given(files=st.lists(st.tuples(upload_names, upload_bytes), min_size=1, max_size=3))
def test_uploads_of_anything_are_checked_and_stay_inside_the_upload_folder(scratch, files):
    folder, service = scratch
    uploads = (folder / "uploads").resolve()
    try:
        report = service.add_files(files)
    except QAError:
        return
    for source in report.added + report.updated + report.unchanged:
        assert Path(source).resolve().parent == uploads
    assert _kept(uploads) == _indexed_uploads(service, uploads), "an upload left half-added"
    assert check_python_ask(service, "What does the file say?", None, None, False) is None
    for source in report.added:
        service.remove(source)
    assert _kept(uploads) == _indexed_uploads(service, uploads), "a removed upload left its file behind"


def _kept(uploads: Path) -> set[Path]:
    return {p.resolve() for p in uploads.iterdir()} if uploads.exists() else set()


def _indexed_uploads(service, uploads: Path) -> set[Path]:
    return {Path(d.source).resolve() for d in service.documents() if Path(d.source).resolve().parent == uploads}


@pytest.fixture(scope="module")
def http(chat_server):
    with httpx.Client(base_url=chat_server, timeout=60) as client:
        yield client


def _texts(http):
    def text(source: str) -> str | None:
        for document in http.get("/v1/documents").json():
            if document["source"] == source:
                return http.get(f"/v1/documents/{document['id']}").json()["text"]
        return None

    return text


@CI
@given(body=ask_bodies)
def test_http_ask_with_any_json(http, body):
    assert check_response(post_json(http, "/v1/ask", body), _texts(http)) is None


@FEW
@given(
    raw=st.binary(max_size=500),
    content_type=st.sampled_from(["application/json", "text/plain", "", "multipart/form-data; boundary=x"]),
)
def test_http_endpoints_with_any_bytes(http, raw, content_type):
    for path in ["/v1/ask", "/v1/chat/completions", "/v1/documents"]:
        response = http.post(path, content=raw, headers={"content-type": content_type} if content_type else {})
        assert check_response(response, _texts(http)) is None


@FEW
@given(body=chat_bodies)
def test_openai_endpoint_with_any_json(http, body):
    assert check_response(post_json(http, "/v1/chat/completions", body), _texts(http)) is None


@FEW
@given(files=st.lists(st.tuples(upload_names, upload_bytes), min_size=1, max_size=3))
def test_http_upload_of_anything(http, files):
    response = http.post("/v1/documents", files=[("files", (name, data)) for name, data in files])
    assert check_response(response, _texts(http)) is None
    if response.status_code == 200:
        for document in response.json()["added"]:
            assert http.delete(f"/v1/documents/{document['id']}").status_code == 204


@FEW
@given(document_id=questions, method=st.sampled_from(["GET", "DELETE", "PUT", "PATCH"]))
def test_document_paths_with_any_id(http, document_id, method):
    escaped = "".join(f"%{byte:02X}" for byte in document_id.encode("utf-8", "surrogatepass"))
    response = http.request(method, "/v1/documents/" + escaped)
    assert check_response(response, _texts(http)) is None
    assert response.status_code in (404, 405, 400, 422)
