"""Markers of writes in progress, and whether the writer of one may still be at work.

Every document write (and removal) leaves a marker in the store until it is done; `repair()` deletes what
the writes behind leftover markers left half-done. Several processes may write into one Chroma server at
once, so a marker is only taken for a crash when its writer cannot still be writing: on this machine, its
process is gone (or, in this process, no thread is writing it); on another machine, which cannot be asked,
it is older than `GRACE`. A half-written document is invisible meanwhile (readers take only committed
versions), so waiting costs nothing but space.
"""

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

GRACE = 3600.0  # seconds after which another machine's unfinished write is taken for a crash

_in_flight: set[str] = set()
_lock = threading.Lock()


def marker(source: str, doc_hash: str) -> dict[str, Any]:
    """A marker's metadata: what is being written, by which process on which machine, since when."""
    return {
        "source": source,
        "doc_hash": doc_hash,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": time.time(),
    }


@contextmanager
def in_flight(marker_id: str) -> Iterator[None]:
    """Mark `marker_id` as being written by this process for the duration of the block."""
    with _lock:
        _in_flight.add(marker_id)
    try:
        yield
    finally:
        with _lock:
            _in_flight.discard(marker_id)


def may_be_active(marker_id: str, meta: dict[str, Any]) -> bool:
    """Whether the writer of this marker may still be writing (then its records must be left alone)."""
    if meta.get("host") != socket.gethostname():
        return "started" in meta and time.time() - float(meta["started"]) < GRACE
    pid = int(meta.get("pid", 0))
    if pid <= 0:
        return False  # no writer recorded; and os.kill(0 or -1) would signal whole groups, not one process
    if pid == os.getpid():
        with _lock:
            return marker_id in _in_flight
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True
