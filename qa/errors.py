"""The error types every front end turns into a message: one hierarchy, one place."""


class QAError(Exception):
    """Base of every error the product raises on purpose; its message is meant for the user."""

    hint: str = ""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    def user_message(self) -> str:
        """One line for a person: what went wrong and, where known, what to do."""
        text = str(self)
        return f"{text} {self.hint}".strip() if self.hint else text


class InvalidQuestion(QAError):
    """The question cannot be asked: empty, too long, or not text."""


class DocumentError(QAError):
    """A document cannot be read: missing, not UTF-8, binary, too large or empty."""


class IndexUnavailable(QAError):
    """The index cannot be opened or read (corrupt, foreign, locked, server down)."""

    hint = "Rebuild it with `qa ingest --rebuild`, or point QA_INDEX_DIR somewhere else."


class ConfigError(QAError):
    """A setting or config file is invalid."""


class ModelUnavailable(QAError):
    """The LLM server cannot answer: unreachable, too slow, refusing the key, failing, or garbling."""

    hint = "Check QA_LLM_BASE_URL, QA_LLM_MODEL and QA_LLM_API_KEY, or set QA_LLM_FALLBACK=true."


class EmbedderUnavailable(ModelUnavailable):
    """An embedding server (QA_EMBED_URL) cannot embed: unreachable, too slow, refusing the key, failing,
    or garbling its reply. A ModelUnavailable, so front ends treat it like a failing model server (503)."""

    hint = (
        "Check QA_EMBED_URL (OpenAI-compatible bases ending in /v1), QA_EMBED_MODEL and QA_EMBED_API_KEY, "
        "or unset QA_EMBED_URL to embed locally."
    )
