"""Shared fixtures: a real service (real Chroma, real embedder) over a copy-free temporary index."""

import os
from pathlib import Path

import pytest

import qa

ROOT = Path(__file__).resolve().parents[1]
SEED = Path("seeds/lei-jun-xiaomi.txt")


@pytest.fixture(scope="session", autouse=True)
def _repo_root():
    """Sources are relative to the working directory, as a user runs `qa` from the repo."""
    os.chdir(ROOT)


@pytest.fixture(scope="session")
def service(tmp_path_factory) -> qa.QAService:
    """The article, indexed once into a temporary store, with default settings otherwise."""
    index = tmp_path_factory.mktemp("index")
    svc = qa.load(index_dir=index, documents=[Path("seeds")])
    report = svc.ingest()
    assert report.added == [str(SEED)] and not report.errors
    return svc


@pytest.fixture
def make_service(tmp_path):
    """A fresh service over its own index and documents folder, for tests that change documents."""

    def make(documents: Path, **overrides) -> qa.QAService:
        return qa.load(index_dir=tmp_path / "index", documents=[documents], **overrides)

    return make
