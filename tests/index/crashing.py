"""A writer killed just before its commit, for the tests of what a crash leaves and how it is repaired."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest


@contextmanager
def killed_at_commit(store, monkeypatch) -> Iterator[None]:
    """Inside the block, a write through `store` stores everything up to its commit record and then fails,
    as a writer killed at that moment would; the block must attempt such a write."""
    upsert = store._upsert

    def killed(kind: str, *args: object) -> None:
        if kind == "documents":
            raise RuntimeError("killed before the commit record")
        upsert(kind, *args)

    monkeypatch.setattr(store, "_upsert", killed)
    try:
        with pytest.raises(RuntimeError, match="killed before the commit record"):
            yield
    finally:
        monkeypatch.setattr(store, "_upsert", upsert)
