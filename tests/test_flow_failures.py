"""The real flow when things go wrong: a report that kills its worker, a SIGTERM, a SIGKILL.

Each test runs `python flows.py` in a child process with its own temporary
Prefect server (one PREFECT_HOME for the module, so only the first start
migrates a database) and looks at what a user would: the exit code, the log,
the output, and which processes are left.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from output_snapshot import table
from test_flow import user_environment
from test_isolation import BIG, LIMIT_MIB, SMALL, big_report

from bench import corpus

ROOT = Path(__file__).resolve().parent.parent
STOP_WITHIN_S = 20.0  # a SIGTERM ends the run in ~2-3 s here; the bound leaves room for a busy machine


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("prefect")
    return dict(user_environment(), PREFECT_HOME=str(home), PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120")


@pytest.fixture(scope="module")
def long_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """~20 MB of reports: about ten seconds of chunks on two workers, time to be stopped in."""
    raw = tmp_path_factory.mktemp("corpus") / "raw"
    corpus.build(raw, 20.0, seed=1)
    return raw


def test_a_report_that_kills_its_worker_is_retried_apart_and_fails_alone(tmp_path: Path,
                                                                         env: dict[str, str]) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    for name, text in SMALL.items():
        (raw / name).write_text(text, encoding="utf-8")
    (raw / BIG).write_text(big_report(), encoding="utf-8")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "flows.py", "--raw", str(raw), "--output", str(out), "--workers", "1",
                           "--worker-memory", str(LIMIT_MIB)], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=False, timeout=600)
    logs = proc.stdout + proc.stderr
    assert proc.returncode == 0, logs[-4000:]  # a report that cannot be read is data, not a crash
    # the chunk's first attempt failed with its worker; Prefect retried it once
    assert "Task run failed with exception: WorkerDied('worker process" in logs, logs[-4000:]
    assert f"over the worker memory limit of {LIMIT_MIB} MiB" in logs and "Retry 1/1 will start" in logs
    (error,) = table(out, "errors")
    assert error["file"] == BIG
    assert error["reason"].startswith("worker died (signal 9) while reading this report: over the worker memory limit")
    assert sorted(row["file"] for row in table(out, "documents")) == sorted(SMALL)
    (run,) = table(out, "runs")
    assert (run["seen"], run["extracted"], run["failed"]) == (3, 2, 1)


def _flow(raw: Path, out: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen([sys.executable, "flows.py", "--raw", str(raw), "--output", str(out), "--workers", "2"],
                                cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)


def _wait_for_chunks(flow: subprocess.Popen[bytes], log: Path) -> list[int]:
    """Wait until the flow's first chunk is done (more are running); its descendants' pids."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert flow.poll() is None, log.read_text(errors="replace")[-3000:]
        text = log.read_text(errors="replace")
        found = _descendants(flow.pid)
        if "Task run 'extract-chunk-" in text and sum("pipeline.processes.workers" in _command(pid)
                                                      for pid in found) == 2:
            return found
        time.sleep(0.2)
    raise AssertionError("the flow never reached its chunks:\n" + log.read_text(errors="replace")[-3000:])


def test_sigkill_of_the_flow_leaves_no_server_and_no_worker(tmp_path: Path, env: dict[str, str],
                                                            long_corpus: Path) -> None:
    log = tmp_path / "flow.log"
    flow = _flow(long_corpus, tmp_path / "out", env, log)
    left = _wait_for_chunks(flow, log)
    assert any("prefect.server.api.server:create_app" in _command(pid) for pid in left)  # the temporary server
    flow.kill()
    flow.wait()
    assert _gone(left, within=10.0) == [], [_command(pid) for pid in left]


def test_sigterm_stops_the_run_within_seconds_with_the_signal_as_its_error(tmp_path: Path, env: dict[str, str],
                                                                         long_corpus: Path) -> None:
    log = tmp_path / "flow.log"
    flow = _flow(long_corpus, tmp_path / "out", env, log)
    left = _wait_for_chunks(flow, log)
    sent = time.monotonic()
    flow.send_signal(signal.SIGTERM)
    code = flow.wait(120)
    took = time.monotonic() - sent
    text = log.read_text(errors="replace")
    assert code == 128 + signal.SIGTERM, text[-3000:]
    assert took < STOP_WITHIN_S, text[-3000:]
    assert "Execution was aborted by a termination signal" in text
    assert "list.remove" not in text and "ValueError" not in text and "WorkerDied" not in text, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    assert _gone(left, within=10.0) == [], [_command(pid) for pid in left]
    assert not (tmp_path / "out" / "current").exists()  # nothing was published


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                kids = [int(kid) for kid in task.read_text().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _gone(pids: list[int], within: float) -> list[int]:
    """The processes of `pids` still alive after up to `within` seconds."""
    deadline = time.monotonic() + within
    alive = [pid for pid in pids if _alive(pid)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [pid for pid in alive if _alive(pid)]
    return alive


