"""Time and peak memory of reading one compression bomb (issue 17): a .docx or PDF that inflates to N MiB.

    python -m bench.bombs docx|pdf [--mib 1024]

Builds the bomb with tests/hostile_inputs.py (a file of about N KiB), reads
it with `pipeline.ingest.formats.to_text` in this process and prints what
came of it, the seconds taken and this process's peak resident memory
(VmHWM). Run it from a checkout of another commit (PYTHONPATH=that checkout)
to compare.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from hostile_inputs import MiB, docx_bomb, pdf_bomb

from pipeline.ingest.formats import FormatError, to_text


def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("docx", "pdf"))
    parser.add_argument("--mib", type=int, default=1024, help="inflated size (default 1024)")
    args = parser.parse_args()
    data = (docx_bomb if args.kind == "docx" else pdf_bomb)(args.mib * MiB)
    print(f"{args.kind} of {len(data) / MiB:.2f} MiB inflating to {args.mib} MiB; peak so far {peak_mb():.0f} MB")
    started = time.monotonic()
    try:
        outcome = f"read: {len(to_text(Path('bomb.' + args.kind), data)):,} characters"
    except FormatError as exc:
        outcome = f"refused: {exc.reason}"
    except Exception as exc:  # what a reader without the checks may raise
        outcome = f"failed: {type(exc).__name__}: {str(exc)[:200]}"
    print(f"{outcome}\n{time.monotonic() - started:.2f} s, peak {peak_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
