"""pipeline.runs.progress: the lines a run logs while its chunks come in, on a clock the test turns."""
from __future__ import annotations

from pathlib import Path

from pipeline.runs.chunks import ChunkOutcome
from pipeline.runs.plan import ChunkJob, Member, RunContext, RunPlan
from pipeline.runs.progress import Progress, duration
from pipeline.runs.staged_diffs import StagedDiff


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _plan(sizes: list[int], stored: set[int]) -> RunPlan:
    jobs = []
    for index, size in enumerate(sizes):
        members = tuple(Member(f"{index}-{n}.txt", 1, 0, 0, "sha", f"key{index}-{n}", None) for n in range(size))
        jobs.append(ChunkJob(index, f"chunk{index}", members, index in stored, {}))
    context = RunContext("run", Path("raw"), Path("out"), None, "rv", "cv", 0, False)
    return RunPlan(context, None, tuple(jobs), (), sum(sizes))  # type: ignore[arg-type]  # no manifest read


def _outcome(plan: RunPlan, index: int, facts_each: int) -> ChunkOutcome:
    job = plan.jobs[index]
    entries = tuple(member.entry(job.key, facts_each) for member in job.members)
    return ChunkOutcome(index, job.key, entries, len(entries), 0, (), (), StagedDiff())


def test_a_line_every_few_chunks_or_seconds_and_for_the_last_chunk() -> None:
    clock = Clock()
    plan = _plan([100, 200, 100, 100, 100], stored={0})
    progress = Progress(plan, clock, every_seconds=10, every_chunks=3)
    lines = []
    for index, seconds in enumerate([0.5, 4, 4, 4, 1]):
        clock.now += seconds
        lines.append(progress.add(_outcome(plan, index, facts_each=2)))
    # chunk 0 was stored (linked at once); 200 built reports took 4.5 s from the start
    assert lines[0] is None and lines[1] is None
    assert lines[2] == ("chunks 3/5, reports 400/600 (66.7%), 800 facts so far, 35.3 reports/s,"
                        " about 6 s left")  # three chunks since the start
    assert lines[3] is None  # 4 s and one chunk since the last line
    assert lines[4] == "chunks 5/5, reports 600/600 (100.0%), 1,200 facts so far, 37.0 reports/s, all built"


def test_time_since_the_last_line_makes_one_due() -> None:
    clock = Clock()
    plan = _plan([10] * 100, stored=set())
    progress = Progress(plan, clock, every_seconds=10, every_chunks=1000)
    clock.now += 5
    assert progress.add(_outcome(plan, 0, 1)) is None
    clock.now += 5
    assert progress.add(_outcome(plan, 1, 1)) == (
        "chunks 2/100, reports 20/1,000 (2.0%), 20 facts so far, 2.0 reports/s, about 8 min 10 s left")


def test_only_stored_chunks_have_no_rate() -> None:
    clock = Clock()
    plan = _plan([5, 5], stored={0, 1})
    progress = Progress(plan, clock)
    assert progress.add(_outcome(plan, 0, 1)) is None
    assert progress.add(_outcome(plan, 1, 1)) == "chunks 2/2, reports 10/10 (100.0%), 10 facts so far"


def test_durations_read_as_a_person_would() -> None:
    assert [duration(s) for s in (0.4, 41, 387, 3720)] == ["0 s", "41 s", "6 min 27 s", "1 h 02 min"]
