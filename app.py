"""The web chat: a thin Gradio adapter over QAService (the full chat is tracked in issue 3).

    python app.py            # http://127.0.0.1:7860, the index is built on first use
"""

import argparse
import logging

import qa
from qa.errors import QAError
from qa.reply import Delta, Reply

log = logging.getLogger("docqa.app")


def sources_markdown(reply: Reply) -> str:
    """The citations under an answer, as a Markdown list."""
    lines = [f"**[{c.number}]** `{c.source}` chars {c.start}-{c.end}: {c.text}" for c in reply.citations]
    return "\n\n".join(lines)


def build(service: qa.QAService):
    import gradio as gr

    def respond(message: str, history: list[dict]):
        turns = [{"role": t["role"], "content": t["content"]} for t in history if isinstance(t.get("content"), str)]
        text = ""
        try:
            for event in service.stream(message, history=turns):
                if isinstance(event, Delta):
                    text += event.text
                    yield text
                else:
                    sources = sources_markdown(event)
                    yield f"{event.answer}\n\n{sources}" if sources else event.answer
        except QAError as exc:
            yield exc.user_message()

    return gr.ChatInterface(
        respond,
        title="docqa",
        description="Ask about the documents; every claim cites its passage.",
        examples=["When did Xiaomi's market value pass HK$1 trillion?", "Who bought Joyo.com?",
                  "How big is Xiaomi's tech campus?"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="docqa web chat")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    service = qa.load()
    service.ask("warm up")  # builds the index on first use, before the first visitor waits for it
    build(service).launch(server_name=args.host, server_port=args.port, share=False)


if __name__ == "__main__":
    main()
