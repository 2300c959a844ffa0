"""Opening Chroma: a local folder (PersistentClient) or a Chroma server (HttpClient, `QA_CHROMA_URL`).

Kept apart from the store so that what may go wrong before a store exists (a folder that is not an index,
a server that does not answer) reads in one place, and so that the CLI can set a damaged index aside
without loading the store.
"""

import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from qa.errors import IndexUnavailable

log = logging.getLogger(__name__)

_MARKER = "chroma.sqlite3"
# eval-texts: `qa eval` SQuAD contexts; query-cache: the question side's copy of the records
# (qa/query/record_cache.py CACHE_FOLDER), which a Chroma server's users keep here with no local index
_IGNORED = {".gitkeep", ".gitignore", "README.md", "eval-texts", "query-cache"}


def open_persistent_client(path: Path) -> Any:
    """A Chroma PersistentClient at `path`, telemetry off; refuses a folder that is not an index."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    if path.exists() and not path.is_dir():
        raise IndexUnavailable(f"Index path {path} is a file, not a folder.")
    if path.is_dir():
        foreign = [p.name for p in path.iterdir() if p.name not in _IGNORED]
        if foreign and not (path / _MARKER).exists():
            raise IndexUnavailable(
                f"{path} holds files that are not a docqa index ({', '.join(sorted(foreign)[:3])}); "
                "nothing was changed.",
                hint="Point QA_INDEX_DIR at an empty or existing index folder.",
            )
    try:
        return chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
    except Exception as exc:  # chromadb raises many types for a damaged store
        raise IndexUnavailable(f"Cannot open the index at {path}: {short_error(exc)}") from None


def open_http_client(url: str) -> Any:
    """A Chroma HttpClient for a server at `url` (http://host:port), telemetry off; checks it answers."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IndexUnavailable(f"QA_CHROMA_URL {url!r} is not an http(s)://host:port address.", hint="")
    try:
        client = chromadb.HttpClient(
            host=parts.hostname,
            port=parts.port or (443 if parts.scheme == "https" else 80),
            ssl=parts.scheme == "https",
            settings=ChromaSettings(anonymized_telemetry=False),
        )
        client.heartbeat()
    except Exception as exc:
        raise unreachable(url, exc) from None
    return client


def set_aside(path: Path) -> Path:
    """Move a damaged index out of the way (never delete it) so a rebuild can start clean."""
    from chromadb.api.client import SharedSystemClient

    target = path.with_name(f"{path.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}")
    path.rename(target)
    SharedSystemClient.clear_system_cache()  # Chroma caches the failed client by path
    log.warning("moved the unreadable index %s to %s", path, target)
    return target


def unreachable(url: str, exc: Exception) -> IndexUnavailable:
    """The error for a Chroma server that does not answer: start it, not rebuild the index."""
    return IndexUnavailable(
        f"Cannot reach the Chroma server at {url}: {short_error(exc)}",
        hint="Start it (`chroma run --path DIR --host HOST --port PORT`) "
        "or unset QA_CHROMA_URL to use the local index.",
    )


def server_url(client: Any) -> str:
    """The address an HttpClient talks to, as `http(s)://host:port`."""
    settings = client.get_settings()
    scheme = "https" if settings.chroma_server_ssl_enabled else "http"
    return f"{scheme}://{settings.chroma_server_host}:{settings.chroma_server_http_port}"


def short_error(exc: Exception) -> str:
    """The exception's type and first line: Chroma's messages can run to pages."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__
