"""Extraction speed of two checkouts of this project, measured in turns on one corpus.

    python -m bench.extraction_ab OLD_CHECKOUT NEW_CHECKOUT [--corpus DIR] [--mb 3] [--rounds 2]
                                  [--interleaved]

Each measurement runs in a fresh process that imports the pipeline of one
checkout (its `pipeline/` and `rules/`), extracts about `--mb` MB of the
corpus three times after a warm-up, and prints the median of MB of UTF-8
text per CPU second. The two checkouts alternate, so a machine whose speed
drifts (2 shared cores here) affects both alike. The corpus defaults to the
benchmark's synthetic one (bench/corpus.py, built if missing).

`--interleaved` keeps one process per checkout alive and runs one pass of
each in turn, `--rounds` times (which goes first alternates), then prints the
median of NEW/OLD: the two passes of a round are seconds apart, so drift
touches them alike. Both processes keep their memos from pass to pass, as a
long run does; on the synthetic corpus, whose phrases repeat, that flatters
memoised code more than real reports would.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

SETUP = """
import sys, time
from pathlib import Path
repo, corpus, mb = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
sys.path.insert(0, str(repo))
try:
    from pipeline.rules.compiler import load_rules
    from pipeline.facts.extract import extract_document
    from pipeline.ingest.reports import discover, read_document
except ImportError:  # a checkout from before the layout by stage
    from pipeline.rules import load_rules
    from pipeline.extract import extract_document
    from pipeline.ingest import discover, read_document
rules = load_rules(repo / "rules")
docs, size = [], 0
for path in discover(corpus):
    doc = read_document(path, corpus, {})
    docs.append(doc)
    size += len(doc.text.encode())
    if size > mb * 1e6:
        break
for doc in docs[:20]:
    extract_document(doc, rules)
"""

MEASURE = SETUP + """
passes = []
for _ in range(3):
    start = time.process_time()
    for doc in docs:
        extract_document(doc, rules)
    passes.append(size / 1e6 / (time.process_time() - start))
print(round(sorted(passes)[1], 3))
"""


WORKER = SETUP + """
print("ready", flush=True)
for _ in sys.stdin:
    start = time.process_time()
    for doc in docs:
        extract_document(doc, rules)
    print(round(size / 1e6 / (time.process_time() - start), 3), flush=True)
"""


def interleaved(old: Path, new: Path, corpus: Path, mb: float, rounds: int) -> float:
    """One pass of each checkout in turn, in two long-lived processes; the median NEW/OLD."""
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(c), str(corpus), str(mb)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) for c in (old, new)]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        def one_pass(proc: subprocess.Popen[str]) -> float:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
            return float(proc.stdout.readline())

        for proc in procs:  # a whole pass each first, unrecorded: both start warm
            one_pass(proc)
        speeds: list[list[float]] = [[], []]
        for i in range(rounds):
            for k in ((0, 1) if i % 2 == 0 else (1, 0)):
                speeds[k].append(one_pass(procs[k]))
            print(f"round {i + 1}: {old}: {speeds[0][-1]} MB/s, {new}: {speeds[1][-1]} MB/s", flush=True)
    finally:
        for proc in procs:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait()
    return float(statistics.median(b / a for a, b in zip(*speeds)))


def measure(checkout: Path, corpus: Path, mb: float) -> float:
    done = subprocess.run([sys.executable, "-c", MEASURE, str(checkout), str(corpus), str(mb)],
                          capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--corpus", type=Path, default=Path(tempfile.gettempdir()) / "ip-figures-ab-corpus")
    parser.add_argument("--mb", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--interleaved", action="store_true", help="two long-lived processes, a pass each in turn")
    args = parser.parse_args(argv)
    if not args.corpus.exists():
        from bench.corpus import build

        build(args.corpus, args.mb)
    if args.interleaved:
        ratio = interleaved(args.old.resolve(), args.new.resolve(), args.corpus, args.mb, args.rounds)
        print(f"median {args.new}/{args.old}: {ratio:.3f}")
        return 0
    for _ in range(args.rounds):
        for checkout in (args.old, args.new):
            print(f"{checkout}: {measure(checkout.resolve(), args.corpus, args.mb)} MB/s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
