"""Worker processes that extract chunks for the flow on this machine.

Extraction is CPU-bound pure Python, so chunks run in processes. They are
plain ones, started with `python -m pipeline.processes.workers`, rather than a task
runner's or multiprocessing's: those re-import the main script (flows.py,
hence Prefect) and run Prefect's task engine in every worker, ~100 MB each
that extraction never uses, and they receive the pickled rules (~1 MB) with
every task. Here each worker imports only this package, gets the rules once,
then takes chunks one at a time over a socket (pickled `ChunkJob` and
`RunContext` in, `ChunkOutcome` out). The flow's tasks are threads that hand
a chunk to an idle worker and wait for it.

Each worker runs under a memory limit (`pipeline.processes.watchdog`:
killed past `DEFAULT_MEMORY_MIB` of resident memory unless the pool is given
another limit). A worker that dies (killed, over its limit, out of memory)
fails the chunk it held with `WorkerDied` and is replaced;
`pipeline.processes.isolation` runs such a chunk again with its reports
apart. A worker whose parent dies exits within a second, even in the middle
of a chunk (`exit_with_parent`). `python flows.py --workers 1` has one worker: the
flow's own process never extracts (flows.py says why).
"""
from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Self

from pipeline.processes import memory, spawn
from pipeline.processes.watchdog import DEFAULT_MEMORY_MIB, MIB, MemoryWatch
from pipeline.rules.compiler import Rules
from pipeline.runs.chunks import ChunkOutcome, process_chunk
from pipeline.runs.plan import ChunkJob, RunContext

STOP_SECONDS = 10.0  # a worker asked to stop after its chunk gets this long before it is killed
PARENT_POLL_SECONDS = 0.5  # how often a worker checks that the flow's process is still there
_active: ChunkWorkers | None = None


class WorkerDied(RuntimeError):
    """A worker process ended while it held a chunk.

    `code` is its exit code (negative: the signal that ended it); `resident`
    its resident bytes when the pool killed it for its memory limit of
    `limit_mib`, else None.
    """

    def __init__(self, message: str, code: int, resident: int | None = None, limit_mib: int | None = None) -> None:
        self.code = code
        self.resident = resident
        self.limit_mib = limit_mib
        super().__init__(f"{message}{self.over_limit()}")

    def cause(self) -> str:
        """How the worker ended: `signal 9`, `exit code 1`."""
        return f"signal {-self.code}" if self.code < 0 else f"exit code {self.code}"

    def over_limit(self) -> str:
        """`: over its memory limit (...)` when the pool killed it for that, else ``."""
        if self.resident is None:
            return ""
        return f": over the worker memory limit of {self.limit_mib} MiB ({self.resident / MIB:.0f} MiB resident)"


class PoolClosed(RuntimeError):
    """The pool was stopped (the run is ending) while a chunk waited for a worker or ran in one."""


class WorkerError(RuntimeError):
    """The chunk raised in the worker; the message carries the worker's traceback."""


class _Worker:
    """One worker process and the parent's end of its socket."""

    def __init__(self, rules: Rules, watch: MemoryWatch | None) -> None:
        parent, child = socket.socketpair()
        with child:
            self.process = subprocess.Popen(
                spawn.command("processes.workers", str(child.fileno())), pass_fds=[child.fileno()],
                env=spawn.environment(),
            )
        self.watch = watch
        if watch is not None:
            watch.watch(self.process.pid)
        self.conn = Connection(parent.detach())
        self.conn.send(rules)

    def run(self, job: ChunkJob, context: RunContext) -> ChunkOutcome:
        try:
            self.conn.send((job, context))
            status, value = self.conn.recv()
        except (EOFError, OSError):
            resident = self._unwatch()  # before the wait: a reaped process's pid may be reused
            code = self.process.wait()
            raise WorkerDied(f"worker process {self.process.pid} exited with code {code} "
                             f"while extracting chunk {job.index}", code, resident,
                             self.watch.limit_mib if self.watch else None) from None
        if status != "ok":
            raise WorkerError(f"chunk {job.index} failed in worker process {self.process.pid}:\n{value}")
        outcome: ChunkOutcome = value
        return outcome

    def _unwatch(self) -> int | None:
        """Stop watching this worker; the resident bytes it was killed at for its limit, if it was."""
        if self.watch is None:
            return None
        resident = self.watch.killed(self.process.pid)
        self.watch.forget(self.process.pid)
        return resident

    def stop(self, kill: bool = False) -> None:
        self._unwatch()
        if not kill:
            with contextlib.suppress(OSError):
                self.conn.send(None)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(0 if kill else STOP_SECONDS)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.conn.close()


class ChunkWorkers:
    """`processes` worker processes; `run` blocks until a worker is free, then until its chunk is done.

    Each worker is killed past `memory_mib` of resident memory (None: no limit).
    As a context manager it is the active pool of this process (`active`);
    leaving the block stops the workers, at once if an exception left it.
    Chunks still running then fail with `PoolClosed`, not as a worker death.
    """

    def __init__(self, processes: int, rules: Rules, memory_mib: int | None = DEFAULT_MEMORY_MIB) -> None:
        if processes < 1:
            raise ValueError("need at least one worker process")
        self._rules = rules
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False
        self._watch = MemoryWatch(memory_mib) if memory_mib is not None else None
        for _ in range(processes):  # started now: their imports overlap with planning the run
            self._idle.put(self._start())

    @property
    def memory_mib(self) -> int | None:
        """Each worker's memory limit, or None."""
        return self._watch.limit_mib if self._watch else None

    def _start(self) -> _Worker:
        worker = _Worker(self._rules, self._watch)
        with self._lock:
            self._all.append(worker)
        return worker

    def run(self, job: ChunkJob, context: RunContext) -> ChunkOutcome:
        worker = self._idle.get()
        if worker is None:  # close() woke us: no worker will come
            self._idle.put(None)
            raise PoolClosed(f"the worker pool stopped before chunk {job.index} ran")
        try:
            return worker.run(job, context)
        except WorkerDied:
            with self._lock:
                closing = self._closed
                if not closing:
                    self._all.remove(worker)
            if closing:  # close() ended it: the run is stopping, not the worker failing
                raise PoolClosed(f"the worker pool stopped while chunk {job.index} ran") from None
            worker.stop(kill=True)
            worker = self._start()
            raise
        finally:
            self._idle.put(None if self._closed else worker)

    def pids(self) -> list[int]:
        """The worker processes' ids, in start order."""
        with self._lock:
            return [worker.process.pid for worker in self._all]

    def close(self, kill: bool = False) -> None:
        with self._lock:
            self._closed = True
            workers, self._all = self._all, []
        self._idle.put(None)  # wakes a chunk waiting for a worker
        for worker in workers:
            worker.stop(kill)
        if self._watch is not None:
            self._watch.close()

    def __enter__(self) -> Self:
        global _active  # noqa: PLW0603 - the flow's tasks find the pool of their run here
        _active = self
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        global _active  # noqa: PLW0603
        _active = None
        self.close(kill=exc_type is not None)


def active() -> ChunkWorkers | None:
    """The pool the flow started in this process, if any (None on a Dask worker)."""
    return _active


def serve(conn: Connection) -> None:
    """A worker's loop: the rules, then chunks until None or end-of-file.

    End-of-file, even in the middle of a message, means the parent is gone
    (stopped while it sent the rules, say): the worker leaves quietly.
    """
    try:
        rules: Rules = conn.recv()
    except (EOFError, OSError):
        return
    with memory.long_lived():  # the modules and rules: not walked again after every chunk
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):  # the parent is gone
                return
            if message is None:
                return
            job, context = message
            try:
                reply: tuple[str, object] = ("ok", process_chunk(job, context, rules))
            except Exception:
                reply = ("error", traceback.format_exc())
            try:
                conn.send(reply)
            except OSError:  # the parent is gone
                return


def exit_with_parent(poll_seconds: float = PARENT_POLL_SECONDS) -> threading.Thread:
    """End this process soon after its parent ends, even in the middle of a chunk.

    A worker waiting for a chunk reads end-of-file when its parent dies; one
    extracting would finish its chunk first, for nobody. The parent's death
    is seen as a new parent pid (the worker is handed to init). Not the
    kernel's parent-death signal: that follows the thread that started the
    worker, and replacements are started by the flow's task threads.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os._exit(1)

    thread = threading.Thread(target=watch, name="exit-with-parent", daemon=True)
    thread.start()
    return thread


if __name__ == "__main__":
    memory.keep_pandas_out()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the flow's to handle: it stops the workers
    exit_with_parent()
    serve(Connection(int(sys.argv[1])))
