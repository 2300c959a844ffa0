"""The prompts: numbered excerpts for answering, and the conversation for condensing follow-ups.

An excerpt is a retrieved chunk as the answering prompt shows it, numbered `[n]`: excerpt n is
`context.chunks[n - 1]`, and the verifier resolves the model's `[n]` the same way. ("Passage" is kept for
what a user is shown; the instructions still say "passages" to the model, the wording every measured
LLM figure was made with.)
"""

from collections.abc import Sequence

from qa.answering.base import Context
from qa.reply import REFUSAL

ANSWER_SYSTEM = (
    "You answer questions about documents using only the numbered passages you are given. "
    "After every sentence, cite the passages that support it with their numbers in square brackets, "
    "for example [1] or [2][3]. Do not use anything you know that is not in the passages. "
    f"If the passages do not contain the answer, reply exactly: {REFUSAL} "
    "Answer in one to three sentences."
)

CONDENSE_SYSTEM = (
    "Rewrite the user's last question as one standalone question that can be understood without "
    "the conversation: replace pronouns with what they refer to. Reply with the question only."
)

_HISTORY_TURNS = 4


def question_of(context: Context) -> str:
    """The question to answer: the standalone form when the follow-up was condensed by the LLM."""
    focus = context.retrieval.query.focus
    return focus or context.question


def answer_messages(context: Context) -> list[dict[str, str]]:
    """System instructions, then the numbered excerpts and the question as one user message."""
    excerpts = []
    for n, chunk in enumerate(context.chunks, 1):
        title = f" ({chunk.title})" if chunk.title else ""
        excerpts.append(f"[{n}]{title}\n{chunk.text.strip()}")
    user = "Passages:\n\n" + "\n\n".join(excerpts) + f"\n\nQuestion: {question_of(context)}"
    return [{"role": "system", "content": ANSWER_SYSTEM}, {"role": "user", "content": user}]


def condense_messages(question: str, history: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    """The recent conversation and the follow-up, asking for a standalone question."""
    turns = [t for t in history if t["role"] in ("user", "assistant")][-_HISTORY_TURNS:]
    lines = [f"{t['role']}: {t['content'][:500]}" for t in turns]
    user = "Conversation:\n" + "\n".join(lines) + f"\n\nLast question: {question}\n\nStandalone question:"
    return [{"role": "system", "content": CONDENSE_SYSTEM}, {"role": "user", "content": user}]
