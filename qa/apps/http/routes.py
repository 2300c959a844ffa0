"""The REST routes: ask (plain or streamed), documents (list, read, upload, remove) and health."""

import json
import logging
from collections.abc import Iterator, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse

from qa.apps.http.errors import ApiError, error_body, qa_error_body
from qa.apps.http.schemas import ERRORS, AskRequest, DocumentOut, DocumentText, Health, ReplyOut, UploadOut
from qa.apps.models import pick
from qa.errors import QAError
from qa.index.store import DocumentRecord
from qa.notebooks import DEFAULT_ID, Notebooks
from qa.reply import Delta, Reply
from qa.service import QAService

log = logging.getLogger(__name__)


def package_version() -> str:
    try:
        return version("docqa")
    except PackageNotFoundError:
        return "unknown"


def document_out(record: DocumentRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "source": record.source,
        "title": record.title,
        "date": record.date,
        "chunks": record.chunks,
        "sentences": record.sentences,
        "ingested_at": record.ingested_at,
    }


def first_then_rest(events: Iterator[Any]) -> Iterator[Any]:
    """Run a stream up to its first event now, so a bad question fails as an HTTP error, not mid-stream."""
    first = next(events)

    def chained() -> Iterator[Any]:
        yield first
        yield from events

    return chained()


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


NotebookParam = Annotated[
    str | None, Query(description="A notebook id from the web chat (default: the configured collection)")
]


def rest_router(services: Mapping[str, QAService], notebooks: Notebooks | None = None) -> APIRouter:
    """The `/v1` REST routes over the answer models a server offers, and over the caller's notebooks."""
    router = APIRouter(responses=ERRORS)

    def models(notebook: str | None, request: Request) -> Mapping[str, QAService]:
        if notebook in (None, DEFAULT_ID) or notebooks is None:
            if notebook not in (None, DEFAULT_ID):
                raise ApiError(404, f"No notebook {notebook!r}.", "This server has no notebooks besides the default.")
            return services
        return notebooks.services(notebook, getattr(request.state, "user", None))

    def collection(notebook: str | None, request: Request) -> QAService:
        return next(iter(models(notebook, request).values()))

    @router.post(
        "/ask",
        response_model=ReplyOut,
        response_model_exclude_none=True,
        summary="Ask a question",
        responses={
            200: {
                "content": {"text/event-stream": {}},
                "description": "The reply; with `stream`, `delta` events then one `reply` event",
            }
        },
    )
    def ask(request: AskRequest, http: Request) -> Any:
        """Answer with citations, or refuse when the documents do not hold the answer."""
        service = pick(models(request.notebook, http), request.model)
        history = [turn.model_dump() for turn in request.history or []]
        events = service.stream(request.question, history, request.top_k, request.explain, request.sources)
        if not request.stream:
            final = [event for event in events if isinstance(event, Reply)][-1]
            return JSONResponse(final.to_dict())
        return StreamingResponse(
            _sse_events(first_then_rest(events)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @router.get("/documents", response_model=list[DocumentOut], summary="List the indexed documents")
    def documents(request: Request, notebook: NotebookParam = None) -> Any:
        return [document_out(record) for record in collection(notebook, request).documents()]

    @router.get("/documents/{document_id}", response_model=DocumentText, summary="One document and its text")
    def document(document_id: str, request: Request, notebook: NotebookParam = None) -> Any:
        main = collection(notebook, request)
        record = _known(main, document_id)
        return {**document_out(record), "text": main.document_text(record.source) or ""}

    @router.post("/documents", response_model=UploadOut, summary="Upload documents (multipart, field `files`)")
    def upload(
        files: Annotated[list[UploadFile], File(description="Text, Markdown, HTML, PDF or DOCX")],
        request: Request,
        notebook: NotebookParam = None,
    ) -> Any:
        """Each file is checked by its content and indexed; files that cannot be used are listed in `errors`."""
        main = collection(notebook, request)
        settings = main.settings
        if len(files) > settings.max_upload_files:
            raise ApiError(
                413,
                f"{len(files)} files in one upload; the limit is {settings.max_upload_files}.",
                "Send fewer at a time, or raise QA_MAX_UPLOAD_FILES.",
            )
        received = []
        for upload_file in files:
            data = upload_file.file.read(settings.max_file_bytes + 1)
            if len(data) > settings.max_file_bytes:
                raise ApiError(
                    413,
                    f"{upload_file.filename}: over the limit of {settings.max_file_bytes} bytes; nothing was added.",
                    "Split the file, or raise QA_MAX_FILE_BYTES.",
                )
            received.append((upload_file.filename or "upload", data))
        report = main.add_files(received)
        records = {d.source: d for d in main.documents()}
        body = {
            kind: [document_out(records[s]) for s in getattr(report, kind) if s in records]
            for kind in ("added", "updated", "unchanged")
        }
        body["errors"] = [{"message": str(error)} for error in report.errors]
        if report.errors and not any(body[kind] for kind in ("added", "updated", "unchanged")):
            first = report.errors[0]
            return JSONResponse(
                error_body("document_error", "; ".join(map(str, report.errors)), first.hint), status_code=400
            )
        return body

    @router.delete("/documents/{document_id}", status_code=204, summary="Forget a document")
    def remove(document_id: str, request: Request, notebook: NotebookParam = None) -> None:
        main = collection(notebook, request)
        record = _known(main, document_id)
        main.remove(record.source)

    return router


def health_router(services: Mapping[str, QAService]) -> APIRouter:
    """`GET /v1/health`, open to load balancers without credentials (it tells no document contents)."""
    router = APIRouter()
    main = next(iter(services.values()))

    @router.get(
        "/health",
        response_model=Health,
        summary="Is the index loaded (for load balancers)",
        responses={503: {"model": Health}},
    )
    def health() -> Any:
        body = {"version": package_version(), "model": next(iter(services)), "models": list(services)}
        try:
            count = len(main.documents())
            main.corpus()
        except QAError as exc:
            log.warning("health check: %s", exc)
            return JSONResponse({**body, "status": "unavailable", "documents": 0}, status_code=503)
        return {**body, "status": "ok", "documents": count}

    return router


def _known(service: QAService, document_id: str) -> DocumentRecord:
    record = service.document(document_id)
    if record is None:
        raise ApiError(404, f"No document with id {document_id!r}.", "GET /v1/documents lists the documents.")
    return record


def _sse_events(events: Iterator[Delta | Reply]) -> Iterator[str]:
    try:
        for event in events:
            if isinstance(event, Delta):
                yield sse("delta", {"text": event.text})
            else:
                yield sse("reply", event.to_dict())
    except QAError as exc:
        yield sse("error", qa_error_body(exc))
    except Exception:
        log.exception("streaming an answer failed")
        yield sse("error", error_body("internal_error", "docqa failed unexpectedly; the server log has the details."))
