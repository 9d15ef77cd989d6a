"""The run's one Prefect server (prefect_server) and the flow's bounded submissions, without a server.

The real server is started by tests/test_flow.py and tests/test_dask.py,
which also check that the workers used it instead of starting their own.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from prefect.settings import PREFECT_API_URL

import flows
import prefect_server
from pipeline.runs.plan import ChunkJob, RunContext, RunPlan

URL = "http://127.0.0.1:1/api"


@dataclass
class FakeServer:
    """Stands in for the uvicorn process: records starts, stops and drains."""

    events: list[str] = field(default_factory=list)

    def start(self, timeout: float) -> tuple[str, str]:
        self.events.append("start")
        return "process", URL

    def stop(self, process: str) -> None:
        self.events.append(f"stop {process}")

    def drain(self) -> None:
        self.events.append(f"drain {os.environ.get('PREFECT_API_URL')}")


@pytest.fixture()
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    fake = FakeServer()
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setattr(prefect_server, "configured_api_url", lambda: None)
    monkeypatch.setattr(prefect_server, "start_server", fake.start)
    monkeypatch.setattr(prefect_server, "stop_server", fake.stop)
    monkeypatch.setattr(prefect_server, "_drain", fake.drain)
    yield fake


def test_one_server_is_started_shared_and_stopped(server: FakeServer) -> None:
    seen: dict[str, Any] = {}
    before = PREFECT_API_URL.value()
    with prefect_server.shared_server() as url:
        seen["env"] = os.environ.get("PREFECT_API_URL")  # what worker processes inherit
        seen["settings"] = PREFECT_API_URL.value()
        thread = threading.Thread(target=lambda: seen.update(thread=PREFECT_API_URL.value()))
        thread.start()
        thread.join()
        assert server.events == ["start"]
    assert url == seen["env"] == seen["settings"] == seen["thread"] == URL
    assert server.events == ["start", f"drain {URL}", "stop process"]  # logs sent before the stop
    assert "PREFECT_API_URL" not in os.environ and PREFECT_API_URL.value() == before


def test_server_stops_when_the_run_fails(server: FakeServer) -> None:
    with pytest.raises(RuntimeError, match="flow failed"), prefect_server.shared_server():
        raise RuntimeError("flow failed")
    assert server.events[-1] == "stop process" and "PREFECT_API_URL" not in os.environ


def test_a_configured_server_is_used_as_it_is(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prefect_server, "configured_api_url", lambda: "http://prefect.example/api")
    with prefect_server.shared_server() as url:
        assert url == "http://prefect.example/api"
    assert server.events == []


@dataclass
class FakeFuture:
    outcome: str
    pending: set[int]
    index: int

    def result(self) -> str:
        self.pending.discard(self.index)
        return self.outcome


@dataclass
class FakeTask:
    """extract_chunk_task's `submit`, recording how many tasks were outstanding at most."""

    pending: set[int] = field(default_factory=set)
    most: int = 0

    def submit(self, index: int, job: ChunkJob, context: RunContext, rules: Any, in_pool: bool) -> FakeFuture:
        self.pending.add(index)
        self.most = max(self.most, len(self.pending))
        return FakeFuture(f"built {index}", self.pending, index)


def test_chunks_are_submitted_a_few_at_a_time_and_collected_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    task = FakeTask()
    monkeypatch.setattr(flows, "extract_chunk_task", task)
    monkeypatch.setattr(flows.pipeline_run, "process_chunk", lambda job, context, rules: f"linked {job.index}")
    stored = {2, 5}
    jobs = tuple(ChunkJob(i, f"k{i}", (), i in stored, {}) for i in range(9))
    context = RunContext("run", Path("raw"), Path("out"), None, "rv", "cv", 0, False)
    plan = RunPlan(context, None, jobs, (), 0)  # type: ignore[arg-type]  # the manifest is not read

    outcomes = list(flows._outcomes(plan, rules=None, in_flight=3, in_pool=True))  # type: ignore[arg-type]

    assert outcomes == [f"linked {i}" if i in stored else f"built {i}" for i in range(9)]
    assert task.most == 3 and not task.pending


TELEMETRY = ("import os, flows; print(os.environ.get('PREFECT_SERVER_ANALYTICS_ENABLED'), "
             "os.environ.get('DO_NOT_TRACK'))")


def _telemetry_after_import(tmp_path: Path, **environ: str) -> str:
    """What importing flows.py leaves in the environment the temporary server and the workers inherit."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_SERVER_ANALYTICS_ENABLED", "DO_NOT_TRACK")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), **environ)
    done = subprocess.run([sys.executable, "-c", TELEMETRY], cwd=Path(__file__).resolve().parent.parent, env=env,
                          capture_output=True, text=True, check=True, timeout=120)
    return done.stdout.strip()


def test_telemetry_is_off_unless_the_user_chose(tmp_path: Path) -> None:
    assert _telemetry_after_import(tmp_path) == "false 1"  # nobody chose: off, server and client
    assert _telemetry_after_import(tmp_path, PREFECT_SERVER_ANALYTICS_ENABLED="true") == "true None"
    assert _telemetry_after_import(tmp_path, DO_NOT_TRACK="0") == "false 0"


def test_a_profile_setting_of_telemetry_is_the_users_choice(tmp_path: Path) -> None:
    """Set in a Prefect profile, not the environment: flows.py leaves it for the server to read."""
    (tmp_path / "prefect").mkdir()
    (tmp_path / "prefect" / "profiles.toml").write_text(
        'active = "mine"\n[profiles.mine]\nPREFECT_SERVER_ANALYTICS_ENABLED = "true"\n', encoding="utf-8")
    assert _telemetry_after_import(tmp_path) == "None 1"
