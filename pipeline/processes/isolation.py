"""A chunk whose worker died, run again with its reports apart: one report cannot sink the others.

A worker dies with the whole chunk it held: killed at its memory limit
(`pipeline.processes.watchdog`), by the kernel's OOM killer, or by a crash in
a compiled library. Which report did it is unknown, and running the chunk
again as it was would die the same way. `run_isolated` runs each report that
would be read on its own first, in a worker of its own; a report whose
worker dies is the culprit, recorded as a failed report with the reason
(`worker died (signal 9) while reading this report`). The chunk then runs
once more without the culprits, so its segment, diff and counts are those
of an ordinary chunk whose culprits could not be read.

Each probe is a full extraction of one report (its segment, text and page are
stored like any other and collected if unused), so the chunk's work is done
about twice: the price of a path that runs only after a worker died. If the
chunk dies again without its culprits (every report passed alone, together
they did not), that `WorkerDied` propagates: the chunk has failed.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from pipeline.processes.workers import WorkerDied
from pipeline.records import ReadError
from pipeline.runs.chunks import ChunkOutcome, carried
from pipeline.runs.plan import ChunkJob, Member, RunContext
from pipeline.runs.staged_diffs import StagedDiff

RunChunk = Callable[[ChunkJob, RunContext], ChunkOutcome]  # ChunkWorkers.run: raises WorkerDied


def culprit_reason(died: WorkerDied) -> str:
    """The errors table's reason for a report whose worker died while it was read alone."""
    return f"worker died ({died.cause()}) while reading this report{died.over_limit()}"


def run_isolated(run: RunChunk, job: ChunkJob, context: RunContext) -> ChunkOutcome:
    """The chunk's outcome with the reports that kill a worker on their own among its failures."""
    kept = carried(job, context, context.segments())
    culprits: list[ReadError] = []
    for member in job.members:
        if member.file in kept:
            continue  # read from its segment, not extracted: nothing to isolate
        try:
            run(_alone(job, member), context)
        except WorkerDied as died:
            culprits.append(ReadError(member.file, culprit_reason(died)))
    bad = {error.file for error in culprits}
    rest = tuple(member for member in job.members if member.file not in bad)
    if rest:
        outcome = run(replace(job, members=rest), context)
    else:
        outcome = ChunkOutcome(job.index, None, (), 0, 0, (), (), StagedDiff())
    return replace(outcome, failed=outcome.failed + tuple(culprits))


def _alone(job: ChunkJob, member: Member) -> ChunkJob:
    """A chunk of one report, with the catalogue entries it looks up."""
    return replace(job, members=(member,), catalogue=job.catalogue)
