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

A worker that dies (killed, out of memory) fails the chunk it held with
`WorkerDied` and is replaced; a worker whose parent dies reads end-of-file
and exits. `python flows.py --workers 1` has one worker: the flow's own
process never extracts (flows.py says why).
"""
from __future__ import annotations

import contextlib
import queue
import signal
import socket
import subprocess
import sys
import threading
import traceback
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Self

from pipeline.processes import memory, spawn
from pipeline.rules.compiler import Rules
from pipeline.runs.chunks import ChunkOutcome, process_chunk
from pipeline.runs.plan import ChunkJob, RunContext

STOP_SECONDS = 10.0  # a worker asked to stop after its chunk gets this long before it is killed
_active: ChunkWorkers | None = None


class WorkerDied(RuntimeError):
    """A worker process ended while it held a chunk."""


class WorkerError(RuntimeError):
    """The chunk raised in the worker; the message carries the worker's traceback."""


class _Worker:
    """One worker process and the parent's end of its socket."""

    def __init__(self, rules: Rules) -> None:
        parent, child = socket.socketpair()
        with child:
            self.process = subprocess.Popen(
                spawn.command("processes.workers", str(child.fileno())), pass_fds=[child.fileno()],
                env=spawn.environment(),
            )
        self.conn = Connection(parent.detach())
        self.conn.send(rules)

    def run(self, job: ChunkJob, context: RunContext) -> ChunkOutcome:
        try:
            self.conn.send((job, context))
            status, value = self.conn.recv()
        except (EOFError, OSError):
            code = self.process.wait()
            raise WorkerDied(f"worker process {self.process.pid} exited with code {code} "
                             f"while extracting chunk {job.index}") from None
        if status != "ok":
            raise WorkerError(f"chunk {job.index} failed in worker process {self.process.pid}:\n{value}")
        outcome: ChunkOutcome = value
        return outcome

    def stop(self, kill: bool = False) -> None:
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

    As a context manager it is the active pool of this process (`active`);
    leaving the block stops the workers, at once if an exception left it.
    """

    def __init__(self, processes: int, rules: Rules) -> None:
        if processes < 1:
            raise ValueError("need at least one worker process")
        self._rules = rules
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        for _ in range(processes):  # started now: their imports overlap with planning the run
            self._idle.put(self._start())

    def _start(self) -> _Worker:
        worker = _Worker(self._rules)
        with self._lock:
            self._all.append(worker)
        return worker

    def run(self, job: ChunkJob, context: RunContext) -> ChunkOutcome:
        worker = self._idle.get()
        try:
            return worker.run(job, context)
        except WorkerDied:
            with self._lock:
                self._all.remove(worker)
            worker.stop(kill=True)
            worker = self._start()
            raise
        finally:
            self._idle.put(worker)

    def pids(self) -> list[int]:
        """The worker processes' ids, in start order."""
        with self._lock:
            return [worker.process.pid for worker in self._all]

    def close(self, kill: bool = False) -> None:
        with self._lock:
            workers, self._all = self._all, []
        for worker in workers:
            worker.stop(kill)

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
    """A worker's loop: the rules, then chunks until None or end-of-file."""
    rules: Rules = conn.recv()
    with memory.long_lived():  # the modules and rules: not walked again after every chunk
        while True:
            try:
                message = conn.recv()
            except EOFError:  # the parent is gone
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


if __name__ == "__main__":
    memory.keep_pandas_out()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the flow's to handle: it stops the workers
    serve(Connection(int(sys.argv[1])))
