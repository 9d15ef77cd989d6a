"""Serve the extraction flow with Prefect: a schedule that ingests new reports, and a full rerun.

    prefect server start                                  # schedules need a persistent server
    PREFECT_API_URL=http://127.0.0.1:4200/api python deploy.py [--raw DIR] [--output DIR]
        [--rules DIR] [--every MINUTES]
    PREFECT_API_URL=http://127.0.0.1:4200/api prefect deployment run extract-reports/ingest

Deployments (both with the folders as parameters, one run at a time):

- `extract-reports/ingest`: every `--every` minutes (default 15). Runs are
  incremental, so a run with no new report costs seconds: it lists and stats
  the raw folder, links the unchanged facts and records the run.
- `extract-reports/full-rerun`: no schedule; re-extracts every report (after
  an upgrade of a package the extractor uses, say). A rule edit needs no full
  rerun: the next scheduled run sees it.

`serve` keeps running and starts flow runs in subprocesses of this process;
stop it with Ctrl-C. Two runs on the same output folder are refused by the
output lock in any case (`pipeline.storage.lock`).
"""
from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

from prefect import serve
from prefect.deployments.runner import RunnerDeployment

from flows import extract_reports

DEFAULT_EVERY_MINUTES = 15


def deployments(raw: Path, output: Path, rules: Path, every_minutes: float) -> list[RunnerDeployment]:
    """The two deployments, with absolute folders so runs do not depend on a working directory."""
    folders = {"raw": str(raw.resolve()), "output": str(output.resolve()), "rules": str(rules.resolve())}
    ingest = extract_reports.to_deployment(
        name="ingest",
        interval=timedelta(minutes=every_minutes),
        parameters={**folders, "full": False},
        concurrency_limit=1,
        description="Extract new and changed reports; record the run and what changed.",
        tags=["ip-figures"],
    )
    full = extract_reports.to_deployment(
        name="full-rerun",
        parameters={**folders, "full": True},
        concurrency_limit=1,
        description="Re-extract every report, changed or not.",
        tags=["ip-figures"],
    )
    return [ingest, full]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--raw", default="raw", type=Path, help="folder of reports (default: raw)")
    parser.add_argument("--output", default="output", type=Path, help="output folder (default: output)")
    parser.add_argument("--rules", default="rules", type=Path, help="rules folder (default: rules)")
    parser.add_argument("--every", default=DEFAULT_EVERY_MINUTES, type=float,
                        help=f"minutes between scheduled runs (default {DEFAULT_EVERY_MINUTES})")
    args = parser.parse_args(argv)
    if args.every <= 0:
        parser.error("--every must be positive")
    serve(*deployments(args.raw, args.output, args.rules, args.every))
    return 0


if __name__ == "__main__":
    sys.exit(main())
