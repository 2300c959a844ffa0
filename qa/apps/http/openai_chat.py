"""An OpenAI-compatible chat endpoint, so any OpenAI client or chat front end can use docqa as a model.

The last user message is the question and the earlier ones its history. The answer keeps its `[n]`
markers; the citations come back in an extra `citations` field (on the response, or on the last chunk
when streaming), and also as a Sources block at the end of the text when the request asks for it
(`"sources_block": true`), for front ends that show only the text.
"""

import json
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from qa.apps.http.errors import ApiError, error_body, qa_error_body
from qa.apps.http.routes import first_then_rest
from qa.apps.http.schemas import ERRORS
from qa.errors import InvalidQuestion, QAError
from qa.reply import Delta, Reply
from qa.service import QAService

SOURCES_HEADING = "\n\nSources:\n"
_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[ContentPart] | None = None


class ChatRequest(BaseModel):
    """The fields docqa reads; the other OpenAI parameters (temperature, max_tokens, ...) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(description="A model id from /v1/models")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    sources_block: bool = Field(False, description="Also list the citations as a Sources block at the end of the text")


def chat_router(services: Mapping[str, QAService]) -> APIRouter:
    router = APIRouter(responses=ERRORS)

    @router.get("/models", summary="The answer models, OpenAI style")
    def models() -> dict:
        return {
            "object": "list",
            "data": [{"id": name, "object": "model", "created": 0, "owned_by": "docqa"} for name in services],
        }

    @router.post("/chat/completions", summary="OpenAI-compatible chat completion with citations")
    def chat(request: ChatRequest) -> Any:
        if request.model not in services:
            raise ApiError(
                404,
                f"The model {request.model!r} does not exist; this server offers {', '.join(services)}.",
                "GET /v1/models lists them.",
            )
        question, history = _conversation(request.messages)
        events = services[request.model].stream(question, history)
        completion = _Completion(request.model, request.sources_block)
        if not request.stream:
            final = [event for event in events if isinstance(event, Reply)][-1]
            return completion.whole(final)
        return StreamingResponse(
            completion.chunks(first_then_rest(events)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return router


def _text(message: ChatMessage, where: str) -> str:
    if message.content is None:
        return ""
    if isinstance(message.content, str):
        return message.content
    if any(part.type != "text" for part in message.content):
        raise InvalidQuestion(
            f"{where}: only text content is understood, not {sorted({p.type for p in message.content} - {'text'})}."
        )
    return "".join(part.text or "" for part in message.content)


def _conversation(messages: list[ChatMessage]) -> tuple[str, list[dict[str, str]]]:
    """(question, history) from OpenAI messages; our own Sources blocks are dropped from the history."""
    *earlier, last = messages
    if last.role != "user":
        raise InvalidQuestion(f"The last message must be the user's question, not a {last.role!r} message.")
    history = []
    for number, message in enumerate(earlier):
        role = _ROLES.get(message.role)
        if role is None:
            raise InvalidQuestion(
                f"messages[{number}].role {message.role!r} is not one docqa understands "
                "(user, assistant, system, developer)."
            )
        history.append({"role": role, "content": _text(message, f"messages[{number}]").split(SOURCES_HEADING)[0]})
    return _text(last, f"messages[{len(messages) - 1}]"), history


def sources_block(reply: Reply) -> str:
    """The citations as plain text: `[n] source (start-end): "passage"` per line."""
    if not reply.citations:
        return ""
    lines = [f'[{c.number}] {c.source} ({c.start}-{c.end}): "{c.text}"' for c in reply.citations]
    return SOURCES_HEADING + "\n".join(lines)


class _Completion:
    """Builds the OpenAI response objects of one completion."""

    def __init__(self, model: str, with_sources: bool):
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model
        self.with_sources = with_sources

    def _extra(self, reply: Reply) -> dict[str, Any]:
        return {"citations": [c.to_dict() for c in reply.citations], "supported": reply.supported}

    def whole(self, reply: Reply) -> dict[str, Any]:
        content = reply.answer + (sources_block(reply) if self.with_sources else "")
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            **self._extra(reply),
        }

    def _chunk(self, delta: dict[str, str], finish: Literal["stop"] | None = None, **extra: Any) -> str:
        body = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            **extra,
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    def chunks(self, events: Iterator[Delta | Reply]) -> Iterator[str]:
        yield self._chunk({"role": "assistant", "content": ""})
        try:
            for event in events:
                if isinstance(event, Delta):
                    yield self._chunk({"content": event.text})
                else:
                    if self.with_sources and event.citations:
                        yield self._chunk({"content": sources_block(event)})
                    yield self._chunk({}, "stop", **self._extra(event))
        except QAError as exc:
            yield f"data: {json.dumps(qa_error_body(exc))}\n\n"
        except Exception:
            yield f"data: {json.dumps(error_body('internal_error', 'docqa failed unexpectedly.'))}\n\n"
        yield "data: [DONE]\n\n"
