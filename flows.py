"""Prefect 3 flow: Chinese reports in `raw/` -> facts and documents Parquet in `output/`.

The logic lives in `pipeline.run`; this file only wires it as tasks. Reports
are extracted in batches (one task per BATCH_SIZE reports), because a task run
costs ~10 ms and ~19 KB of Prefect database: one task per report does not scale.

    python flows.py [--raw DIR] [--output DIR] [--rules DIR]

With no PREFECT_API_URL, Prefect starts a temporary server for the run.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Prefect reads its settings at import. The default 20 s is too short for the
# first ephemeral server start on 2 cores (database migration: ~26 s).
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from pipeline import run as pipeline_run
from pipeline.ingest import CatalogueError
from pipeline.rules import RuleError, Rules
from pipeline.run import BatchResult, Catalogue, RunSummary, RunWriter

# Task inputs are paths, rules and small dicts: hashing them for a cache key buys
# nothing (results are not persisted) and Rules may not be hashable.


@task(name="load-rules", cache_policy=NO_CACHE)
def load_rules_task(rules_dir: str) -> Rules:
    """Load and validate the rules; a RuleError fails the flow before anything is written."""
    return pipeline_run.load_rules(Path(rules_dir))


@task(name="discover-reports", cache_policy=NO_CACHE)
def discover_task(raw: str) -> tuple[list[Path], Catalogue]:
    """List the reports and read the catalogue (documents.csv)."""
    paths, catalogue = pipeline_run.discover(Path(raw))
    get_run_logger().info("%d reports under %s", len(paths), raw)
    return paths, catalogue


@task(name="extract-batch", cache_policy=NO_CACHE, task_run_name="extract-batch-{index}")
def extract_batch_task(
    index: int, paths: list[Path], raw: str, catalogue: Catalogue, rules: Rules
) -> BatchResult:
    """Read and extract one batch of reports; failures are returned, not raised."""
    result = pipeline_run.extract_batch(paths, Path(raw), catalogue, rules)
    logger = get_run_logger()
    for error in result.failed + result.crashed:
        logger.warning("failed %s: %s", error.file, error.reason)
    return result


@task(name="publish", cache_policy=NO_CACHE)
def publish_task(writer: RunWriter) -> RunSummary:
    """Switch the output to the new version (atomic; readers never see a mix)."""
    return writer.publish()


@flow(name="extract-reports")
def extract_reports(raw: str = "raw", output: str = "output", rules: str = "rules") -> RunSummary:
    """Extract every report under `raw` and publish Parquet datasets under `output`."""
    loaded = load_rules_task(rules)
    paths, catalogue = discover_task(raw)
    raw_path = Path(raw)
    # Batches run one after another: extraction is CPU-bound pure Python, so
    # threads would not help, and sequential batches keep memory to one batch.
    with RunWriter(raw_path, Path(output), loaded.version) as writer:
        for index, batch in enumerate(pipeline_run.batches(paths, pipeline_run.BATCH_SIZE)):
            subset = pipeline_run.batch_catalogue(batch, raw_path, catalogue)
            writer.add(extract_batch_task(index, batch, raw, subset, loaded))
        summary = publish_task(writer)
    get_run_logger().info("\n%s", summary.report())
    return summary


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--raw", default="raw", help="folder of reports (default: raw)")
    parser.add_argument("--output", default="output", help="output folder (default: output)")
    parser.add_argument("--rules", default="rules", help="rules folder (default: rules)")
    args = parser.parse_args(argv)
    try:
        # Validate the rules before Prefect starts its server (10-25 s), so a
        # typo in a rule file is reported at once; the flow loads them again.
        pipeline_run.load_rules(Path(args.rules))
        summary = extract_reports(raw=args.raw, output=args.output, rules=args.rules)
    except RuleError as exc:
        print(f"rule error: {exc}", file=sys.stderr)
        return 2
    except (CatalogueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary.report())
    return 1 if summary.crashed else 0  # unreadable reports are data; a crash is a bug


if __name__ == "__main__":
    sys.exit(main())
