"""The answer model and follow-up condenser named in settings (`QA_MODEL`), from a registry of builders."""

from collections.abc import Callable

from qa.answering.base import AnswerModel
from qa.answering.extractive import ExtractiveModel
from qa.errors import ConfigError
from qa.index.embedding import Embedder
from qa.query.conversation import Condenser, LLMCondenser, condense
from qa.settings import Settings

Builder = Callable[[Settings, Embedder, ExtractiveModel], tuple[AnswerModel, Condenser]]


def build_model(settings: Settings, embedder: Embedder) -> tuple[AnswerModel, Condenser]:
    """The model `settings.model` names with its condenser; the extractive model is every LLM's fallback."""
    builders: dict[str, Builder] = {"extractive": _extractive, "openai-compatible": _openai_compatible}
    if settings.model not in builders:
        raise ConfigError(f"Unknown answer model {settings.model!r}; choose one of {', '.join(builders)}.")
    return builders[settings.model](settings, embedder, ExtractiveModel(max_sentences=settings.max_answer_sentences))


def _extractive(settings: Settings, embedder: Embedder, extractive: ExtractiveModel) -> tuple[AnswerModel, Condenser]:
    """The offline model with the heuristic condenser."""
    return extractive, condense


def _openai_compatible(
    settings: Settings, embedder: Embedder, extractive: ExtractiveModel
) -> tuple[AnswerModel, Condenser]:
    """An OpenAI-compatible server, which also condenses follow-ups unless `llm_condense` is off."""
    if not settings.llm_model:
        raise ConfigError(
            "QA_LLM_MODEL is required with QA_MODEL=openai-compatible.",
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
