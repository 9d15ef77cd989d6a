"""Do two pipeline builds give the same output? Snapshot an output folder, or compare two snapshots.

    python scripts/same_output.py snapshot OUTPUT SNAPSHOT.jsonl [--ignore-column rules_version ...]
    python scripts/same_output.py compare OLD.jsonl NEW.jsonl

A snapshot holds every row a reader sees in `facts`, `documents` and `diffs`,
sorted, with the columns that differ between any two runs left out (run ids,
timestamps, inodes); `--ignore-column` leaves out more (for example
`rules_version`, which changes with any byte of a rule file). A refactor
that must not change behaviour is checked by snapshotting the output of the
same raw folder before and after it and comparing.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pyarrow.parquet as pq

TABLES = ("facts", "documents", "diffs")
VOLATILE = frozenset({"run_id"})


def _rows(folder: Path, ignore: frozenset[str]) -> list[str]:
    if not folder.exists():
        return []
    table = pq.read_table(folder)
    keep = [name for name in table.column_names if name not in ignore]
    rows = table.select(keep).to_pylist()
    return sorted(json.dumps(row, ensure_ascii=False, sort_keys=True, default=str) for row in rows)


def snapshot(output: Path, target: Path, ignore: frozenset[str]) -> None:
    with target.open("w", encoding="utf-8") as out:
        for name in TABLES:
            for row in _rows(output / name, VOLATILE | ignore):
                out.write(f"{name}\t{row}\n")


def compare(old: Path, new: Path, show: int = 10) -> int:
    a = old.read_text(encoding="utf-8").splitlines()
    b = new.read_text(encoding="utf-8").splitlines()
    gone, added = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    print(f"{len(a)} rows before, {len(b)} after: {len(gone)} only before, {len(added)} only after")
    for label, rows in (("-", gone), ("+", added)):
        for row in rows[:show]:
            print(label, row[:400])
    return 0 if not gone and not added and len(a) == len(b) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    snap = commands.add_parser("snapshot")
    snap.add_argument("output", type=Path)
    snap.add_argument("target", type=Path)
    snap.add_argument("--ignore-column", action="append", default=[])
    comp = commands.add_parser("compare")
    comp.add_argument("old", type=Path)
    comp.add_argument("new", type=Path)
    args = parser.parse_args(argv)
    if args.command == "snapshot":
        snapshot(args.output, args.target, frozenset(args.ignore_column))
        return 0
    return compare(args.old, args.new)


if __name__ == "__main__":
    sys.exit(main())
