"""Worker memory limits and isolation (pipeline.processes.watchdog, .isolation): a report that
kills its worker fails alone, every other report of its chunk is published.

The deaths are real: a worker reading a 40 MB report passes a memory limit set
low for the test and the watchdog kills it with SIGKILL, as the OOM killer
would. Measured here: a worker holds ~100 MiB after the two small reports
(~220 MiB once a report has loaded jieba's dictionary, which these do not),
and passes 200 MiB about 8 s into the 40 MB report, ~270 MiB from 10 s on.
"""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline.processes import isolation
from pipeline.processes.watchdog import MIB, MemoryWatch
from pipeline.processes.workers import ChunkWorkers, PoolClosed, WorkerDied
from pipeline.records import ReadError
from pipeline.rules.compiler import Rules
from pipeline.runs.chunks import process_chunk
from pipeline.runs.plan import RunPlan, plan_run
from pipeline.runs.run import discover

ROOT = Path(__file__).resolve().parent.parent
LIMIT_MIB = 200  # above a worker after the small reports (~100 MiB), below one reading BIG
BIG = "m_big.txt"  # sorted between the small ones: the chunk's reports before and after it
SMALL = {"a_small.txt": "2023年，杭州市专利授权量达3.98万件，同比增长12.5%。\n",
         "z_small.txt": "2022年全省商标注册量284万件，居全国第3位。\n"}


def big_report(mb: float = 40.0) -> str:
    """The sample reports repeated to `mb` MB: ordinary text, only long."""
    sample = "\n\n".join(path.read_text(encoding="utf-8") for path in sorted((ROOT / "raw").glob("*.txt")))
    return "\n\n".join([sample] * (int(mb * 1e6 / len(sample.encode())) + 1))


def _plan(tmp_path: Path, rules: Rules, with_big: bool = True) -> RunPlan:
    raw = tmp_path / ("raw" if with_big else "raw-small")
    raw.mkdir()
    for name, text in SMALL.items():
        (raw / name).write_text(text, encoding="utf-8")
    if with_big:
        (raw / BIG).write_text(big_report(), encoding="utf-8")
    paths, catalogue = discover(raw)
    plan = plan_run(raw, tmp_path / ("out" if with_big else "out-small"), paths, catalogue, rules.version,
                    chunk_size=1000)
    assert len(plan.jobs) == 1
    return plan


def test_the_watchdog_kills_a_process_over_its_limit_and_spares_one_under() -> None:
    hog = subprocess.Popen([sys.executable, "-c", "import time; x = bytearray(300 * 2**20); time.sleep(60)"])
    calm = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    watch = MemoryWatch(100)
    try:
        watch.watch(hog.pid)
        watch.watch(calm.pid)
        assert hog.wait(30) == -9
        resident = watch.killed(hog.pid)
        assert resident is not None and resident > 100 * MIB
        time.sleep(0.5)  # several more passes
        assert calm.poll() is None and watch.killed(calm.pid) is None
    finally:
        watch.close()
        for process in (hog, calm):
            process.kill()
            process.wait()


def test_a_report_that_kills_its_worker_fails_alone(tmp_path: Path, rules: Rules) -> None:
    plan = _plan(tmp_path, rules)
    (job,) = plan.jobs
    with ChunkWorkers(1, rules, memory_mib=LIMIT_MIB) as pool:
        (first,) = pool.pids()
        with pytest.raises(WorkerDied) as died:
            pool.run(job, plan.context)
        (second,) = pool.pids()
        outcome = isolation.run_isolated(pool.run, job, plan.context)

    # the chunk's attempt: its worker was killed for its limit, and replaced
    assert died.value.code == -9 and died.value.cause() == "signal 9"
    assert died.value.resident is not None and died.value.resident > LIMIT_MIB * MIB
    assert str(died.value).startswith(f"worker process {first} exited with code -9 while extracting chunk 0: "
                                      f"over the worker memory limit of {LIMIT_MIB} MiB (")
    assert second != first
    # isolated: only the big report failed, with its reason; the others are the chunk's facts
    (error,) = outcome.failed
    assert error.file == BIG
    assert error.reason.startswith(
        f"worker died (signal 9) while reading this report: over the worker memory limit of {LIMIT_MIB} MiB (")
    assert [entry.file for entry in outcome.entries] == sorted(SMALL)
    assert outcome.extracted == 2 and outcome.crashed == ()
    # what the chunk of the small reports alone gives: as if the big one could not be read
    small = _plan(tmp_path, rules, with_big=False)
    alone = process_chunk(small.jobs[0], small.context, rules)
    assert outcome.segment == alone.segment
    assert [(e.file, e.key, e.facts) for e in outcome.entries] == [(e.file, e.key, e.facts) for e in alone.entries]
    assert outcome.diff.changes.totals == alone.diff.changes.totals != {}
    assert set(outcome.diff.changes.by_doc) == set(SMALL)


def test_isolation_without_a_culprit_gives_the_ordinary_outcome(tmp_path: Path, rules: Rules) -> None:
    """A worker that died for a reason of its own (killed from outside): every report is published."""
    plan = _plan(tmp_path, rules, with_big=False)
    (job,) = plan.jobs
    with ChunkWorkers(1, rules) as pool:
        outcome = isolation.run_isolated(pool.run, job, plan.context)
    assert outcome.failed == () and outcome.extracted == 2
    assert [entry.file for entry in outcome.entries] == sorted(SMALL)


def test_a_report_whose_worker_dies_alone_is_named_with_the_signal() -> None:
    died = WorkerDied("worker process 1 exited with code -11 while extracting chunk 3", -11)
    assert isolation.culprit_reason(died) == "worker died (signal 11) while reading this report"
    assert isolation.culprit_reason(WorkerDied("...", 1)) == "worker died (exit code 1) while reading this report"
    assert ReadError("x", isolation.culprit_reason(died)).reason.endswith("while reading this report")


def test_stopping_the_pool_fails_running_and_waiting_chunks_as_closed(tmp_path: Path, rules: Rules) -> None:
    """What a SIGTERM does to a run: the chunk in the worker and the one waiting for it end with PoolClosed,
    not as a worker death (nor with the pool's bookkeeping failing: list.remove(x))."""
    plan = _plan(tmp_path, rules)
    errors: dict[str, BaseException] = {}

    def run(name: str) -> None:
        try:
            pool.run(plan.jobs[0], plan.context)
        except BaseException as exc:  # recorded for the assertions below
            errors[name] = exc

    pool = ChunkWorkers(1, rules, memory_mib=None)
    threads = [threading.Thread(target=run, args=(name,)) for name in ("running", "waiting")]
    for thread in threads:
        thread.start()
    time.sleep(3)  # the first is reading the big report (~60 s), the second waits for the worker
    pool.close(kill=True)
    for thread in threads:
        thread.join(30)
    assert {name: type(exc) for name, exc in errors.items()} == {"running": PoolClosed, "waiting": PoolClosed}
    assert pool.pids() == []
