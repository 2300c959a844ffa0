"""The real web chat process, called the way programs call it: gradio_client and the `/ask` endpoint."""

import re
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AuthenticationError

from qa.apps import cli
from qa.eval.checks import citation_holds, file_text
from qa.reply import REFUSAL


@pytest.fixture(scope="module")
def client(chat_server) -> Client:
    return Client(chat_server, verbose=False)


@pytest.mark.parametrize(
    "question, expected",
    [
        ("Who bought Joyo.com?", "Amazon"),
        ("How old was Lei Jun when he joined Kingsoft?", "23-year-old"),
    ],
)
def test_ask_answers_with_exact_citations(client, question, expected):
    reply = client.predict(question, [], api_name="/ask")
    assert set(reply) == {"answer", "supported", "citations"}
    assert reply["supported"] is True
    assert expected in reply["answer"] and "[1]" in reply["answer"]
    assert reply["citations"][0]["number"] == 1
    assert expected in reply["citations"][0]["text"]
    assert all(citation_holds(c, file_text) for c in reply["citations"])


def test_follow_up_uses_the_history(client):
    history = [
        {"role": "user", "content": "Who was Lei Jun's partner at Joyo.com?"},
        {"role": "assistant", "content": "Chen Nian was Lei Jun's entrepreneurial partner at Joyo.com [1]."},
    ]
    reply = client.predict("What company did he later found?", history, api_name="/ask")
    assert reply["supported"] is True
    assert "VANCL" in reply["answer"]


def test_question_the_article_cannot_answer_is_refused(client):
    reply = client.predict("What was Xiaomi's revenue in 2023?", [], api_name="/ask")
    assert reply == {"answer": REFUSAL, "supported": False, "citations": []}


def test_empty_and_overlong_questions_get_a_clear_error(client):
    with pytest.raises(Exception, match="The question is empty"):
        client.predict("   ", [], api_name="/ask")
    with pytest.raises(Exception, match="the limit is 2000"):
        client.predict("why " * 600, [], api_name="/ask")
    assert client.predict("Who bought Joyo.com?", [], api_name="/ask")["supported"] is True


def test_malformed_history_gets_a_clear_error(client):
    with pytest.raises(Exception, match="history\\[0\\].role must be 'user', 'assistant' or 'system'"):
        client.predict("And then?", [{"role": "robot", "content": "hi"}], api_name="/ask")


def test_top_k_is_checked(client):
    with pytest.raises(Exception, match="top_k must be between 1 and 50"):
        client.predict("Who bought Joyo.com?", [], 99, api_name="/ask")


def test_twenty_simultaneous_callers_all_get_the_right_answer(chat_server):
    questions = [
        ("Who bought Joyo.com?", "Amazon"),
        ("How old was Lei Jun when he joined Kingsoft?", "23-year-old"),
        ("Who was Lei Jun's mentor?", "Qiu Bojun"),
        ("What was Xiaomi's revenue in 2023?", None),
    ] * 5

    def call(item):
        question, expected = item
        return expected, Client(chat_server, verbose=False).predict(question, [], api_name="/ask")

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(call, questions))
    assert len(results) == 20
    for expected, reply in results:
        if expected is None:
            assert reply["supported"] is False
        else:
            assert reply["supported"] is True and expected in reply["answer"]


def test_chat_configured_for_an_llm_offers_it_first_and_the_extractive_model_beside_it(llm_chat_server):
    config = httpx.get(llm_chat_server + "config", timeout=10).json()
    [selector] = [c["props"] for c in config["components"] if c["props"].get("elem_id") == "qa-model"]
    assert [choice[1] for choice in selector["choices"]] == ["openai-compatible", "extractive"]
    assert selector["value"] == "openai-compatible"
    assert selector["label"] == "Model", "the same word as the setting, `--model` and the API's `model`"

    client = Client(llm_chat_server, verbose=False)
    reply = client.predict("Who bought Joyo.com?", [], 2, "openai-compatible", api_name="/ask")
    assert set(reply) == {"answer", "supported", "citations"}
    numbers = {int(n) for n in re.findall(r"\[(\d+)\]", reply["answer"])}
    assert numbers == {c["number"] for c in reply["citations"]}, "every [n] shown points at a citation"
    assert all(citation_holds(c, file_text) for c in reply["citations"])
    assert reply["supported"] == bool(reply["citations"])

    offline = client.predict("Who bought Joyo.com?", [], None, "extractive", api_name="/ask")
    assert offline["supported"] is True and "Amazon" in offline["answer"]


def test_login_is_required_when_configured(login_chat_server):
    with pytest.raises(AuthenticationError, match="credentials were not provided"):
        Client(login_chat_server, verbose=False)
    with pytest.raises(ValueError, match="Could not login"):
        Client(login_chat_server, auth=("ann", "wrong"), verbose=False)
    assert (
        httpx.post(
            login_chat_server + "gradio_api/call/ask", json={"data": ["Who bought Joyo.com?", []]}, timeout=10
        ).status_code
        == 401
    )
    for user in [("root", "top-secret"), ("ann", "first-pass"), ("bob", "second:pass")]:
        reply = Client(login_chat_server, auth=user, verbose=False).predict("Who bought Joyo.com?", [], api_name="/ask")
        assert "Amazon" in reply["answer"]


def test_a_busy_port_is_one_clear_line_not_a_traceback(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "app.py", "--port", str(port), "--index-dir", str(tmp_path / "index")],
            capture_output=True,
            text=True,
            timeout=180,
        )
    assert done.returncode == 2
    assert f"qa: error: Cannot serve on 127.0.0.1:{port}: the port is in use" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_qa_serve_checks_its_settings_first(capsys):
    assert cli.main(["serve", "--port", "70000"]) == 2
    assert "qa: error: Invalid settings: port: Input should be less than or equal to 65535" in capsys.readouterr().err


def test_an_open_address_without_a_login_is_refused(tmp_path):
    done = subprocess.run(
        [sys.executable, "app.py", "--host", "0.0.0.0", "--index-dir", str(tmp_path / "index")],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 2
    assert "qa: error: Serving on 0.0.0.0 would let anyone on the network in" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
