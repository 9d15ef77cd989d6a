"""Schedules that fire: a real `prefect server start`, `deploy.py` serving on a short interval, and
scheduled runs that complete and pick up a report dropped into the raw folder.

With prefect 3.8.8 and SQLAlchemy 2.1 the server's scheduler failed (`Can't
evaluate bulk DML statement`) and no scheduled run was ever created; this is
the test that would have said so. Everything runs on a free loopback port with
a throwaway PREFECT_HOME, and every process is stopped at the end.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from output_snapshot import table
from test_flow import user_environment

ROOT = Path(__file__).resolve().parent.parent
EVERY_MINUTES = 0.2  # a scheduled run every 12 s
NEW = "100_horses.txt"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group (the server's workers, the runner's flow runs), SIGKILL if it lingers."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # anything of the group still there


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A persistent Prefect server as a user starts it: its API URL and the environment to reach it."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = dict(user_environment(), PREFECT_HOME=str(tmp_path / "prefect"),
               PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="5")  # default 60: top up schedules sooner
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen([sys.executable, "-c", "from prefect.cli import app; app()", "server", "start",
                                "--host", "127.0.0.1", "--port", str(port), "--no-ui", "--analytics-off"],
                               env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, (tmp_path / "server.log").read_text(errors="replace")[-3000:]
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not answer within 180 s"
            time.sleep(0.5)
        yield url, dict(env, PREFECT_API_URL=url)
    finally:
        _stop(process)
        log.close()


def _completed_scheduled_runs(url: str) -> list[dict[str, Any]]:
    """Completed flow runs of the ingest deployment that its schedule created."""
    body = {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}, "deployments": {"name": {"any_": ["ingest"]}}}
    runs: list[dict[str, Any]] = httpx.post(f"{url}/flow_runs/filter", json=body, timeout=10).json()
    return [run for run in runs if run["auto_scheduled"]]


def _wait(what: str, check: Any, serving: subprocess.Popen[bytes], log: Path, seconds: float = 240) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert serving.poll() is None, log.read_text(errors="replace")[-3000:]
        found = check()
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"{what} within {seconds:.0f} s:\n" + log.read_text(errors="replace")[-3000:])


def test_scheduled_runs_complete_and_pick_up_a_new_report(tmp_path: Path,
                                                          server: tuple[str, dict[str, str]]) -> None:
    url, env = server
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(ROOT / "raw" / "004_cd3890bc85c3d6ca.txt", raw)
    out = tmp_path / "out"
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        serving = subprocess.Popen([sys.executable, "deploy.py", "--raw", str(raw), "--output", str(out),
                                    "--every", str(EVERY_MINUTES)], cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
                                   env=dict(env, PREFECT_RUNNER_POLL_FREQUENCY="2"), start_new_session=True)
    try:
        first = _wait("no scheduled run completed", lambda: _completed_scheduled_runs(url), serving, log)
        assert [row["file"] for row in table(out, "documents")] == ["004_cd3890bc85c3d6ca.txt"]

        dropped = time.time()
        (raw / NEW).write_text("2023年，金华市新增马匹120匹。\n", encoding="utf-8")

        def picked_up() -> bool:
            later = len(_completed_scheduled_runs(url)) > len(first)
            return later and NEW in {row["file"] for row in table(out, "documents")}

        _wait("no scheduled run picked up the new report", picked_up, serving, log)
        scheduled = _completed_scheduled_runs(url)
    finally:
        _stop(serving)

    runs = table(out, "runs")
    assert any(run["extracted"] == 1 and run["seen"] == 2 and run["started"].timestamp() >= dropped for run in runs)
    assert {row["file"] for row in table(out, "documents")} == {"004_cd3890bc85c3d6ca.txt", NEW}
    assert len(scheduled) >= 2, scheduled  # created by the schedule, not by hand
    assert all(run["parameters"]["output"] == str(out.resolve()) for run in scheduled)
