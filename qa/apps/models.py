"""The answer models a server offers, by name: shared by the web chat, `/ask` and the HTTP API."""

from collections.abc import Mapping

from qa.answering.factory import build_model
from qa.errors import InvalidQuestion
from qa.service import QAService


def answer_models(service: QAService) -> dict[str, QAService]:
    """The configured model first; with an LLM configured, the offline extractive one as well."""
    services = {service.model.name: service}
    if "extractive" not in services:
        offline = service.settings.model_copy(update={"model": "extractive"})
        services["extractive"] = service.with_model(*build_model(offline, service.embedder))
    return services


def pick(services: Mapping[str, QAService], model: str | None) -> QAService:
    """The service answering with `model`; the first (configured) one when not given."""
    if model is None:
        return next(iter(services.values()))
    if model not in services:
        raise InvalidQuestion(f"Unknown answer model {model!r}; this server offers {', '.join(services)}.")
    return services[model]
