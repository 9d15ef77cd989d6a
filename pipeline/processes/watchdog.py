"""A memory limit for worker processes: a thread that kills a worker whose resident memory passes it.

One report can take a worker far past what a run is sized for (a zip bomb
inflating to gigabytes, a huge report). The kernel's OOM killer would end
some process of the machine, maybe not that one, and only once the whole
machine is short. Here the pool's own thread reads each worker's resident set
(`/proc/PID/statm`) every SAMPLE_SECONDS and sends SIGKILL to a worker over
its limit, as the OOM killer would: the chunk's attempt fails like any
worker death (`pipeline.processes.workers.WorkerDied`), and the pool's
isolation then finds the report that did it (`pipeline.processes.isolation`).

Resident memory is what the run's targets count (README, "Benchmark"), so it
is what is limited; an address-space limit (RLIMIT_AS) would count the
allocators' reservations too and fail allocations instead of ending the
process. A spike shorter than a sample can pass unseen; growth is rarely
that fast. Without /proc (not Linux) nothing is limited.
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading
from pathlib import Path

SAMPLE_SECONDS = 0.1
# A worker's limit unless the run names another (flows.py --worker-memory). A
# worker holds Python, Arrow, jieba and the rules (~220 MiB) and one chunk: it
# peaked at ~310 MB on the 1 GB benchmark and ~500 MB on a 62.9 MiB report,
# about the largest accepted (README, "Benchmark"). 1 GiB leaves twice that
# and keeps a worker near the 1 GB a process is meant to stay under; two
# workers (2 cores) at their limit hold 2 GiB of a 24 GiB machine.
DEFAULT_MEMORY_MIB = 1024
MIB = 1024 * 1024
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes(pid: int) -> int | None:
    """The process's resident set size in bytes, or None if it is gone (or there is no /proc)."""
    try:
        fields = Path(f"/proc/{pid}/statm").read_text(encoding="ascii").split()
    except OSError:
        return None
    return int(fields[1]) * _PAGE


class MemoryWatch:
    """Kills watched processes whose resident memory exceeds `limit_mib`; remembers whom and at what size."""

    def __init__(self, limit_mib: int) -> None:
        if limit_mib < 1:
            raise ValueError("a memory limit is at least 1 MiB")
        self.limit_mib = limit_mib
        self._watched: set[int] = set()
        self._killed: dict[int, int] = {}  # pid -> resident bytes when killed
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="worker-memory-watch", daemon=True)
        self._thread.start()

    def watch(self, pid: int) -> None:
        with self._lock:
            self._watched.add(pid)

    def forget(self, pid: int) -> None:
        with self._lock:
            self._watched.discard(pid)
            self._killed.pop(pid, None)

    def killed(self, pid: int) -> int | None:
        """The resident bytes at which `pid` was killed for its limit, or None if it was not."""
        with self._lock:
            return self._killed.get(pid)

    def check(self) -> None:
        """One pass over the watched processes (the thread runs one every SAMPLE_SECONDS)."""
        limit = self.limit_mib * MIB
        with self._lock:
            pids = sorted(self._watched - self._killed.keys())
        for pid in pids:
            size = resident_bytes(pid)
            if size is None or size <= limit:
                continue
            with self._lock:
                if pid not in self._watched:
                    continue  # stopped meanwhile: its pid may be another process's now
                self._killed[pid] = size
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.check()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
