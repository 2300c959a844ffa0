"""The settings: precedence (defaults < qa.toml < QA_* environment < arguments), one clear error for a bad
value, and every `Settings` field documented in a README configuration table (as datasette checks its settings
against its docs)."""

import re
from pathlib import Path

import pytest

import qa
from qa.settings import Settings, load_settings


def _documented() -> set[str]:
    names: set[str] = set()
    for line in Path("README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            names |= {n.strip() for n in re.split(r"/", line.split("|")[1])}
    return names


def test_every_setting_is_in_the_readme():
    missing = set(Settings.model_fields) - {"config"} - _documented()
    assert not missing, f"add these settings to the README's configuration tables: {sorted(missing)}"


def test_settings_precedence(tmp_path, monkeypatch):
    config = tmp_path / "qa.toml"
    config.write_text('top_k = 7\nchunk_size = 200\ncollection = "fromfile"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert load_settings().top_k == 7
    monkeypatch.setenv("QA_TOP_K", "9")
    settings = load_settings()
    assert (settings.top_k, settings.chunk_size, settings.collection) == (9, 200, "fromfile")
    assert load_settings(top_k=3).top_k == 3


def test_invalid_settings_are_one_clear_error(monkeypatch):
    monkeypatch.setenv("QA_TOP_K", "many")
    with pytest.raises(qa.ConfigError, match="top_k"):
        load_settings()
    monkeypatch.delenv("QA_TOP_K")
    with pytest.raises(qa.ConfigError, match="Config file not found"):
        load_settings(config="/nonexistent/qa.toml")


def test_the_old_name_of_the_model_setting_still_works(tmp_path, monkeypatch):
    """`llm` / QA_LLM was the model setting's name: deprecated, still read, and QA_MODEL wins over it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QA_LLM", "openai-compatible")
    assert load_settings().model == "openai-compatible"
    monkeypatch.setenv("QA_MODEL", "extractive")
    assert load_settings().model == "extractive"
    monkeypatch.delenv("QA_MODEL")
    monkeypatch.delenv("QA_LLM")
    monkeypatch.setenv("LLM", "openai-compatible")
    monkeypatch.setenv("MODEL", "openai-compatible")
    assert load_settings().model == "extractive", "only QA_-prefixed variables are settings"
    (tmp_path / "qa.toml").write_text('llm = "openai-compatible"\n', encoding="utf-8")
    assert load_settings().model == "openai-compatible"
    assert load_settings(llm="extractive").model == "extractive"
