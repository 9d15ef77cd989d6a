"""One run of the pipeline (pipeline.runs.run, no Prefect) in a process of its own, for the hostile-input suite.

    python tests/hostile_run.py RAW OUTPUT [--allow-outside-links] [--die-after chunk|publish] [--peaks FILE]

Prints one JSON line: what the run reported, and the peak resident memory of
this process (extraction runs in it) and of the views process it starts, as
the kernel counts it (VmHWM in /proc/<pid>/status, read by each process
before it exits; the views process writes it to FILE). Not getrusage: a process's ru_maxrss starts from its
parent's resident size at the fork before exec, so it would count pytest's.
`--die-after` kills this process with SIGKILL right after the first chunk is
stored, or right after the new version is switched to and before the views
are rebuilt, as the OOM killer or a power cut would.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def peak_kb() -> int:
    """This process's peak resident memory in KiB (VmHWM; ru_maxrss where there is no /proc)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _record_peak(record: str) -> None:
    with open(record, "a", encoding="ascii") as handle:
        handle.write(f"{peak_kb()}\n")


def _views_child(record: str, output: str) -> None:
    """Run `python -m pipeline.views.build OUTPUT` here, writing its peak to `record` as it exits."""
    import atexit
    import runpy

    atexit.register(_record_peak, record)
    sys.argv = ["pipeline.views.build", output]
    runpy.run_module("pipeline.views.build", run_name="__main__", alter_sys=True)


def _measure_views(record: Path) -> None:
    """Start the views process through `_views_child`, so that it reports its peak."""
    from pipeline.processes import spawn

    real = spawn.command

    def command(module: str, *args: str) -> list[str]:
        if module != "views.build":
            return real(module, *args)
        return [sys.executable, str(Path(__file__).resolve()), "--views-child", str(record), *args]

    spawn.command = command


def _die_after(stage: str) -> None:
    import pipeline.runs.run as run_module

    real_chunk = run_module.process_chunk

    def chunk_then_die(*args: Any, **kwargs: Any) -> Any:
        real_chunk(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)

    def die(*args: Any, **kwargs: Any) -> bool:
        os.kill(os.getpid(), signal.SIGKILL)
        return False

    name, replacement = ("process_chunk", chunk_then_die) if stage == "chunk" else ("write_views_apart", die)
    setattr(run_module, name, replacement)  # what run() calls, looked up when it calls it


def main() -> int:
    if sys.argv[1:2] == ["--views-child"]:
        _views_child(sys.argv[2], sys.argv[3])
        return 0
    parser = argparse.ArgumentParser()
    parser.add_argument("raw")
    parser.add_argument("output")
    parser.add_argument("--allow-outside-links", action="store_true")
    parser.add_argument("--die-after", choices=("chunk", "publish"))
    parser.add_argument("--peaks", help="file the views process appends its peak to")
    args = parser.parse_args()
    started = time.monotonic()
    from pipeline.ingest.policy import InputPolicy
    from pipeline.runs.run import run
    from pipeline.storage.lock import OutputBusyError

    views_peaks = Path(args.peaks) if args.peaks else None
    if views_peaks is not None:
        _measure_views(views_peaks)
    if args.die_after:
        _die_after(args.die_after)
    result: dict[str, Any] = {}
    try:
        summary = run(Path(args.raw), Path(args.output), ROOT / "rules",
                      policy=InputPolicy(links_outside=args.allow_outside_links))
    except OutputBusyError as exc:
        result["refused"] = str(exc)
    else:
        result.update(failed=[[e.file, e.reason] for e in summary.failed + summary.crashed], read=summary.read,
                      facts=summary.facts, summary=summary.report())
    peaks = [int(line) for line in views_peaks.read_text(encoding="ascii").split()] \
        if views_peaks is not None and views_peaks.exists() else []
    result.update(seconds=time.monotonic() - started, peak_kb=peak_kb(), views_peak_kb=max(peaks, default=0))
    print(json.dumps(result, ensure_ascii=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
