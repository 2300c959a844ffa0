"""Process-wide offline set-up, done once before any library that might phone home is imported.

Chroma, Gradio, LlamaIndex and Hugging Face libraries read these variables at import time,
so `qa/__init__.py` calls `prepare()` before importing them.
"""

import importlib.util
import os
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
    _DONE = True
