"""Worker processes (pipeline.processes.workers): the same outcome as in-process, failures named, no strays."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.processes import memory, workers
from pipeline.processes.workers import ChunkWorkers, WorkerDied, WorkerError
from pipeline.rules.compiler import Rules
from pipeline.runs import staged_diffs as diffstore
from pipeline.runs.chunks import ChunkOutcome, process_chunk
from pipeline.runs.plan import RunPlan, plan_run
from pipeline.runs.run import discover

ROOT = Path(__file__).resolve().parent.parent
REPORTS = {
    "a.txt": "2023年，杭州市专利授权量达3.98万件，同比增长12.5%。\n",
    "b.txt": "2022年全省商标注册量284万件，居全国第3位。\n",
    "c.txt": "宁波市发明专利拥有量增长5.0个百分点。\n",
}


def _plan(tmp_path: Path, rules: Rules, name: str) -> RunPlan:
    raw = tmp_path / "raw"
    if not raw.exists():
        raw.mkdir()
        for file, text in REPORTS.items():
            (raw / file).write_text(text, encoding="utf-8")
    paths, catalogue = discover(raw)
    return plan_run(raw, tmp_path / name, paths, catalogue, rules.version, chunk_size=2)


def _facts(plan: RunPlan, segment: str | None) -> list[dict[str, object]]:
    assert segment is not None
    path = plan.context.output / ".state" / "segments" / "facts" / f"{segment}.parquet"
    return pq.read_table(path).drop_columns(["rules_version"]).to_pylist()


def _diff_rows(outcome: ChunkOutcome) -> list[dict[str, object]]:
    assert outcome.diff.path is not None
    rows = pa.Table.from_batches(list(diffstore.batches(outcome.diff.path))).drop_columns(["run_id"])
    return rows.to_pylist()


def test_a_worker_gives_the_outcome_extracting_here_gives(tmp_path: Path, rules: Rules) -> None:
    here, there = _plan(tmp_path, rules, "here"), _plan(tmp_path, rules, "there")
    assert len(there.jobs) == 2
    with ChunkWorkers(2, rules) as pool:
        assert workers.active() is pool
        remote = [pool.run(job, there.context) for job in there.jobs]
    assert workers.active() is None
    local = [process_chunk(job, here.context, rules) for job in here.jobs]
    for a, b in zip(local, remote):
        assert (a.segment, a.entries, a.extracted, a.failed) == (b.segment, b.entries, b.extracted, b.failed)
        assert a.diff.changes == b.diff.changes and a.diff.changes.added > 0
        assert _diff_rows(a) == _diff_rows(b)
        assert _facts(here, a.segment) == _facts(there, b.segment) != []


def test_a_worker_that_dies_fails_its_chunk_and_is_replaced(tmp_path: Path, rules: Rules) -> None:
    plan = _plan(tmp_path, rules, "out")
    with ChunkWorkers(1, rules) as pool:
        (first,) = pool.pids()
        os.kill(first, signal.SIGKILL)
        with pytest.raises(WorkerDied, match=rf"worker process {first} exited with code -9 while extracting chunk 0"):
            pool.run(plan.jobs[0], plan.context)
        (second,) = pool.pids()
        assert second != first
        assert pool.run(plan.jobs[0], plan.context).extracted == 2


def test_an_exception_in_a_worker_fails_the_chunk_with_its_traceback(tmp_path: Path, rules: Rules) -> None:
    plan = _plan(tmp_path, rules, "out")
    with ChunkWorkers(1, rules) as pool:
        with pytest.raises(WorkerError, match=r"(?s)chunk 0 failed in worker process \d+:.*AttributeError"):
            pool.run(plan.jobs[0], None)  # type: ignore[arg-type]  # no context: process_chunk raises
        assert pool.run(plan.jobs[1], plan.context).extracted == 1  # the worker lives on


def test_workers_stop_with_the_pool_and_at_once_after_an_error(tmp_path: Path, rules: Rules) -> None:
    with ChunkWorkers(2, rules) as pool:
        pids = pool.pids()
    assert all(not _alive(pid) for pid in pids)
    with pytest.raises(KeyboardInterrupt), ChunkWorkers(1, rules) as pool:
        pids = pool.pids()
        raise KeyboardInterrupt
    assert all(not _alive(pid) for pid in pids)


def test_a_worker_whose_parent_dies_exits(tmp_path: Path) -> None:
    """The worker reads end-of-file where its next chunk would come, and exits."""
    script = ("import sys; from pipeline.rules.compiler import load_rules; from pipeline.processes.workers import ChunkWorkers; "
              "pool = ChunkWorkers(1, load_rules(__import__('pathlib').Path('rules'))); "
              "print(pool.pids()[0], flush=True); sys.stdin.read(); import os; os._exit(0)")
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None and parent.stdin is not None
    pid = int(parent.stdout.readline())
    parent.stdin.close()  # the parent leaves without stopping its worker
    assert parent.wait(60) == 0
    for _ in range(600):  # the worker is not our child: poll until it is gone
        if not _alive(pid):
            break
        __import__("time").sleep(0.1)
    assert not _alive(pid)


def test_a_worker_extracts_without_loading_pandas(tmp_path: Path, rules: Rules) -> None:
    """pyarrow asks for pandas when it builds an array; in a worker it is refused, and all still works."""
    plan = _plan(tmp_path, rules, "out")
    with ChunkWorkers(1, rules) as pool:
        assert pool.run(plan.jobs[0], plan.context).extracted == 2  # tables built and written
        (pid,) = pool.pids()
        maps = Path(f"/proc/{pid}/maps").read_text(encoding="utf-8")
    assert "/pyarrow/" in maps and "/pandas/" not in maps
    with pytest.raises(ModuleNotFoundError, match="kept out of the pipeline's processes"):
        memory._NoPandas().find_spec("pandas.core", None)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def test_a_worker_extracting_when_its_parent_dies_exits_within_a_second(tmp_path: Path) -> None:
    """Not only between chunks: one in the middle of a long report stops too (no work for nobody)."""
    from test_isolation import big_report

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "big.txt").write_text(big_report(10.0), encoding="utf-8")  # ~15 s of work
    script = ("import os, sys, threading, time; from pathlib import Path; from pipeline.rules.compiler import load_rules; "
              "from pipeline.processes.workers import ChunkWorkers; from pipeline.runs.run import discover; "
              "from pipeline.runs.plan import plan_run; rules = load_rules(Path('rules')); raw = Path(sys.argv[1]); "
              "paths, catalogue = discover(raw); "
              "plan = plan_run(raw, Path(sys.argv[2]), paths, catalogue, rules.version, chunk_size=10); "
              "pool = ChunkWorkers(1, rules, memory_mib=None); "
              "threading.Thread(target=pool.run, args=(plan.jobs[0], plan.context), daemon=True).start(); "
              "time.sleep(3); print(pool.pids()[0], flush=True); os._exit(0)")
    parent = subprocess.Popen([sys.executable, "-c", script, str(raw), str(tmp_path / "out")], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())  # not read to its end: the worker holds the pipe too
    assert parent.wait(60) == 0
    for _ in range(50):
        if not _alive(pid):
            break
        __import__("time").sleep(0.1)
    assert not _alive(pid)
