"""The REST API of the real server process (`python app.py`): ask, stream, documents, health, errors, auth."""

import base64
import json

import httpx
import pytest
from openapi_spec_validator import validate

from qa.eval.checks import citation_holds, file_text
from qa.reply import REFUSAL

ERROR_KEYS = {"type", "message", "hint"}


def _error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == ERROR_KEYS
    assert "Traceback" not in response.text
    return body["error"]


def test_ask_returns_the_qa_ask_json_object(chat_server):
    response = httpx.post(chat_server + "v1/ask", json={"question": "Who bought Joyo.com?"}, timeout=30)
    assert response.status_code == 200
    reply = response.json()
    assert set(reply) == {"answer", "supported", "citations"}
    assert reply["supported"] and "Amazon" in reply["answer"] and "[1]" in reply["answer"]
    assert all(citation_holds(c, file_text) for c in reply["citations"])


def test_ask_with_history_model_top_k_and_explain(chat_server):
    history = [
        {"role": "user", "content": "Who was Lei Jun's partner at Joyo.com?"},
        {"role": "assistant", "content": "Chen Nian was Lei Jun's entrepreneurial partner at Joyo.com [1]."},
    ]
    body = {
        "question": "What company did he later found?",
        "history": history,
        "top_k": 5,
        "model": "extractive",
        "explain": True,
    }
    reply = httpx.post(chat_server + "v1/ask", json=body, timeout=30).json()
    assert "VANCL" in reply["answer"]
    assert reply["explain"]["decision"]


def test_refusal_over_rest(chat_server):
    reply = httpx.post(chat_server + "v1/ask", json={"question": "What was Xiaomi's revenue in 2023?"}, timeout=30)
    assert reply.json() == {"answer": REFUSAL, "supported": False, "citations": []}


def test_streamed_ask_sends_deltas_then_the_reply(chat_server):
    with httpx.stream(
        "POST", chat_server + "v1/ask", json={"question": "Who bought Joyo.com?", "stream": True}, timeout=30
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _sse(response.iter_lines())
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "reply" and set(kinds[:-1]) == {"delta"}
    reply = events[-1][1]
    assert "".join(data["text"] for kind, data in events[:-1]) == reply["answer"]
    assert all(citation_holds(c, file_text) for c in reply["citations"])


def _sse(lines) -> list[tuple[str, dict]]:
    events, kind = [], None
    for line in lines:
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((kind, json.loads(line.removeprefix("data: "))))
    return events


@pytest.mark.parametrize(
    "body, status, kind, words",
    [
        ({"question": "   "}, 400, "invalid_question", "The question is empty"),
        ({"question": "why " * 600}, 400, "invalid_question", "the limit is 2000"),
        (
            {"question": "And then?", "history": [{"role": "robot", "content": "hi"}]},
            400,
            "invalid_question",
            "history[0].role",
        ),
        ({"question": "Who?", "top_k": 99}, 422, "invalid_request", "top_k"),
        ({"question": 42}, 422, "invalid_request", "question"),
        ({"question": "Who?", "model": "gpt-9"}, 400, "invalid_question", "Unknown answer model"),
        ({"question": "Who?", "surprise": 1}, 422, "invalid_request", "surprise"),
        ({}, 422, "invalid_request", "question"),
    ],
)
def test_bad_questions_are_json_errors_with_the_right_status(chat_server, body, status, kind, words):
    error = _error(httpx.post(chat_server + "v1/ask", json=body, timeout=30), status)
    assert error["type"] == kind and words in error["message"]


def test_a_stream_of_a_bad_question_fails_before_it_starts(chat_server):
    error = _error(httpx.post(chat_server + "v1/ask", json={"question": "", "stream": True}, timeout=30), 400)
    assert error["type"] == "invalid_question"


def test_malformed_bodies_unknown_paths_and_oversize_are_json_errors(chat_server):
    _error(
        httpx.post(
            chat_server + "v1/ask", content=b"{not json", headers={"content-type": "application/json"}, timeout=30
        ),
        422,
    )
    _error(httpx.post(chat_server + "v1/ask", content=b"\xff\xfe\x00", timeout=30), 422)
    assert _error(httpx.get(chat_server + "v1/nowhere", timeout=30), 404)["type"] == "not_found"
    assert _error(httpx.get(chat_server + "v1/ask", timeout=30), 405)["type"] == "method_not_allowed"
    huge = {"question": "Who?", "history": [{"role": "user", "content": "x" * 2_000_000}]}
    assert _error(httpx.post(chat_server + "v1/ask", json=huge, timeout=30), 413)["type"] == "payload_too_large"

    def chunked():
        for _ in range(40):
            yield b" " * 50_000

    response = httpx.post(
        chat_server + "v1/ask", content=chunked(), headers={"content-type": "application/json"}, timeout=30
    )
    assert _error(response, 413)["type"] == "payload_too_large"


def test_upload_list_read_ask_and_remove_a_document(chat_server):
    notes = b"# Office notes\n\nThe meeting room is on the fourth floor. It seats twelve people.\n"
    files = [("files", ("../../etc/notes.md", notes)), ("files", ("photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00"))]
    response = httpx.post(chat_server + "v1/documents", files=files, timeout=60)
    assert response.status_code == 200, response.text
    report = response.json()
    [added] = report["added"]
    assert added["source"].endswith("/uploads/notes.md") and added["chunks"] >= 1
    assert [e["message"] for e in report["errors"]] == [
        "photo.txt: binary content of a kind docqa does not read (supported: text, Markdown, HTML, PDF, DOCX)"
    ]

    listed = httpx.get(chat_server + "v1/documents", timeout=30).json()
    assert added["id"] in {d["id"] for d in listed}
    document = httpx.get(chat_server + f"v1/documents/{added['id']}", timeout=30).json()
    assert document["text"] == notes.decode()

    reply = httpx.post(
        chat_server + "v1/ask", json={"question": "Which floor is the meeting room on?"}, timeout=30
    ).json()
    assert reply["supported"] and "fourth floor" in reply["answer"]
    cited = reply["citations"][0]
    assert document["text"][cited["start"] : cited["end"]] == cited["text"]
    others = [d["id"] for d in listed if d["id"] != added["id"]]
    elsewhere = httpx.post(
        chat_server + "v1/ask", json={"question": "Which floor is the meeting room on?", "sources": others}, timeout=30
    ).json()
    assert not elsewhere["supported"], "a question restricted to other documents does not see this one"

    again = httpx.post(chat_server + "v1/documents", files=[("files", ("notes.md", notes))], timeout=60).json()
    assert [d["id"] for d in again["unchanged"]] == [added["id"]]

    assert httpx.delete(chat_server + f"v1/documents/{added['id']}", timeout=30).status_code == 204
    _error(httpx.delete(chat_server + f"v1/documents/{added['id']}", timeout=30), 404)
    _error(httpx.get(chat_server + f"v1/documents/{added['id']}", timeout=30), 404)
    reply = httpx.post(
        chat_server + "v1/ask", json={"question": "Which floor is the meeting room on?"}, timeout=30
    ).json()
    assert not reply["supported"]


def test_uploads_that_cannot_be_used_add_nothing(chat_server):
    before = httpx.get(chat_server + "v1/documents", timeout=30).json()
    error = _error(httpx.post(chat_server + "v1/documents", files=[("files", ("empty.txt", b""))], timeout=30), 400)
    assert "empty" in error["message"]
    error = _error(
        httpx.post(chat_server + "v1/documents", files=[("files", ("x.pdf", b"%PDF-1.4 broken"))], timeout=30), 400
    )
    assert "x.pdf" in error["message"] or "cannot extract" in error["message"]
    _error(httpx.post(chat_server + "v1/documents", data={"files": "not a file"}, timeout=30), 422)
    assert httpx.get(chat_server + "v1/documents", timeout=30).json() == before


def test_health_reports_the_index_and_models(chat_server):
    health = httpx.get(chat_server + "v1/health", timeout=30).json()
    assert health["status"] == "ok" and health["documents"] >= 1
    assert health["model"] == "extractive" and health["models"] == ["extractive"] and health["version"]


def test_openapi_schema_is_valid_and_lists_the_endpoints(chat_server):
    schema = httpx.get(chat_server + "openapi.json", timeout=30).json()
    validate(schema)
    assert {
        "/v1/ask",
        "/v1/documents",
        "/v1/documents/{document_id}",
        "/v1/health",
        "/v1/chat/completions",
        "/v1/models",
    } <= set(schema["paths"])
    assert httpx.get(chat_server + "docs", timeout=30).status_code == 200


def test_the_api_needs_a_login_or_key_when_logins_are_configured(login_chat_server):
    url = login_chat_server + "v1/ask"
    body = {"question": "Who bought Joyo.com?"}
    error = _error(httpx.post(url, json=body, timeout=30), 401)
    assert "Authorization: Bearer" in error["hint"]
    assert _error(httpx.post(url, json=body, headers={"Authorization": "Bearer wrong"}, timeout=30), 401)
    assert _error(httpx.post(url, json=body, auth=("ann", "wrong"), timeout=30), 401)
    assert _error(httpx.post(url, json=body, headers={"Authorization": "Basic !!!"}, timeout=30), 401)
    for key in ["key-one", "key-two", "key-from-file"]:
        reply = httpx.post(url, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30).json()
        assert "Amazon" in reply["answer"]
    basic = base64.b64encode(b"bob:second:pass").decode()
    assert httpx.post(url, json=body, headers={"Authorization": f"Basic {basic}"}, timeout=30).json()["supported"]
    assert _error(httpx.get(login_chat_server + "v1/documents", timeout=30), 401)
    assert httpx.get(login_chat_server + "v1/health", timeout=30).status_code == 200
    response = httpx.options(
        url, headers={"Origin": "http://elsewhere.example", "Access-Control-Request-Method": "POST"}, timeout=30
    )
    assert "access-control-allow-origin" not in response.headers


def test_notebooks_over_rest(chat_server):
    from gradio_client import Client

    book = Client(chat_server, verbose=False).predict("REST notes", api_name="/create_notebook")
    notes = b"The boiler room key hangs behind the red door.\n"
    added = httpx.post(
        chat_server + "v1/documents",
        params={"notebook": book["id"]},
        files=[("files", ("keys.txt", notes))],
        timeout=60,
    ).json()["added"]
    assert len(added) == 1 and f"/{book['id']}/" in added[0]["source"]
    listed = httpx.get(chat_server + "v1/documents", params={"notebook": book["id"]}, timeout=30).json()
    assert [d["id"] for d in listed] == [added[0]["id"]]
    question = {"question": "Where does the boiler room key hang?"}
    reply = httpx.post(chat_server + "v1/ask", json={**question, "notebook": book["id"]}, timeout=30).json()
    assert reply["supported"] and "red door" in reply["answer"]
    assert not httpx.post(chat_server + "v1/ask", json=question, timeout=30).json()["supported"]
    error = _error(httpx.get(chat_server + "v1/documents", params={"notebook": "nbmissing"}, timeout=30), 404)
    assert error["type"] == "notebook_not_found"
    assert (
        httpx.delete(
            chat_server + f"v1/documents/{added[0]['id']}", params={"notebook": book["id"]}, timeout=30
        ).status_code
        == 204
    )
