"""The OpenAI-compatible endpoint, called by the real `openai` client against the real server process."""

import httpx
import openai
import pytest

from qa.eval.checks import citation_holds, file_text
from qa.reply import REFUSAL

QUESTION = [{"role": "user", "content": "Who bought Joyo.com?"}]


@pytest.fixture(scope="module")
def client(chat_server) -> openai.OpenAI:
    return openai.OpenAI(base_url=chat_server + "v1", api_key="not-needed-on-loopback", max_retries=0, timeout=30)


def test_models_lists_the_answer_models(client):
    assert [m.id for m in client.models.list()] == ["extractive"]


def test_a_completion_carries_markers_and_citations(client):
    reply = client.chat.completions.create(model="extractive", messages=QUESTION)
    content = reply.choices[0].message.content
    assert "Amazon" in content and "[1]" in content and "Sources:" not in content
    assert reply.choices[0].finish_reason == "stop" and reply.object == "chat.completion"
    citations = reply.model_extra["citations"]
    assert citations[0]["number"] == 1 and all(citation_holds(c, file_text) for c in citations)
    assert reply.model_extra["supported"] is True


def test_history_makes_follow_ups_work(client):
    messages = [
        {"role": "system", "content": "Answer from the documents."},
        {"role": "user", "content": "Who was Lei Jun's partner at Joyo.com?"},
        {
            "role": "assistant",
            "content": "Chen Nian was Lei Jun's entrepreneurial partner at Joyo.com [1]."
            '\n\nSources:\n[1] seeds/lei-jun-xiaomi.txt (1-2): "..."',
        },
        {"role": "user", "content": [{"type": "text", "text": "What company did he later found?"}]},
    ]
    reply = client.chat.completions.create(model="extractive", messages=messages)
    assert "VANCL" in reply.choices[0].message.content


def test_streaming_follows_the_chunk_format_and_ends_with_citations(client):
    chunks = list(
        client.chat.completions.create(
            model="extractive", messages=QUESTION, stream=True, extra_body={"sources_block": True}
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    answer, _, sources = text.partition("\n\nSources:\n")
    assert "Amazon" in answer and "[1]" in answer
    assert sources.startswith("[1] seeds/lei-jun-xiaomi.txt (")
    assert chunks[-1].choices[0].finish_reason == "stop"
    citations = chunks[-1].model_extra["citations"]
    assert citations and all(citation_holds(c, file_text) for c in citations)
    assert citations[0]["text"] in sources


def test_refusals_say_so(client):
    reply = client.chat.completions.create(
        model="extractive", messages=[{"role": "user", "content": "What was Xiaomi's revenue in 2023?"}]
    )
    assert reply.choices[0].message.content == REFUSAL
    assert reply.model_extra == {"citations": [], "supported": False}


def test_bad_requests_are_openai_style_errors(client, chat_server):
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.chat.completions.create(model="gpt-4o", messages=QUESTION)
    with pytest.raises(openai.BadRequestError, match="The question is empty"):
        client.chat.completions.create(model="extractive", messages=[{"role": "user", "content": "  "}])
    with pytest.raises(openai.BadRequestError, match="last message must be the user's question"):
        client.chat.completions.create(model="extractive", messages=[*QUESTION, {"role": "assistant", "content": "x"}])
    with pytest.raises(openai.BadRequestError, match="only text content"):
        client.chat.completions.create(
            model="extractive",
            messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]}],
        )
    with pytest.raises(openai.UnprocessableEntityError):
        client.chat.completions.create(model="extractive", messages=[])
    response = httpx.post(
        chat_server + "v1/chat/completions", json={"model": "extractive", "messages": "hi"}, timeout=30
    )
    assert response.status_code == 422 and set(response.json()["error"]) == {"type", "message", "hint"}
