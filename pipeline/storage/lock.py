"""One run at a time per output folder: an flock on `OUTPUT/.lock`.

The kernel drops an flock when its process dies, however it dies, so a lock
left by a killed run never blocks the next one; the pid written into the file
is only there to make the refusal message useful. The file is never deleted
(deleting a lock file races with the next process opening it).
"""
from __future__ import annotations

import fcntl
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from pipeline.storage.paths import LOCK_NAME


class OutputBusyError(RuntimeError):
    """Another run holds the output folder."""


class OutputLock:
    """Hold `output/.lock` for the length of a `with` block, or refuse at once."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.path = output / LOCK_NAME
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock; raise OutputBusyError naming the holder if another run has it."""
        self.output.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the run; no truncation before we own it
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            handle.close()
            raise OutputBusyError(self._busy(holder)) from None
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}, started {stamp}\n")
        handle.flush()
        self._handle = handle

    def check(self) -> None:
        """Raise OutputBusyError if another run holds the lock now; write nothing.

        For a quick refusal before slow start-up work; `acquire` still decides.
        """
        try:
            handle = open(self.path, encoding="utf-8")  # noqa: SIM115 - closed below, after the probe
        except FileNotFoundError:
            return
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                raise OutputBusyError(self._busy(handle.read().strip())) from None

    def _busy(self, holder: str) -> str:
        return (f"{self.output} is in use by another run ({holder or 'unknown process'}); "
                "wait for it to finish, or stop that process")

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing drops the flock
            self._handle = None

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
