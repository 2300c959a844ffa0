"""Request body limits, enforced while the body arrives, before anything parses it.

A declared Content-Length over the limit is answered with 413 at once; a body without one (chunked) is
counted as it streams in and cut off at the limit.
"""

from collections.abc import Callable
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.apps.http.errors import ApiError, error_body


class BodyLimit:
    """ASGI middleware: `limit_for(method, path)` bytes per request (None: not ours to limit)."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str, str], int | None]):
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit_for(scope.get("method", ""), scope.get("path", "")) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(limit)(scope, receive, send)
            return
        received, over = 0, False

        async def counted() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise ApiError(413, _message(limit), _HINT)
            return message

        async def answer(message: Message) -> None:
            """Whatever the app makes of a cut-off body (a parse error, say), the client is told 413."""
            if not over:
                await send(message)
            elif message["type"] == "http.response.start":
                await _too_large(limit)(scope, _nothing, send)

        await self.app(scope, counted, answer)


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


_HINT = "Send less at once; the limits come from QA_MAX_FILE_BYTES and QA_MAX_UPLOAD_FILES."


def _message(limit: int) -> str:
    return f"The request body is over the limit of {limit} bytes."


def _too_large(limit: int) -> Any:
    return JSONResponse(error_body("payload_too_large", _message(limit), _HINT), status_code=413)
