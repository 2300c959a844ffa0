"""The import budget: `import qa` and answering a question load none of the heavy ingest and web stacks
(checked by the modules a fresh interpreter ends up with, not by a timing)."""

import subprocess
import sys

INGEST_AND_WEB = [
    "llama_index.core",
    "nltk",
    "pandas",
    "gradio",
    "fastapi",
    "uvicorn",
    "tiktoken",
    "sklearn",
    "openai",
    "torch",
    "transformers",
]


def _loaded_after(code: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return set(done.stdout.split())


def _heavy(modules: set[str]) -> list[str]:
    return sorted(name for name in INGEST_AND_WEB if name in modules)


def test_import_qa_loads_no_heavy_stack():
    modules = _loaded_after("import qa")
    assert _heavy(modules) == []
    assert not {"chromadb", "scipy"} & modules, "the store loads when first used, and BM25 needs no scipy"
    assert not {"qa.service", "qa.settings", "numpy", "pydantic_settings"} & modules, "the service loads on first use"


def test_the_service_and_settings_load_on_first_use():
    modules = _loaded_after("import qa\nqa.QAService, qa.Settings, qa.load_settings")
    assert {"qa.service", "qa.settings"} <= modules and _heavy(modules) == []


def test_answering_from_an_existing_index_loads_no_ingest_or_web_stack(service):
    index = service.settings.index_dir
    modules = _loaded_after(
        f"import qa\nqa.load(index_dir={str(index)!r}, auto_ingest=False).ask('Who bought Joyo.com?')"
    )
    assert _heavy(modules) == []


def test_the_command_line_loads_the_web_stack_only_to_serve():
    modules = _loaded_after("import qa.apps.cli")
    assert not {"gradio", "fastapi", "uvicorn", "llama_index.core", "nltk"} & modules
