"""A corrupt or foreign index folder gives a clear error and is left exactly as it was."""

import pytest

import qa
from qa.query.record_cache import CACHE_FOLDER


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_foreign_folder_is_refused_and_untouched(tmp_path):
    index = tmp_path / "index"
    index.mkdir()
    (index / "thesis.docx").write_bytes(b"my precious thesis")
    before = _snapshot(index)
    with pytest.raises(qa.IndexUnavailable, match="not a docqa index"):
        qa.load(index_dir=index)
    assert _snapshot(index) == before


def test_a_folder_holding_only_a_servers_record_cache_is_still_an_index_folder(tmp_path):
    """With QA_CHROMA_URL the index folder keeps only the query cache; using the folder locally afterwards
    must not call it foreign."""
    index = tmp_path / "index"
    (index / CACHE_FOLDER / "server-0123456789abcdef").mkdir(parents=True)
    service = qa.load(index_dir=index, documents=[])
    assert service.documents() == [] and (index / "chroma.sqlite3").exists()


def test_corrupt_store_is_reported(tmp_path):
    index = tmp_path / "index"
    index.mkdir()
    (index / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    before = _snapshot(index)
    with pytest.raises(qa.IndexUnavailable) as err:
        svc = qa.load(index_dir=index)
        svc.ask("Who bought Joyo.com?")
    assert "qa ingest --rebuild" in err.value.user_message() or "index" in str(err.value).lower()
    assert _snapshot(index) == before


def test_index_path_that_is_a_file_is_refused(tmp_path):
    path = tmp_path / "index"
    path.write_text("x")
    with pytest.raises(qa.IndexUnavailable, match="is a file"):
        qa.load(index_dir=path)
