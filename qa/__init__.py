"""docqa: ask questions of your documents; every claim in the answer cites its exact passage.

import qa
service = qa.load()
reply = service.ask("Who bought Joyo.com?")
reply.answer, reply.citations, reply.supported
"""

from typing import TYPE_CHECKING

from qa.errors import (
    ConfigError,
    DocumentError,
    IndexUnavailable,
    InvalidQuestion,
    ModelUnavailable,
    QAError,
)
from qa.reply import REFUSAL, Citation, Delta, Reply, SourcePassage

if TYPE_CHECKING:
    from qa.service import QAService
    from qa.settings import Settings, load_settings

__version__ = "0.1.0"

# Loaded on first use: settings (pydantic), numpy and the question side cost a host program about 0.3 s,
# which `import qa` alone (to catch qa.QAError, say) should not.
_ON_FIRST_USE = {"QAService": "qa.service", "Settings": "qa.settings", "load_settings": "qa.settings"}


def __getattr__(name: str) -> object:
    if name in _ON_FIRST_USE:
        import importlib

        return getattr(importlib.import_module(_ON_FIRST_USE[name]), name)
    raise AttributeError(f"module 'qa' has no attribute {name!r}")


def load(**overrides: object) -> "QAService":
    """A ready service from settings (defaults < qa.toml < QA_* environment < these overrides)."""
    from qa.service import QAService
    from qa.settings import load_settings

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
