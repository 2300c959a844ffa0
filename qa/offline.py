"""Process-wide offline set-up for docqa's own programs (the `qa` command, the web chat, benchmarks).

Chroma, Gradio, LlamaIndex and Hugging Face libraries read these variables at import time, so the
entry points call `prepare()` before importing them. `import qa` does not: a library leaves its host's
environment and loggers alone. The library itself stays offline without them: Chroma clients are made
with telemetry off, and the tokenizer and sentence data are read from the files llama-index-core ships
(`shipped_tiktoken`, `qa.text`).
"""

import importlib.util
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_DONE = False

_ENVIRONMENT = {
    "ANONYMIZED_TELEMETRY": "False",  # Chroma
    "CHROMA_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def llama_index_static_dir() -> Path:
    """llama-index-core ships the tiktoken and NLTK data it needs; we read it from there."""
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("llama-index-core is not installed")
    return Path(spec.submodule_search_locations[0]) / "_static"


def prepare() -> None:
    """Set the offline environment once; later calls are no-ops. Explicit user settings win."""
    global _DONE
    if _DONE:
        return
    for key, value in _ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    static = llama_index_static_dir()
    # Forced, not defaulted: any other cache directory would make tiktoken download.
    os.environ["TIKTOKEN_CACHE_DIR"] = str(static / "tiktoken_cache")
    os.environ.setdefault("NLTK_DATA", str(static / "nltk_cache"))
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # damaged files become one DocumentError instead
    _DONE = True


@contextmanager
def shipped_tiktoken() -> Iterator[None]:
    """Within the block, tiktoken reads its encodings from the cache llama-index-core ships (no download);
    the variable is restored afterwards, so the host's environment is unchanged."""
    before = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(llama_index_static_dir() / "tiktoken_cache")
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = before
