"""Every HTTP failure as one JSON shape, `{"error": {"type", "message", "hint"}}`, with its status.

Bad input is the client's fault and says so (4xx); only a bug in docqa is a 500, and even then the body
is the same JSON with no traceback (the traceback goes to the server log).
"""

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from qa.errors import ConfigError, DocumentError, IndexUnavailable, InvalidQuestion, ModelUnavailable, QAError
from qa.notebooks import NotebookNotFound

log = logging.getLogger(__name__)

STATUS_OF: dict[type[QAError], int] = {
    NotebookNotFound: 404,
    InvalidQuestion: 400,
    DocumentError: 400,
    ConfigError: 400,
    IndexUnavailable: 503,
    ModelUnavailable: 503,
}
_REASONS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    411: "length_required",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    503: "unavailable",
}


class ApiError(Exception):
    """A failure the HTTP layer itself detects (unknown document, over a size limit, no credentials)."""

    def __init__(self, status: int, message: str, hint: str = "", headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.hint = hint
        self.headers = headers


def error_body(kind: str, message: str, hint: str = "") -> dict:
    """The JSON body of every error response."""
    return {"error": {"type": kind, "message": message, "hint": hint}}


def error_response(
    status: int, kind: str, message: str, hint: str = "", headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(kind, message, hint), status_code=status, headers=headers)


def qa_error_body(exc: QAError) -> dict:
    """A QAError as the JSON error body (also sent as the last event of a stream that fails)."""
    return error_body(_snake(type(exc).__name__), str(exc), exc.hint)


def qa_error_response(exc: QAError) -> JSONResponse:
    """A QAError as the JSON error, with the status its class stands for."""
    status = next((code for cls, code in STATUS_OF.items() if isinstance(exc, cls)), 400)
    return JSONResponse(qa_error_body(exc), status_code=status)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _validation_message(exc: RequestValidationError) -> str:
    problems = []
    for err in exc.errors()[:5]:
        where = ".".join(str(part) for part in err.get("loc", ()) if part != "body") or "body"
        problems.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(problems)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the JSON error."""

    async def on_qa_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, QAError)
        return qa_error_response(exc)

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, _REASONS.get(exc.status, "error"), str(exc), exc.hint, exc.headers)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(
            422,
            "invalid_request",
            _validation_message(exc),
            "The request body does not match the schema at /openapi.json.",
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return error_response(
            exc.status_code,
            _REASONS.get(exc.status_code, "error"),
            str(exc.detail),
            headers=getattr(exc, "headers", None),
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error answering %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "docqa failed unexpectedly; the server log has the details.")

    app.add_exception_handler(QAError, on_qa_error)
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
