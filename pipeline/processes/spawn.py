"""Start one of this package's modules as a child process: `python -m pipeline.<module>`.

Worker processes (`workers`) and the views (`views`) run apart from the
process that starts them. The child must import this package even when it
runs from a checkout that was never installed, so the checkout's root goes
first on its PYTHONPATH. It also starts with Arrow's system allocator
(`prefer_system_allocator`; pipeline.processes.memory says why), which only the
environment can choose for all of Arrow. This module imports no pyarrow, so
flows.py can set that for its own process before pyarrow loads.
"""
from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout: pipeline/processes/spawn.py
POOL_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"  # read by Arrow once, when pyarrow is imported


def command(module: str, *args: str) -> list[str]:
    """The command line that runs `pipeline.<module>` as a script, with this interpreter."""
    return [sys.executable, "-m", f"pipeline.{module}", *args]


def environment() -> dict[str, str]:
    """This process's environment, with the package's root first on PYTHONPATH
    and Arrow's system allocator unless the environment names another."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    prefer_system_allocator(env)
    return env


def prefer_system_allocator(environ: MutableMapping[str, str] = os.environ) -> None:
    """Name Arrow's system allocator in `environ` unless it names one; in effect for a
    process only if set before it imports pyarrow."""
    environ.setdefault(POOL_VARIABLE, "system")
