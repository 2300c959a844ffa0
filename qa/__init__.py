"""docqa: ask questions of your documents; every claim in the answer cites its exact passage.

import qa
service = qa.load()
reply = service.ask("Who bought Joyo.com?")
reply.answer, reply.citations, reply.supported
"""

from qa.errors import (
    ConfigError,
    DocumentError,
    IndexUnavailable,
    InvalidQuestion,
    ModelUnavailable,
    QAError,
)
from qa.reply import REFUSAL, Citation, Delta, Reply, SourcePassage
from qa.service import QAService
from qa.settings import Settings, load_settings

__version__ = "0.1.0"


def load(**overrides: object) -> QAService:
    """A ready service from settings (defaults < qa.toml < QA_* environment < these overrides)."""
    return QAService.from_settings(load_settings(**overrides))


__all__ = [
    "REFUSAL",
    "Citation",
    "ConfigError",
    "Delta",
    "DocumentError",
    "IndexUnavailable",
    "InvalidQuestion",
    "ModelUnavailable",
    "QAError",
    "QAService",
    "Reply",
    "Settings",
    "SourcePassage",
    "load",
    "load_settings",
]
