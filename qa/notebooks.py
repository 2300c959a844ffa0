"""Notebooks: separate collections of documents, each asked on its own, kept apart per user.

The configured collection is the first notebook (`default`: the bundled documents). Every other notebook
is a Chroma collection of its own beside it, with its uploads in a folder of its own under `upload_dir`,
and a record in the catalog (`qa/index/catalog.py`), so they all survive a restart. With logins on, a
user sees the shared default notebook (read-only) and only the notebooks they made.
"""

import logging
import shutil
import threading
import time
import uuid
from collections.abc import Mapping

from qa.errors import InvalidQuestion, QAError
from qa.index.catalog import Catalog, Notebook
from qa.service import QAService
from qa.text import clean_text

log = logging.getLogger(__name__)

DEFAULT_ID = "default"
_NAME_MAX = 60


class NotebookNotFound(QAError):
    """No notebook with this id that the caller may use."""


class Notebooks:
    """Create, list, rename and delete notebooks; the services that answer from each."""

    def __init__(
        self,
        services: Mapping[str, QAService],
        default_name: str = "Bundled documents",
        default_read_only: bool = False,
    ):
        """`services` answer from the configured collection, one per answer model (the configured one first);
        `default_read_only` keeps users from changing the shared notebook (set when logins are on)."""
        self._models = dict(services)
        self._main = next(iter(services.values()))
        self._catalog = Catalog(self._main.store.client, self._main.settings.collection)
        self._default = Notebook(DEFAULT_ID, default_name, None, 0.0)
        self._default_read_only = default_read_only
        self._open: dict[str, dict[str, QAService]] = {DEFAULT_ID: self._models}
        self._lock = threading.Lock()

    def list(self, user: str | None = None) -> list[Notebook]:
        """The default notebook, then `user`'s own (without logins: every notebook), oldest first."""
        return [self._default, *(book for book in self._catalog.all() if book.owner == user)]

    def get(self, book_id: str, user: str | None = None) -> Notebook:
        for book in self.list(user):
            if book.id == book_id:
                return book
        raise NotebookNotFound(f"No notebook {book_id!r}.", hint="Choose one from the notebook list.")

    def create(self, name: str, user: str | None = None) -> Notebook:
        book = Notebook(f"nb{uuid.uuid4().hex[:10]}", _clean_name(name), user, time.time())
        self._catalog.put(book)
        log.info("notebook %s (%s) created for %s", book.id, book.name, user or "everyone")
        return book

    def rename(self, book_id: str, name: str, user: str | None = None) -> Notebook:
        book = self._own(book_id, user)
        renamed = Notebook(book.id, _clean_name(name), book.owner, book.created)
        self._catalog.put(renamed)
        return renamed

    def delete(self, book_id: str, user: str | None = None) -> None:
        """Forget the notebook, its index and its uploaded files."""
        book = self._own(book_id, user)
        service = self.services(book.id, user)
        self._catalog.remove(book.id)
        with self._lock:
            self._open.pop(book.id, None)
        first = next(iter(service.values()))
        first.delete_index()
        shutil.rmtree(first.settings.upload_dir, ignore_errors=True)

    def services(self, book_id: str, user: str | None = None) -> dict[str, QAService]:
        """The services answering from a notebook, by answer model (the configured one first)."""
        book = self.get(book_id, user)
        with self._lock:
            if book.id not in self._open:
                collection = f"{self._main.settings.collection}-{book.id}"
                folder = self._main.settings.upload_dir / book.id
                self._open[book.id] = {
                    name: service.sibling(collection, folder) for name, service in self._models.items()
                }
            return self._open[book.id]

    def writable(self, book_id: str, user: str | None = None) -> QAService:
        """The service to add documents to or remove them from; the shared notebook may be read-only."""
        book = self.get(book_id, user)
        if book.id == DEFAULT_ID and self._default_read_only:
            raise InvalidQuestion(
                "The shared notebook cannot be changed.", hint="Create a notebook of your own and upload there."
            )
        return next(iter(self.services(book.id, user).values()))

    def _own(self, book_id: str, user: str | None) -> Notebook:
        book = self.get(book_id, user)
        if book.id == DEFAULT_ID:
            raise InvalidQuestion("The bundled notebook cannot be renamed or deleted.")
        return book


def _clean_name(name: object) -> str:
    text = " ".join(clean_text(name).split()) if isinstance(name, str) else ""
    if not text:
        raise InvalidQuestion("A notebook needs a name.", hint="Type a name for the notebook.")
    return text[:_NAME_MAX]
