"""The command line of `flows.py`, minus the run itself (which needs Prefect).

`check` and `evaluate` never start Prefect, so `flows.py` answers them before
importing it (~3 s). Exit codes: 0 fine, 1 a report crashed the extractor
(a bug), 2 bad input (rules, catalogue, gold file, missing folder, busy output),
3 `evaluate` found a score below its `--floor`.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pipeline import evaluate as grading
from pipeline.ingest.catalogue import CatalogueError
from pipeline.ingest.policy import OUTSIDE_OPTION
from pipeline.processes.watchdog import DEFAULT_MEMORY_MIB
from pipeline.rules.compiler import load_rules, unknown_files
from pipeline.rules.files import RuleError
from pipeline.storage.lock import OutputBusyError

USAGE = """python flows.py [--raw DIR] [--output DIR] [--rules DIR] [--full] [--workers N]
                      [--worker-memory MIB] [--dask ADDRESS | --prefect-processes] [--allow-outside-links]
       python flows.py check [--rules DIR]
       python flows.py evaluate --gold FILE.jsonl [--gold ...] [--output DIR] [--errors N]"""
COMMANDS = ("check", "evaluate")


def parser() -> argparse.ArgumentParser:
    """A run (no command: extract new and changed reports), or `check` / `evaluate`."""
    top = argparse.ArgumentParser(
        description="Extract figures from reports into Parquet, incrementally.", usage=USAGE)
    top.add_argument("--raw", default="raw", help="folder of reports (default: raw)")
    top.add_argument("--output", default="output", help="output folder (default: output)")
    top.add_argument("--rules", default="rules", help="rules folder (default: rules)")
    top.add_argument("--full", action="store_true", help="re-extract every report, changed or not")
    top.add_argument(OUTSIDE_OPTION, dest="allow_outside_links", action="store_true",
                     help="read symbolic links under the raw folder whose target is outside it"
                          " (refused by default; pipes and devices stay refused)")
    top.add_argument("--workers", type=_at_least_one, default=None,
                     help="local worker processes for extraction (default: one per core);"
                          " with --dask ADDRESS, the cluster's workers (the flow keeps four chunks in flight"
                          " per worker; default 16 workers)")
    top.add_argument("--dask", metavar="ADDRESS",
                     help="run extraction on a Dask cluster: a scheduler address (tcp://host:8786), "
                          "or 'local' to start a local cluster")
    top.add_argument("--worker-memory", type=_memory_mib, default=DEFAULT_MEMORY_MIB, metavar="MIB",
                     help="resident memory limit of each worker process in MiB, 0 for none (default"
                          f" {DEFAULT_MEMORY_MIB}): a worker past it is killed, and the report that did it"
                          " is found and listed in errors")
    top.add_argument("--prefect-processes", action="store_true",
                     help="run chunk tasks in Prefect's ProcessPoolTaskRunner instead of the flow's own worker"
                          " processes (measured against them; docs/drafts/issue-16.md)")
    commands = top.add_subparsers(dest="command", title="other commands")
    check = commands.add_parser("check", help="validate the rule files; touch nothing")
    check.add_argument("--rules", default="rules", help="rules folder (default: rules)")
    evaluate = commands.add_parser("evaluate", help="grade the current facts against gold annotations")
    evaluate.add_argument("--gold", action="append", required=True, help="gold JSONL file (repeatable)")
    evaluate.add_argument("--output", default="output", help="output folder (default: output)")
    evaluate.add_argument("--errors", type=int, default=10,
                          help="examples of each kind of error to print (default 10)")
    evaluate.add_argument("--json", help="also write the scores as JSON to this path")
    evaluate.add_argument("--per-report", action="store_true", help="also print one line per graded report")
    evaluate.add_argument("--floor", action="append", default=[], metavar="SCORE=VALUE",
                          help="fail (exit 3) when a score is below VALUE: exact_f1, span_f1 or an attribute "
                               "(type, region, period, metric, dimension, qualifier); repeatable")
    return top


def _whole_number(text: str, minimum: int, unit: str, floor: str) -> int:
    """A whole number of at least `minimum`, else argparse's error with the reason."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number{unit}: {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be {floor}, not {value}")
    return value


def _at_least_one(text: str) -> int:
    """A count of processes: a whole number from 1 up (argparse reports the message)."""
    return _whole_number(text, 1, "", "at least 1")


def _memory_mib(text: str) -> int:
    """A memory limit in MiB: a whole number, 0 for none."""
    return _whole_number(text, 0, " of MiB", "0 (no limit) or more")


def check(rules_dir: Path) -> int:
    """Validate every rule file; print what was checked, and what in the folder is not a rule file."""
    rules = load_rules(rules_dir)
    files = sorted(p.name for p in rules_dir.glob("*.yaml") if p.name not in unknown_files(rules_dir))
    print(f"rules OK: {len(rules.examples)} rules in {len(files)} files ({', '.join(files)}),"
          f" version {rules.version}")
    for name in unknown_files(rules_dir):
        print(f"not a rule file, never read: {rules_dir / name}")
    return 0


def evaluate(gold_files: Sequence[Path], output: Path, errors: int, json_path: Path | None,
             per_report: bool = False, floors: Sequence[str] = ()) -> int:
    """Grade the published facts against gold files, printed as the score script does; exit 3
    when a score is below its floor (so CI refuses a rule edit that loses quality)."""
    wanted = dict(_floor(text) for text in floors)
    gold = grading.load_gold(gold_files)
    facts = grading.load_facts(output, {row["doc"] for row in gold})
    result = grading.grade(facts, gold)
    if per_report:
        print(grading.format_per_report(result))
    print(grading.format_report(result, errors=errors))
    if json_path is not None:
        grading.write_json(result, json_path)
    failures = grading.below_floor(result, wanted)
    for failure in failures:
        print(f"quality below the floor: {failure}", file=sys.stderr)
    return 3 if failures else 0


def _floor(text: str) -> tuple[str, float]:
    name, _, value = text.partition("=")
    try:
        return name.strip(), float(value)
    except ValueError:
        raise grading.GoldError(f"--floor takes SCORE=VALUE, not {text!r}") from None


def main(argv: Sequence[str] | None = None,
         run: Callable[[argparse.Namespace], int] | None = None) -> int:
    """Parse and dispatch; `run` does the default command (flows.py passes the Prefect run)."""
    args = parser().parse_args(argv)
    try:
        if args.command == "check":
            return check(Path(args.rules))
        if args.command == "evaluate":
            return evaluate([Path(g) for g in args.gold], Path(args.output), args.errors,
                            Path(args.json) if args.json else None, args.per_report, args.floor)
        if run is None:
            print("a run needs Prefect: use python flows.py", file=sys.stderr)
            return 2
        return run(args)
    except RuleError as exc:
        print(f"rule error: {exc}", file=sys.stderr)
        return 2
    except (CatalogueError, FileNotFoundError, OutputBusyError, grading.GoldError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
