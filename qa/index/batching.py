"""Embedding the queries of concurrent questions together, on one or more engines at once.

The engine embeds one query in about 25 ms and eight in about 95 ms (2 cores): most of a lone query's
cost is fixed overhead. When a server answers many questions at once, the queries waiting for an
engine are embedded as one batch. Nobody waits for a timer: a caller that finds an engine lane free
runs at once with whatever is queued, so a lone question is as fast as before; callers that arrive
while every lane is busy queue up and go in the next batch. With several lanes (one engine each),
batches run side by side: on 2 cores with 20 callers, two single-threaded engines embedded 70-87
queries/s against 64-75 for one engine on two OpenMP threads (whose threads idle at every barrier),
and a server's answers/s rose from 55 to 75. Two lanes of 8 texts hold as many queries as one of 16.

A caller that leads a lane runs batches until its own query is answered (by its lane or another),
then steps down and hands the lane to a waiting caller, so no caller keeps serving others' batches.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class _Request:
    texts: list[str]
    ready: threading.Event = field(default_factory=threading.Event)
    result: np.ndarray | None = None
    error: BaseException | None = None
    lead: bool = False

    @property
    def done(self) -> bool:
        return self.result is not None or self.error is not None


class QueryBatcher:
    """Calls `embed(texts)` for several callers' texts at once, at most `lanes` calls at a time; each
    caller gets its own rows back."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray], max_texts: int = 8, lanes: int = 1):
        self._embed = embed
        self._max = max_texts
        self._lanes = max(1, lanes)
        self._lock = threading.Lock()
        self._pending: list[_Request] = []
        self._leaders = 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        request = _Request(list(texts))
        with self._lock:
            self._pending.append(request)
            if self._leaders < self._lanes:
                self._leaders += 1
                request.lead = True
        while True:
            if request.lead:
                self._lead(request)
            if request.done:
                break
            request.ready.wait()
            request.ready.clear()
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result

    def alone(self) -> bool:
        """Whether the batch running now is the only work: no other lane is running one, nobody is waiting."""
        with self._lock:
            return self._leaders <= 1 and not self._pending

    def _lead(self, own: _Request) -> None:
        """Run batches while `own` waits in the queue; once it is answered or taken into another lane's
        batch, step down and pass the lane to a waiting caller (or leave it free)."""
        while True:
            with self._lock:
                if own.done or own not in self._pending:
                    own.lead = False
                    self._leaders -= 1
                    successor = next((r for r in self._pending if not r.lead), None)
                    if successor is not None:
                        successor.lead = True
                        self._leaders += 1
                        successor.ready.set()
                    return
                batch: list[_Request] = []
                size = 0
                while self._pending and (not batch or size + len(self._pending[0].texts) <= self._max):
                    size += len(self._pending[0].texts)
                    batch.append(self._pending.pop(0))
            self._run(batch)

    def _run(self, batch: list[_Request]) -> None:
        try:
            vectors = self._embed([text for request in batch for text in request.texts])
        except BaseException as exc:  # every caller of the batch gets the failure, not just the leader
            for request in batch:
                request.error = exc
                request.ready.set()
            return
        start = 0
        for request in batch:
            request.result = vectors[start : start + len(request.texts)]
            start += len(request.texts)
            request.ready.set()
