"""The web chat's notebooks and documents: switch, create, rename and delete notebooks; upload, choose,
read and remove documents. A thin adapter over `qa.notebooks.Notebooks` and `QAService`.

Each notebook keeps its own conversation in the page's state; switching saves one and restores the
other. Uploaded files are read from Gradio's temporary copy, handed to `QAService.add_files` (which
types them by content and keeps them under a safe name) and the temporary copy is deleted, so nothing
uploaded is ever served back.
"""

import logging
import time
from pathlib import Path
from typing import Any

import gradio as gr

from qa.apps.webchat import render
from qa.errors import QAError
from qa.index.store import DocumentRecord
from qa.notebooks import DEFAULT_ID, Notebooks
from qa.service import QAService

log = logging.getLogger(__name__)

UNEXPECTED = "Something went wrong on the server; the server log has the details."


def user_of(request: gr.Request | None) -> str | None:
    """The logged-in user (None without logins)."""
    return getattr(request, "username", None) or None


def source_label(record: DocumentRecord) -> str:
    """Title, then file name, kind, size, chunks and when it was added: `Notes (notes.md · MD · 2 KB · 1 chunk ·
    added 2026-12-02 09:14)`."""
    path = Path(record.source)
    title = record.title.strip() or path.name
    try:
        size = _size(path.stat().st_size)
    except OSError:
        size = "file gone"
    added = time.strftime("%Y-%m-%d %H:%M", time.localtime(record.ingested_at))
    chunks = f"{record.chunks} chunk{'s' if record.chunks != 1 else ''}"
    kind = path.suffix.lstrip(".").upper() or "TEXT"
    return f"{title[:60]} ({path.name} · {kind} · {size} · {chunks} · added {added})"


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} bytes"
    if count < 1024**2:
        return f"{count / 1024:.1f} KB"
    return f"{count / 1024**2:.1f} MB"


def documents_line(documents: list[DocumentRecord]) -> str:
    """The line above the chat naming what questions are answered from."""
    if not documents:
        return "This notebook is empty: upload documents under Documents, or run `qa ingest PATH`."
    names = ", ".join(f"*{render.text((d.title or d.source).rstrip('.'))}*" for d in documents[:5])
    more = f" and {len(documents) - 5} more" if len(documents) > 5 else ""
    return f"Answering from {len(documents)} document{'s' if len(documents) != 1 else ''}: {names}{more}."


class LibraryHandlers:
    """The functions behind the notebook and document controls and their named API endpoints."""

    def __init__(self, notebooks: Notebooks):
        self.notebooks = notebooks

    def _reader(self, notebook: str | None, request: gr.Request | None) -> QAService:
        return next(iter(self.notebooks.services(notebook or DEFAULT_ID, user_of(request)).values()))

    def notebook_choices(self, request: gr.Request | None) -> list[tuple[str, str]]:
        return [(book.name, book.id) for book in self.notebooks.list(user_of(request))]

    def views(self, notebook: str, request: gr.Request | None, selected: list[str] | None = None) -> tuple:
        """(documents line, source checkboxes, document picker) for a notebook; all sources ticked unless
        `selected` says which stay ticked."""
        documents = self._reader(notebook, request).documents()
        choices = [(source_label(d), d.id) for d in documents]
        ids = [d.id for d in documents]
        ticked = ids if selected is None else [i for i in ids if i in selected]
        return (
            documents_line(documents),
            gr.update(choices=choices, value=ticked),
            gr.update(choices=choices, value=None),
        )

    # notebooks

    def load(self, request: gr.Request) -> tuple:
        """On page load: this user's notebooks, and the default one, shown with its documents."""
        choices = self.notebook_choices(request)
        return (gr.update(choices=choices, value=DEFAULT_ID), DEFAULT_ID, *self.views(DEFAULT_ID, request))

    def switch(
        self,
        target: str,
        current: str | None,
        chat: list,
        turns: list,
        panels: dict,
        conversations: dict,
        request: gr.Request,
    ) -> tuple:
        """Keep the shown notebook's conversation, bring back the target's, show its documents."""
        conversations = {**conversations, current or DEFAULT_ID: (chat, turns, panels)}
        chat, turns, panels = conversations.get(target, ([], [], {}))
        last = max(panels) if panels else None
        sources = panels[last] if last is not None else render.empty_sources_html()
        try:
            views = self.views(target, request)
        except QAError as exc:
            gr.Warning(exc.user_message())
            return (gr.skip(),) * 9
        return (target, chat, turns, panels, sources, conversations, *views)

    def create(self, name: str, request: gr.Request) -> tuple:
        try:
            book = self.notebooks.create(name, user_of(request))
        except QAError as exc:
            gr.Warning(exc.user_message())
            return gr.skip(), gr.skip()
        return gr.update(choices=self.notebook_choices(request), value=book.id), ""

    def rename(self, notebook: str, name: str, request: gr.Request) -> tuple:
        try:
            self.notebooks.rename(notebook, name, user_of(request))
        except QAError as exc:
            gr.Warning(exc.user_message())
            return gr.skip(), gr.skip()
        return gr.update(choices=self.notebook_choices(request), value=notebook), ""

    def delete(self, notebook: str, conversations: dict, request: gr.Request) -> tuple:
        try:
            self.notebooks.delete(notebook, user_of(request))
        except QAError as exc:
            gr.Warning(exc.user_message())
            return gr.skip(), gr.skip(), gr.update(visible=False)
        conversations = {k: v for k, v in conversations.items() if k != notebook}
        return (
            gr.update(choices=self.notebook_choices(request), value=DEFAULT_ID),
            conversations,
            gr.update(visible=False),
        )

    # documents

    def add_dropped(
        self,
        files: list[str] | None,
        notebook: str,
        selected: list[str],
        request: gr.Request,
        progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008 (Gradio injects it)
    ) -> tuple:
        """Index dropped files into the notebook: one status line per file, the new ones ticked."""
        if not files:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        try:
            report = self._add(files, notebook, request)
        except QAError as exc:
            return None, render.error_html(exc.user_message()), gr.skip(), gr.skip(), gr.skip()
        lines = (
            [f"Added {Path(s).name}" for s in report.added]
            + [f"Updated {Path(s).name}" for s in report.updated]
            + [f"Already here: {Path(s).name}" for s in report.unchanged]
            + [f"Not added: {render.text(str(e))}" for e in report.errors]
        )
        status = "<br>".join(
            f"<span class='{'qa-error' if ln.startswith('Not') else 'qa-ok'}'>{ln}</span>" for ln in lines
        )
        fresh = {d.id for d in self._reader(notebook, request).documents() if d.source in report.added}
        line, checks, picker = self.views(notebook, request, [*selected, *fresh])
        return None, status, line, checks, picker

    def _add(self, files: list[str], notebook: str, request: gr.Request | None) -> Any:
        service = self.notebooks.writable(notebook or DEFAULT_ID, user_of(request))
        received = []
        for file in files:
            path = Path(file)
            try:
                received.append((path.name, path.read_bytes()))
            finally:
                path.unlink(missing_ok=True)  # Gradio's temporary copy: never served back
        return service.add_files(received, progress=True)

    def remove_chosen(self, document: str | None, notebook: str, selected: list[str], request: gr.Request) -> tuple:
        if not document:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.update(visible=False)
        try:
            service = self.notebooks.writable(notebook, user_of(request))
            record = service.document(document)
            if record is not None:
                service.remove(record.source)
        except QAError as exc:
            gr.Warning(exc.user_message())
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.update(visible=False)
        return ("", *self.views(notebook, request, selected), gr.update(visible=False))

    def show(self, document: str | None, notebook: str, request: gr.Request) -> Any:
        """The text a document's citation offsets index."""
        if not document:
            return gr.update(value="", visible=False)
        service = self._reader(notebook, request)
        record = service.document(document)
        text = service.document_text(record.source) if record is not None else None
        return gr.update(value=text or "", visible=True, label=source_label(record) if record else "Document")

    # named API endpoints for programs (gradio_client)

    def api_notebooks(self, request: gr.Request) -> list[dict]:
        """`/notebooks`: the caller's notebooks."""
        return [book.to_dict() for book in self.notebooks.list(user_of(request))]

    def api_create_notebook(self, name: str, request: gr.Request) -> dict:
        """`/create_notebook`: a new notebook of the caller's."""
        return self._api(lambda: self.notebooks.create(name, user_of(request)).to_dict())

    def api_documents(self, notebook: str | None, request: gr.Request) -> list[dict]:
        """`/documents`: a notebook's documents."""
        return self._api(lambda: [_document(d) for d in self._reader(notebook, request).documents()])

    def api_upload(self, notebook: str | None, files: list[str] | None, request: gr.Request) -> dict:
        """`/upload`: add files to a notebook; the same report as `POST /v1/documents`."""

        def run() -> dict:
            report = self._add(files or [], notebook or DEFAULT_ID, request)
            return {
                "added": report.added,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "errors": [str(e) for e in report.errors],
            }

        return self._api(run)

    def api_remove(self, notebook: str | None, document: str, request: gr.Request) -> bool:
        """`/remove`: forget a document of a notebook by its id; False if there was none."""

        def run() -> bool:
            service = self.notebooks.writable(notebook or DEFAULT_ID, user_of(request))
            record = service.document(document)
            return record is not None and service.remove(record.source)

        return self._api(run)

    @staticmethod
    def _api(run: Any) -> Any:
        try:
            return run()
        except QAError as exc:
            raise gr.Error(exc.user_message(), print_exception=False) from None
        except Exception:
            log.exception("a library API call failed")
            raise gr.Error(UNEXPECTED, print_exception=False) from None


def _document(record: DocumentRecord) -> dict:
    return {
        "id": record.id,
        "source": record.source,
        "title": record.title,
        "chunks": record.chunks,
        "sentences": record.sentences,
        "ingested_at": record.ingested_at,
    }
