"""The request and response bodies of the REST API, as they appear in /openapi.json."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from qa.settings import MAX_TOP_K


class Turn(BaseModel):
    """One earlier message of the conversation."""

    model_config = ConfigDict(extra="ignore")

    role: str = Field(description="user, assistant or system")
    content: str


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="The question, in any language the documents are in")
    history: list[Turn] | None = Field(None, description="Earlier turns, oldest first, for follow-up questions")
    top_k: int | None = Field(None, ge=1, le=MAX_TOP_K, description="Passages to consider (default: QA_TOP_K)")
    model: str | None = Field(None, description="An answer model from /v1/models (default: the configured one)")
    notebook: str | None = Field(
        None, description="A notebook id (web chat notebooks; default: the configured collection)"
    )
    sources: list[str] | None = Field(
        None, description="Only search these documents (ids or sources from /v1/documents)"
    )
    explain: bool = Field(
        False, description="Add an `explain` field: the evidence looked at and why it answered or refused"
    )
    stream: bool = Field(False, description="Answer as server-sent events: `delta` events, then one `reply`")


class CitationOut(BaseModel):
    number: int
    text: str
    source: str
    start: int = Field(description="Offset of `text` in the source's indexed text (GET /v1/documents/{id})")
    end: int
    score: float = Field(
        description="The evidence ranker's score of the cited run, the same whichever model answered (qa.Citation)"
    )


class ReplyOut(BaseModel):
    """Exactly the `qa ask --json` object."""

    answer: str = Field(description="The answer with [n] markers, or the refusal")
    supported: bool = Field(description="False when the documents do not hold the answer")
    citations: list[CitationOut]
    explain: dict[str, Any] | None = None


class DocumentOut(BaseModel):
    id: str
    source: str
    title: str
    date: str
    chunks: int
    sentences: int
    ingested_at: float


class DocumentText(DocumentOut):
    text: str = Field(description="The text citation offsets index")


class FileProblem(BaseModel):
    message: str


class UploadOut(BaseModel):
    added: list[DocumentOut]
    updated: list[DocumentOut]
    unchanged: list[DocumentOut]
    errors: list[FileProblem] = Field(description="Files that could not be used; the others still went in")


class Health(BaseModel):
    status: str = Field(description="ok, or unavailable (with status 503)")
    version: str
    documents: int
    model: str
    models: list[str]


class ErrorDetail(BaseModel):
    type: str
    message: str
    hint: str


class ErrorOut(BaseModel):
    error: ErrorDetail


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in {
        400: "Bad input (an empty question, a malformed history, an unreadable file)",
        401: "No valid login or API key",
        404: "No such document or model",
        413: "Over a size limit",
        422: "The body does not match the schema",
        503: "The index or the answer model is unavailable; retry later",
    }.items()
}
