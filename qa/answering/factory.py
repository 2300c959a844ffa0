"""The answer model and follow-up condenser named in settings."""

from collections.abc import Callable, Sequence

from qa.answering.base import AnswerModel
from qa.answering.extractive import ExtractiveModel
from qa.errors import ConfigError
from qa.index.embedding import Embedder
from qa.query.conversation import LLMCondenser, Message, condense
from qa.query.retrieval import Query
from qa.settings import Settings

Condenser = Callable[[str, Sequence[Message]], Query]


def build_model(settings: Settings, embedder: Embedder) -> tuple[AnswerModel, Condenser]:
    """The extractive model with the heuristic condenser, or an LLM backend with its own."""
    extractive = ExtractiveModel(max_sentences=settings.max_answer_sentences)
    if settings.llm == "extractive":
        return extractive, condense
    if not settings.llm_model:
        raise ConfigError(
            "QA_LLM_MODEL is required with QA_LLM=openai-compatible.",
            hint="Name the model the server serves, e.g. gpt-4o-mini or llama3.2.",
        )
    from qa.answering.llm.openai_compat import ChatClient, OpenAICompatibleModel  # imports openai: only when used

    client = ChatClient(
        settings.llm_base_url,
        settings.llm_api_key,
        settings.llm_model,
        settings.llm_temperature,
        settings.llm_timeout,
        settings.llm_max_tokens,
        settings.llm_max_retries,
    )
    model = OpenAICompatibleModel(client, embedder, settings.llm_fallback, extractive)
    return model, (LLMCondenser(client.complete) if settings.llm_condense else condense)
