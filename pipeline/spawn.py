"""Start one of this package's modules as a child process: `python -m pipeline.<module>`.

Worker processes (`workers`) and the views (`views`) run apart from the
process that starts them. The child must import this package even when it
runs from a checkout that was never installed, so the checkout's root goes
first on its PYTHONPATH. It also starts with Arrow's system allocator (see
`memory.SYSTEM_POOL_ENVIRONMENT`), which only the environment can choose
for all of Arrow.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from pipeline import memory

ROOT = Path(__file__).resolve().parent.parent


def command(module: str, *args: str) -> list[str]:
    """The command line that runs `pipeline.<module>` as a script, with this interpreter."""
    return [sys.executable, "-m", f"pipeline.{module}", *args]


def environment() -> dict[str, str]:
    """This process's environment, with the package's root first on PYTHONPATH
    and Arrow's system allocator unless the environment names another."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**memory.SYSTEM_POOL_ENVIRONMENT, **os.environ, "PYTHONPATH": path}
