"""The web chat's layout and event handlers: a thin adapter over QAService.

The chat shows HTML (answers with citation links); the conversation handed to the service is
kept apart as plain `{"role", "content"}` turns, so markup never leaks into retrieval.
"""

import logging
from collections.abc import Iterator
from typing import Any

import gradio as gr

from qa.apps.models import pick
from qa.apps.webchat import render
from qa.apps.webchat.library import LibraryHandlers, user_of
from qa.errors import QAError
from qa.notebooks import DEFAULT_ID, Notebooks
from qa.reply import Delta, Reply
from qa.service import QAService
from qa.settings import MAX_TOP_K

log = logging.getLogger(__name__)

UNEXPECTED = "Something went wrong on the server while answering; the server log has the details."


class ChatHandlers:
    """The functions behind the chat's events and the `/ask` API, without any Gradio layout."""

    def __init__(self, services: dict[str, QAService], notebooks: Notebooks | None = None):
        self._services = services
        self._notebooks = notebooks
        self.default_model = next(iter(services))

    def service(self, model: str | None, notebook: str | None = None, request: gr.Request | None = None) -> QAService:
        """The service answering with `model` (the configured one when not given) from a notebook (the
        default one when not given)."""
        if self._notebooks is None or notebook in (None, DEFAULT_ID):
            return pick(self._services, model)
        return pick(self._notebooks.services(notebook, user_of(request)), model)

    def respond(
        self,
        message: str,
        chat: list,
        turns: list,
        panels: dict,
        top_k: float,
        model: str | None = None,
        notebook: str | None = None,
        sources: list[str] | None = None,
        shown: str | None = DEFAULT_ID,
        request: gr.Request | None = None,
    ) -> Iterator[tuple]:
        """Stream one answer into the chat: (textbox, chat, turns, panels, sources) per update. `sources`
        are the ticked documents; all of them ticked means no restriction. They are the user's choice only
        when the page shows the asked notebook's ticks (`shown`: the notebook whose documents the page shows,
        None until its load is done). Before that, or while a switch to another notebook is on its way, they
        are an empty box or another notebook's; a notebook opens with every document ticked, so the question
        uses every document, as the ticks will show."""
        question = (message or "").strip()
        if not question:
            yield message, chat, turns, panels, gr.skip()
            return
        chat = [*chat, _message("user", render.text(question)), _message("assistant", render.streaming_html(""))]
        yield "", chat, turns, panels, gr.skip()
        partial, reply = "", None
        try:
            service = self.service(model, notebook, request)
            chosen = _restriction(service, sources if shown == (notebook or DEFAULT_ID) else None)
            for event in service.stream(question, history=turns, top_k=int(top_k), sources=chosen):
                if isinstance(event, Delta):
                    partial += event.text
                    chat = _replace_last(chat, render.streaming_html(partial))
                    yield "", chat, turns, panels, gr.skip()
                else:
                    reply = event
        except QAError as exc:
            chat = _replace_last(chat, render.error_html(exc.user_message()))
            yield "", chat, turns, panels, gr.skip()
            return
        except Exception:
            log.exception("answering %r failed", question)
            chat = _replace_last(chat, render.error_html(UNEXPECTED))
            yield "", chat, turns, panels, gr.skip()
            return
        yield "", *self._finish(question, reply, chat, turns, panels)

    def ask(
        self,
        question: str,
        history: list[dict] | None = None,
        top_k: int | None = None,
        model: str | None = None,
        sources: list[str] | None = None,
        notebook: str | None = None,
        request: gr.Request | None = None,
    ) -> dict:
        """The `/ask` API: the same object as `qa ask --json`; `sources` restricts it to some documents of
        the notebook (the default one when not given)."""
        try:
            service = self.service(model, notebook, request)
            return service.ask(question, history=history or [], top_k=top_k, sources=sources).to_dict()
        except QAError as exc:
            raise gr.Error(exc.user_message(), print_exception=False) from None
        except Exception:
            log.exception("answering %r through the API failed", question)
            raise gr.Error(UNEXPECTED, print_exception=False) from None

    @staticmethod
    def show_sources(panels: dict, event: gr.SelectData) -> Any:
        """Selecting an earlier answer brings its sources back into the panel."""
        index = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
        panel = panels.get(index)
        return panel if panel is not None else gr.skip()

    @staticmethod
    def clear() -> tuple:
        return "", [], [], {}, render.empty_sources_html()

    @staticmethod
    def _finish(question: str, reply: Reply | None, chat: list, turns: list, panels: dict) -> tuple:
        assert reply is not None, "answer models always end with a Reply"
        at = len(chat) - 1
        chat = _replace_last(chat, render.answer_html(reply, at))
        panel = render.sources_html(reply, at)
        turns = [*turns, {"role": "user", "content": question}, {"role": "assistant", "content": reply.answer}]
        return chat, turns, {**panels, at: panel}, panel


def _restriction(service: QAService, ticked: list[str] | None) -> list[str] | None:
    """The ticked sources as a restriction (documents removed since they were ticked left out); None when
    every document is ticked, or when there are no ticks of the user's to go by."""
    if ticked is None:
        return None
    every = {d.id for d in service.documents()}
    return None if every <= set(ticked) else [i for i in ticked if i in every]


def _message(role: str, content: str) -> dict:
    return {"role": role, "content": content}


def _replace_last(chat: list, content: str) -> list:
    """A new chat list whose last (assistant) message is `content`; yielded lists stay as they were."""
    return [*chat[:-1], _message("assistant", content)]


def build(services: dict[str, QAService], notebooks: Notebooks) -> gr.Blocks:
    """The chat page: notebooks and their documents in a sidebar; the conversation, question box, examples
    and settings in the middle; the sources panel on the right.

    `services` maps answer model names to services over the default notebook, the configured one first.
    """
    handlers = ChatHandlers(services, notebooks)
    library = LibraryHandlers(notebooks)
    settings = handlers.service(None).settings
    with gr.Blocks(title="docqa", analytics_enabled=False) as page:
        gr.Markdown(
            "## docqa\nAsk about the documents. Every claim cites its passage: "
            "hover over or click a citation like [1] to see it."
        )
        docs_line = gr.Markdown("", elem_id="qa-docs")
        turns, panels = gr.State([]), gr.State({})
        current, conversations = gr.State(None), gr.State({})
        with gr.Sidebar(open=True, width=380, elem_id="qa-library"):
            with gr.Accordion("Notebook", open=True):
                notebook = gr.Dropdown(
                    [("Bundled documents", DEFAULT_ID)], value=DEFAULT_ID, show_label=False, elem_id="qa-notebook"
                )
                with gr.Row():
                    name = _entry("Notebook name", "qa-notebook-name", max_length=60, scale=3)
                    create = gr.Button("New", size="sm", elem_id="qa-notebook-new", scale=1)
                    rename = gr.Button("Rename", size="sm", elem_id="qa-notebook-rename", scale=1)
                    delete = gr.Button("Delete", size="sm", elem_id="qa-notebook-delete", scale=1)
                delete_sure = _confirmation("Delete this notebook and its documents", "qa-notebook-delete-confirm")
            with gr.Accordion("Documents", open=True):
                checks = gr.CheckboxGroup([], label="Sources questions use", elem_id="qa-source-select")
                upload = gr.File(
                    label="Add documents (.txt .md .html .pdf .docx)",
                    file_count="multiple",
                    file_types=[".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"],
                    elem_id="qa-upload",
                    height=110,
                )
                status = gr.HTML("", elem_id="qa-upload-status")
                with gr.Row():
                    picker = gr.Dropdown([], show_label=False, elem_id="qa-doc", scale=3)
                    show = gr.Button("Open", size="sm", elem_id="qa-doc-show", scale=1)
                    remove = gr.Button("Remove", size="sm", elem_id="qa-doc-remove", scale=1)
                remove_sure = _confirmation("Remove this document from the notebook", "qa-doc-remove-confirm")
                text = gr.Textbox(
                    visible=False, lines=10, max_lines=20, interactive=False, elem_id="qa-doc-text", buttons=["copy"]
                )
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(
                    label="Conversation",
                    elem_id="qa-chat",
                    height=480,
                    latex_delimiters=[],
                    feedback_options=None,
                    buttons=["copy"],
                    placeholder="No questions yet.",
                )
                with gr.Row():
                    question = _entry(
                        "Ask a question about the documents", "qa-question", settings.max_question_chars, scale=5
                    )
                    ask = gr.Button("Ask", variant="primary", elem_id="qa-ask", scale=1)
                clear = gr.Button("Clear conversation", elem_id="qa-clear", size="sm")
                gr.Examples(list(settings.examples), inputs=question, label="Examples")
                with gr.Accordion("Settings", open=False):
                    top_k = gr.Slider(
                        1,
                        MAX_TOP_K,
                        value=settings.top_k,
                        step=1,
                        label="Passages to consider (top-k)",
                        elem_id="qa-top-k",
                    )
                    model = gr.Dropdown(
                        list(services),
                        value=handlers.default_model,
                        label="Model",
                        elem_id="qa-model",
                        interactive=len(services) > 1,
                        info=None
                        if len(services) > 1
                        else "Set QA_MODEL=openai-compatible to add an LLM (see the README).",
                    )
            with gr.Column(scale=2):
                sources = gr.HTML(render.empty_sources_html(), elem_id="qa-sources")
        outputs = [question, chat, turns, panels, sources]
        for trigger in (question.submit, ask.click):
            trigger(
                handlers.respond,
                [question, chat, turns, panels, top_k, model, notebook, checks, current],
                outputs,
                api_visibility="private",
                show_progress="hidden",
            )
        clear.click(handlers.clear, None, outputs, api_visibility="private")
        chat.select(handlers.show_sources, [panels], [sources], api_visibility="private")
        views = [docs_line, checks, picker]
        page.load(library.load, None, [notebook, current, *views], api_visibility="private")
        notebook.change(
            library.switch,
            [notebook, current, chat, turns, panels, conversations],
            [current, chat, turns, panels, sources, conversations, *views],
            api_visibility="private",
        )
        create.click(library.create, [name], [notebook, name], api_visibility="private")
        rename.click(library.rename, [notebook, name], [notebook, name], api_visibility="private")
        delete.click(lambda: gr.update(visible=True), None, [delete_sure], api_visibility="private")
        delete_sure.click(
            library.delete, [notebook, conversations], [notebook, conversations, delete_sure], api_visibility="private"
        )
        upload.upload(
            library.add_dropped,
            [upload, notebook, checks],
            [upload, status, *views],
            api_visibility="private",
            show_progress="full",
        )
        show.click(library.show, [picker, notebook], [text], api_visibility="private")
        remove.click(lambda: gr.update(visible=True), None, [remove_sure], api_visibility="private")
        remove_sure.click(
            library.remove_chosen, [picker, notebook, checks], [status, *views, remove_sure], api_visibility="private"
        )
        gr.api(handlers.ask, api_name="ask")
        gr.api(library.api_notebooks, api_name="notebooks")
        gr.api(library.api_create_notebook, api_name="create_notebook")
        gr.api(library.api_documents, api_name="documents")
        gr.api(library.api_remove, api_name="remove")
        api_files = gr.File(file_count="multiple", visible=False)
        api_notebook, api_report = gr.Textbox(visible=False), gr.JSON(visible=False)
        gr.Button(visible=False).click(library.api_upload, [api_notebook, api_files], [api_report], api_name="upload")
    return page


def _entry(placeholder: str, elem_id: str, max_length: int, scale: int) -> gr.Textbox:
    """A one-line text box in a row of buttons: its placeholder says what it takes, so it has no label."""
    return gr.Textbox(show_label=False, placeholder=placeholder, elem_id=elem_id, max_length=max_length, scale=scale)


def _confirmation(label: str, elem_id: str) -> Any:
    """The hidden second button a destructive action shows, so that one click never deletes."""
    return gr.Button(label, variant="stop", size="sm", visible=False, elem_id=elem_id)
