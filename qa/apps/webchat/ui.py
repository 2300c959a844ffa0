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
from qa.errors import QAError
from qa.reply import Delta, Reply
from qa.service import QAService
from qa.settings import MAX_TOP_K

log = logging.getLogger(__name__)

UNEXPECTED = "Something went wrong on the server while answering; the server log has the details."


class ChatHandlers:
    """The functions behind the chat's events and the `/ask` API, without any Gradio layout."""

    def __init__(self, services: dict[str, QAService]):
        self._services = services
        self.default_model = next(iter(services))

    def service(self, model: str | None) -> QAService:
        """The service answering with `model` (the configured one when not given)."""
        return pick(self._services, model)

    def respond(self, message: str, chat: list, turns: list, panels: dict, top_k: float,
                model: str | None = None) -> Iterator[tuple]:
        """Stream one answer into the chat: (textbox, chat, turns, panels, sources) per update."""
        question = (message or "").strip()
        if not question:
            yield message, chat, turns, panels, gr.skip()
            return
        chat = [*chat, _message("user", render.text(question)), _message("assistant", render.streaming_html(""))]
        yield "", chat, turns, panels, gr.skip()
        partial, reply = "", None
        try:
            for event in self.service(model).stream(question, history=turns, top_k=int(top_k)):
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

    def ask(self, question: str, history: list[dict] | None = None, top_k: int | None = None,
            model: str | None = None, sources: list[str] | None = None) -> dict:
        """The `/ask` API: the same object as `qa ask --json`; `sources` restricts it to some documents."""
        try:
            return self.service(model).ask(question, history=history or [], top_k=top_k, sources=sources).to_dict()
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


def _message(role: str, content: str) -> dict:
    return {"role": role, "content": content}


def _replace_last(chat: list, content: str) -> list:
    """A new chat list whose last (assistant) message is `content`; yielded lists stay as they were."""
    return [*chat[:-1], _message("assistant", content)]


def build(services: dict[str, QAService]) -> gr.Blocks:
    """The chat page: conversation and question box, examples, settings, and the sources panel.

    `services` maps answer model names to services over the same index, the configured one first.
    """
    handlers = ChatHandlers(services)
    service = handlers.service(None)
    settings = service.settings
    with gr.Blocks(title="docqa", analytics_enabled=False) as page:
        gr.Markdown("## docqa\nAsk about the documents. Every claim cites its passage: "
                    "hover over or click a citation like [1] to see it.")
        gr.Markdown(_documents_line(service), elem_id="qa-docs")
        turns, panels = gr.State([]), gr.State({})
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Conversation", elem_id="qa-chat", height=480, latex_delimiters=[],
                                  feedback_options=None, buttons=["copy"], placeholder="No questions yet.")
                with gr.Row():
                    question = gr.Textbox(show_label=False, placeholder="Ask a question about the documents",
                                          elem_id="qa-question", scale=5, max_length=settings.max_question_chars)
                    ask = gr.Button("Ask", variant="primary", elem_id="qa-ask", scale=1)
                clear = gr.Button("Clear conversation", elem_id="qa-clear", size="sm")
                gr.Examples(list(settings.examples), inputs=question, label="Examples")
                with gr.Accordion("Settings", open=False):
                    top_k = gr.Slider(1, MAX_TOP_K, value=settings.top_k, step=1, label="Passages to consider (top-k)",
                                      elem_id="qa-top-k")
                    model = gr.Dropdown(list(services), value=handlers.default_model, label="Answer model",
                                        elem_id="qa-model", interactive=len(services) > 1,
                                        info=None if len(services) > 1 else
                                        "Set QA_LLM=openai-compatible to add an LLM (see the README).")
            with gr.Column(scale=2):
                sources = gr.HTML(render.empty_sources_html(), elem_id="qa-sources")
        outputs = [question, chat, turns, panels, sources]
        for trigger in (question.submit, ask.click):
            trigger(handlers.respond, [question, chat, turns, panels, top_k, model], outputs, api_visibility="private",
                    show_progress="hidden")
        clear.click(handlers.clear, None, outputs, api_visibility="private")
        chat.select(handlers.show_sources, [panels], [sources], api_visibility="private")
        gr.api(handlers.ask, api_name="ask")
    return page


def _documents_line(service: QAService) -> str:
    documents = service.documents()
    if not documents:
        return "The index is empty: run `qa ingest PATH` to add documents."
    names = ", ".join(f"*{render.text((d.title or d.source).rstrip('.'))}*" for d in documents[:5])
    more = f" and {len(documents) - 5} more" if len(documents) > 5 else ""
    return f"Answering from {len(documents)} document{'s' if len(documents) != 1 else ''}: {names}{more}."
