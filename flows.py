"""Prefect 3 flow: Chinese reports in `raw/` -> facts and documents Parquet in `output/`.

The logic lives in `pipeline.runs.run`; this file only wires it as tasks and holds
the command line. Runs are incremental: only reports whose content, rules or
code changed are extracted, one task per chunk of ~BATCH_SIZE reports (a task
run costs ~10 ms and ~19 KB of Prefect database: one task per report does not
scale); unchanged chunks are linked without a task.

    python flows.py [--raw DIR] [--output DIR] [--rules DIR] [--full] [--workers N]
                    [--worker-memory MIB] [--dask ADDRESS | --prefect-processes] [--allow-outside-links]
    python flows.py check [--rules DIR]
    python flows.py evaluate --gold FILE.jsonl [--gold ...] [--output DIR] [--errors N]

Chunk tasks run as threads of the flow process, each handing its chunk to a
worker process (`pipeline.processes.workers`, which imports no Prefect), one or more;
with `--dask` the tasks run on the cluster's workers and extract there. The
flow's own process never extracts: it shares its interpreter with Prefect's
threads and holds Prefect's objects, and a chunk ran ~10 % slower there than
in a worker (README, "Benchmark"). With no PREFECT_API_URL, one temporary server starts
for the run (`prefect_server`). `deploy.py` serves the flow on a schedule
(see README, "Deployment").

While chunks run the flow logs how far it is (`pipeline.runs.progress`); a
chunk whose worker died is retried once, its reports apart
(`pipeline.processes.isolation`); a finished run leaves its summary, changes,
errors and a link to its review site as artifacts (`pipeline.runs.artifacts`).
Telemetry is off unless the user turned it on.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

if __name__ == "__main__":  # a run's own process (pipeline.processes.memory says why)
    from pipeline.processes import spawn

    spawn.prefer_system_allocator()  # before anything imports pyarrow
    from pipeline.processes import memory

    memory.keep_pandas_out()  # before pipeline.cli imports pyarrow.dataset, which loads it

from pipeline import cli

if __name__ == "__main__" and sys.argv[1:2] and sys.argv[1] in cli.COMMANDS:
    sys.exit(cli.main())  # check and evaluate need no Prefect: answer before importing it (~3 s)

# Prefect reads its settings at import. The default 20 s is too short for the
# first ephemeral server start on 2 cores (database migration: ~26 s).
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
# Telemetry is off unless the user turns it on: offline its server service
# logs an ERROR on every run (prefect_server.telemetry_off_by_default does the
# server's half, once Prefect's settings are read). DO_NOT_TRACK is Prefect's
# client-side switch, read at import.
if "DO_NOT_TRACK" not in os.environ and "PREFECT_SERVER_ANALYTICS_ENABLED" not in os.environ:
    os.environ["DO_NOT_TRACK"] = "1"

from prefect import Task, flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.futures import PrefectFuture
from prefect.runtime import task_run as current_task_run
from prefect.states import State
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from pipeline.ingest.policy import InputPolicy
from pipeline.printable import printable
from pipeline.processes import isolation
from pipeline.processes import workers as chunk_workers
from pipeline.processes.watchdog import DEFAULT_MEMORY_MIB
from pipeline.rules.compiler import Rules
from pipeline.runs import artifacts as run_artifacts
from pipeline.runs import run as pipeline_run
from pipeline.runs.plan import Catalogue, ChunkJob, RunContext, RunPlan, plan_run
from pipeline.runs.progress import Progress
from pipeline.runs.run import ChunkOutcome, RunSummary, RunWriter
from pipeline.storage.lock import OutputLock
from prefect_server import shared_server, telemetry_off_by_default

telemetry_off_by_default()

# Chunk tasks submitted ahead per worker. Outcomes are collected in plan order and a chunk
# may hold 4x the average reports: with fewer ahead, the other workers run out of
# submitted chunks while one works through a long chunk.
IN_FLIGHT_PER_WORKER = 4
REMOTE_WORKERS = 16  # a remote Dask cluster's size when --workers does not say it

# No Prefect cache on these tasks: the content-addressed segments under
# OUTPUT/.state are the cache (keyed by report hash + rules version + code
# version, see pipeline.runs.manifest). They are Parquet that output versions
# hard-link, and they are collected with the versions; a Prefect result cache
# would be a second, pickled, never-collected copy of every fact. Large
# arguments are quoted so Prefect does not walk them looking for futures.


@task(name="check-rules", cache_policy=NO_CACHE)
def load_rules_task(rules_dir: str) -> Rules:
    """Load and validate the rules; a RuleError fails the flow before anything is written."""
    return pipeline_run.load_rules(Path(rules_dir))


@task(name="discover-reports", cache_policy=NO_CACHE)
def discover_task(raw: str) -> tuple[list[Path], Catalogue]:
    """List the reports and read the catalogue (documents.csv)."""
    paths, catalogue = pipeline_run.discover(Path(raw))
    get_run_logger().info("%d reports under %s", len(paths), raw)
    return paths, catalogue


@task(name="plan-run", cache_policy=NO_CACHE)
def plan_task(
    raw: str, output: str, paths: list[Path], catalogue: Catalogue, rules_version: str,
    chunk_size: int, full: bool, links_outside: bool = False,
) -> RunPlan:
    """Key every report and chunk; say how much is new."""
    plan = plan_run(Path(raw), Path(output), paths, catalogue, rules_version, chunk_size=chunk_size, force=full,
                    policy=InputPolicy(links_outside=links_outside))
    stored = sum(job.stored for job in plan.jobs)
    get_run_logger().info("%d chunks: %d unchanged, %d to build (up to %d reports to extract)",
                          len(plan.jobs), stored, len(plan.jobs) - stored, plan.to_extract)
    return plan


def _worker_died(task: Task[..., ChunkOutcome], task_run: TaskRun, state: State[ChunkOutcome]) -> bool:
    """Retry a chunk whose worker died (killed, over its memory limit); not one that raised (a bug)."""
    try:
        state.result()
    except chunk_workers.WorkerDied:
        return True
    except BaseException:
        return False
    return False


@task(name="extract-chunk", cache_policy=NO_CACHE, task_run_name="extract-chunk-{index}",
      retries=1, retry_condition_fn=_worker_died)
def extract_chunk_task(index: int, job: ChunkJob, context: RunContext, rules: Rules, in_pool: bool) -> ChunkOutcome:
    """Extract a chunk's changed reports, carry the rest, store its segment.

    `in_pool`: in a worker process of the flow's pool; else here (a Dask worker,
    a process of Prefect's ProcessPoolTaskRunner). A chunk whose worker died
    is retried once (a Prefect retry), its reports apart, so that only the
    report that kills a worker fails (pipeline.processes.isolation).
    """
    pool = chunk_workers.active()
    if in_pool and pool is None:  # the run is stopping: never extract in the flow's own process
        raise chunk_workers.PoolClosed(f"the worker pool stopped before chunk {index} ran")
    logger = get_run_logger()
    if pool is not None and current_task_run.run_count > 1:
        logger.warning("chunk %d: its worker died; its reports are run one by one to find the report that did it",
                       index)
        outcome = isolation.run_isolated(pool.run, job, context)
    elif pool is not None:
        outcome = pool.run(job, context)
    else:
        outcome = pipeline_run.process_chunk(job, context, rules)
    for error in outcome.failed + outcome.crashed:
        logger.warning("failed %s: %s", printable(error.file), printable(error.reason))
    return outcome


@task(name="publish", cache_policy=NO_CACHE)
def publish_task(writer: RunWriter) -> RunSummary:
    """Switch the output to the new version (atomic; readers never see a mix)."""
    return writer.publish()


@task(name="show-run", cache_policy=NO_CACHE)
def artifacts_task(summary: RunSummary) -> None:
    """The run in Prefect's UI, under stable keys (history per key): its summary, what changed, the errors
    and a link to the review site (pipeline.runs.artifacts)."""
    shown = run_artifacts.artifacts(summary)
    create_table_artifact(shown.summary, key=run_artifacts.SUMMARY_KEY,
                          description=f"Run {summary.run_id}: reports, facts and changes")
    create_markdown_artifact(shown.changes, key=run_artifacts.CHANGES_KEY,
                             description=f"What run {summary.run_id} changed, per report and per rule")
    errors = shown.errors or {"file": [], "reason": [], "kind": []}  # no rows, the columns still shown
    create_table_artifact(errors, key=run_artifacts.ERRORS_KEY,
                          description=f"Reports run {summary.run_id} could not read ({len(shown.errors)})")
    create_link_artifact(shown.review, link_text=f"Review site of {summary.output}", key=run_artifacts.REVIEW_KEY,
                         description="Every report with its facts highlighted; tables and charts of all facts")


@flow(name="extract-reports")
def extract_reports(
    raw: str = "raw", output: str = "output", rules: str = "rules", full: bool = False,
    processes: int | None = 0, in_flight: int = 0, links_outside: bool = False,
    worker_memory_mib: int = DEFAULT_MEMORY_MIB,
) -> RunSummary:
    """Bring `output` up to date with the reports under `raw`; `full` re-extracts every report.

    `processes` is how many worker processes extract chunks on this machine
    (0: one per core; None: none, a chunk is extracted where its task runs,
    on a Dask worker). `in_flight` bounds the chunk tasks submitted and not
    yet collected (0: four per worker process): each holds its job and then
    its outcome in this process, so submitting every chunk at once would
    cost memory in proportion to the corpus. `links_outside` reads links out
    of `raw` (pipeline.ingest.policy). `worker_memory_mib` is each worker
    process's memory limit (0: none; pipeline.processes.watchdog).
    """
    loaded = load_rules_task(rules)
    paths, catalogue = discover_task(raw)
    with OutputLock(Path(output)):
        plan = plan_task(raw, output, quote(paths), quote(catalogue), loaded.version,
                         pipeline_run.BATCH_SIZE, full, links_outside)
        del paths, catalogue  # the plan holds what is needed of them
        local = None if processes is None else processes or os.cpu_count() or 1
        pool = chunk_workers.ChunkWorkers(local, loaded, worker_memory_mib or None) \
            if local and plan.to_extract else None
        with RunWriter(plan) as writer:
            with pool or contextlib.nullcontext():
                progress = Progress(plan)
                for outcome in _outcomes(plan, loaded, in_flight or IN_FLIGHT_PER_WORKER * (local or 1),
                                         in_pool=pool is not None):
                    writer.add(outcome)
                    if (line := progress.add(outcome)) is not None:
                        get_run_logger().info(line)
            summary = publish_task(writer)  # the workers are stopped: publishing has the machine
    artifacts_task(quote(summary))
    get_run_logger().info("\n%s", summary.report())
    return summary


def _outcomes(plan: RunPlan, rules: Rules, in_flight: int, in_pool: bool) -> Iterator[ChunkOutcome]:
    """Every chunk's outcome, in plan order.

    Chunks to build go to the flow's task runner (worker processes or a Dask
    cluster: extraction is CPU-bound pure Python, so threads would not help),
    at most `in_flight` at a time; each segment is written by its worker under
    a content-addressed name, so workers never collide. Stored chunks are
    linked here: that costs less than a task run.
    """
    to_build = iter([job for job in plan.jobs if not job.stored])
    futures: dict[int, PrefectFuture[ChunkOutcome]] = {}
    for job in plan.jobs:
        while len(futures) < max(in_flight, 1) and (nxt := next(to_build, None)) is not None:
            # Not quoted: prefect-dask 0.3.7 hands a quote() to the task unopened.
            futures[nxt.index] = extract_chunk_task.submit(nxt.index, nxt, plan.context, rules, in_pool)
        if job.stored:
            yield pipeline_run.process_chunk(job, plan.context, None)
        else:
            yield futures.pop(job.index).result()


def task_runner(workers: int | None = None, dask: str | None = None, prefect_processes: bool = False) -> TaskRunner:
    """Where extraction tasks run: local processes by default, a Dask cluster on request.

    `dask` is a scheduler address (`tcp://host:8786`) or `local` for a cluster
    of local processes. Workers on other machines need a Prefect server
    (PREFECT_API_URL) and the raw and output folders on storage they all see.
    `prefect_processes` runs the tasks in Prefect's ProcessPoolTaskRunner,
    each extracting in its own process: the alternative to the flow's worker
    pool that the benchmark measures (docs/drafts/issue-16.md).
    """
    if prefect_processes:
        return ProcessPoolTaskRunner(max_workers=workers or os.cpu_count() or 1)
    if dask:
        from prefect_dask import DaskTaskRunner  # only needed for clusters

        if dask == "local":
            return DaskTaskRunner(cluster_kwargs={"n_workers": workers or os.cpu_count() or 1,
                                                  "threads_per_worker": 1, "processes": True})
        return DaskTaskRunner(address=dask)
    # Threads: each runs one chunk task, which waits on a worker process (or extracts, with one worker).
    return ThreadPoolTaskRunner(max_workers=workers or os.cpu_count() or 1)


def _terminated(signum: int, frame: FrameType | None) -> None:
    """SIGTERM outside Prefect's own handler: leave like an exception, through every `finally`."""
    raise SystemExit(128 + signum)


def _run(args: argparse.Namespace) -> int:
    """The default command: one flow run, after quick checks that need no server.

    A SIGTERM stops the run: within the flow Prefect's handler raises in the
    flow (the run is marked crashed, the workers stop), then sends SIGTERM
    again to the handler it replaced, which by default ends the process at
    once, leaving the temporary server running. `_terminated` is that
    handler here: it raises SystemExit, so the server is stopped on the way out.
    """
    signal.signal(signal.SIGTERM, _terminated)
    # Validate the rules and the lock before Prefect starts its server (10-25 s),
    # so a typo in a rule file or a busy output is reported at once.
    pipeline_run.load_rules(Path(args.rules))
    OutputLock(Path(args.output)).check()
    runner = task_runner(args.workers, args.dask, args.prefect_processes)
    remote = args.dask not in (None, "local")
    in_flight = IN_FLIGHT_PER_WORKER * (args.workers or (REMOTE_WORKERS if remote else os.cpu_count()) or 1)
    with shared_server():  # one server for the flow and its workers, not one each
        summary = extract_reports.with_options(task_runner=runner)(
            raw=args.raw, output=args.output, rules=args.rules, full=args.full,
            processes=None if args.dask or args.prefect_processes else args.workers or 0, in_flight=in_flight,
            links_outside=args.allow_outside_links, worker_memory_mib=args.worker_memory)
    print(summary.report())
    return 1 if summary.crashed else 0  # unreadable reports are data; a crash is a bug


def main(argv: list[str] | None = None) -> int:
    """CLI entry point (see pipeline.cli); returns the process exit code."""
    return cli.main(argv, run=_run)


if __name__ == "__main__":
    sys.exit(main())
