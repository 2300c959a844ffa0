"""The notebook catalog: each notebook's id, name, owner and creation time, kept in Chroma itself.

Kept beside the notebooks' own collections (embedded folder or Chroma server alike), so every process
that opens the same store sees the same notebooks and a restart loses none of them.
"""

import time
from dataclasses import dataclass
from typing import Any

from qa.errors import IndexUnavailable


@dataclass(frozen=True)
class Notebook:
    """A collection of documents with its own conversation; `owner` None means shared."""

    id: str
    name: str
    owner: str | None
    created: float

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "owner": self.owner, "created": self.created}


class Catalog:
    """Notebook records in the collection `<name>-notebooks` (one 1-dimensional placeholder vector each)."""

    def __init__(self, client: Any, name: str):
        try:
            self._col = client.get_or_create_collection(f"{name}-notebooks", embedding_function=None)
        except Exception as exc:
            raise IndexUnavailable(f"Cannot open the notebook catalog: {type(exc).__name__}: {exc}") from None

    def all(self) -> list[Notebook]:
        got = self._call(self._col.get, include=["metadatas"])
        books = [
            Notebook(i, str(m["name"]), str(m["owner"]) or None, float(m["created"]))
            for i, m in zip(got["ids"], got["metadatas"] or [])
        ]
        return sorted(books, key=lambda b: b.created)

    def put(self, book: Notebook) -> None:
        meta = {"name": book.name, "owner": book.owner or "", "created": book.created or time.time()}
        self._call(self._col.upsert, ids=[book.id], embeddings=[[1.0]], metadatas=[meta], documents=[book.name])

    def remove(self, book_id: str) -> None:
        self._call(self._col.delete, ids=[book_id])

    @staticmethod
    def _call(fn: Any, **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except Exception as exc:
            raise IndexUnavailable(
                f"The notebook catalog cannot be read or written: {type(exc).__name__}: {exc}",
                hint="Check that the index (or the Chroma server) is reachable.",
            ) from None
