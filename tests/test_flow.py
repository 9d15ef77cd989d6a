"""The real Prefect flow, once: first run, no-op rerun, rerun after a rule edit; and the deployments.

The flow runs in a child process with a throwaway PREFECT_HOME; its one
temporary server serves the three runs and the worker processes (tens of
seconds in all): a worker that started a server of its own would log it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

from output_snapshot import table

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent("""
    import os, subprocess, sys
    from pathlib import Path
    import flows
    from prefect_server import shared_server

    raw, out, rules, unit = sys.argv[1:5]
    args = ["--raw", raw, "--output", out, "--rules", rules, "--workers", "2"]
    with shared_server():  # each run sees PREFECT_API_URL set and uses this server
        assert flows.main(args) == 0
        print("=== no-op")
        assert flows.main(args) == 0
        with open(Path(rules) / "units.yaml", "a", encoding="utf-8") as handle:
            handle.write(unit)
        print("=== rule edit")
        assert flows.main(args[:-1] + ["1"]) == 0  # --workers 1: still a worker process, never this one
        # what a user sees of the runs' artifacts, with Prefect's own command line
        prefect = [sys.executable, "-c", "from prefect.cli import app; app()"]
        env = dict(os.environ, COLUMNS="250")
        for command in (["artifact", "ls"], ["artifact", "inspect", "ip-figures-run-summary"]):
            done = subprocess.run(prefect + command, env=env, capture_output=True, text=True, check=True)
            print("=== " + " ".join(command) + chr(10) + done.stdout)
        from prefect.artifacts import Artifact
        print("=== latest changes" + chr(10) + Artifact.get("ip-figures-changes").data)
    assert "jieba" not in sys.modules, "the flow's own process extracted"
""")

def user_environment() -> dict[str, str]:
    """This environment without the telemetry switches a user may not have set (importing flows.py
    in this process sets them: a child must show what flows.py does on its own)."""
    return {k: v for k, v in os.environ.items() if k not in ("PREFECT_SERVER_ANALYTICS_ENABLED", "DO_NOT_TRACK")}


NEW_UNIT = "\n  - id: unit.count.horse\n    written: [匹]\n    dimension: count\n"


def test_flow_runs_incrementally(tmp_path: Path) -> None:
    raw = Path(shutil.copytree(ROOT / "raw", tmp_path / "raw"))
    (raw / "100_horses.txt").write_text("2023年，金华市新增马匹120匹。\n", encoding="utf-8")
    rules = Path(shutil.copytree(ROOT / "rules", tmp_path / "rules"))
    out = tmp_path / "out"
    env = dict(user_environment(), PREFECT_HOME=str(tmp_path / "prefect"),
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120")
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(raw), str(out), str(rules), NEW_UNIT],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    logs = proc.stdout + proc.stderr
    assert logs.count("Starting temporary server") == 1, logs[-3000:]  # not one per worker process
    assert "Error logging to API" not in logs
    # a healthy run logs no error or warning: none about the data, and none of Prefect's own
    # (flows.py turns telemetry off itself, which offline logged an ERROR on every run)
    noisy = [line for line in logs.splitlines() if "| ERROR" in line or "| WARNING" in line or "Traceback" in line]
    assert noisy == [], "\n".join(noisy)

    assert "chunks 1/1, reports 6/6 (100.0%), " in logs  # progress, at least for the last chunk

    _, noop, edit, listed, summaries, changes = proc.stdout.split("=== ")
    # the artifacts, under stable keys: each run added one of each, so the summary has a history of three
    for key in ("ip-figures-run-summary", "ip-figures-changes", "ip-figures-errors", "ip-figures-review-site"):
        assert f"│ {key} " in listed, listed
    assert summaries.count("'key': 'ip-figures-run-summary'") == 3, summaries
    latest = summaries.split("'data': ")[1]
    assert '"seen": 6, "extracted": 6, "unchanged": 0, "failed": 0' in latest and '"added": 1,' in latest
    assert "| unit.count.horse | 1 | 0 | 0 |" in changes, changes
    assert "| added | 100\\_horses.txt |  | 120匹 = 120 匹 | unit.count.horse |" in changes, changes
    assert "## The full diff" in changes
    assert "6 reports seen, 0 extracted, 6 unchanged" in noop and "Changes: none" in noop
    assert "6 extracted" in edit and "unit.count.horse +1" in edit
    runs = table(out, "runs")
    assert [(r["seen"], r["extracted"], r["skipped"], r["failed"]) for r in runs] == [
        (6, 6, 0, 0), (6, 0, 6, 0), (6, 6, 0, 0)]
    diff = [d for d in table(out, "diffs") if d["run_id"] == runs[-1]["run_id"]]
    assert [(d["change"], d["text"], d["rule"]) for d in diff] == [("added", "120匹", "unit.count.horse")]


def test_deployments_schedule_and_parameters(tmp_path: Path) -> None:
    import deploy
    from flows import extract_reports

    ingest, full = deploy.deployments(Path("raw"), tmp_path / "out", Path("rules"), every_minutes=10)
    assert (ingest.name, full.name) == ("ingest", "full-rerun")
    assert ingest.entrypoint == full.entrypoint == "flows.py:extract_reports"
    (schedule,) = ingest.schedules
    assert schedule.schedule.interval == timedelta(minutes=10)
    assert not full.schedules
    assert ingest.parameters["output"] == str((tmp_path / "out").resolve())
    assert Path(ingest.parameters["raw"]).is_absolute() and ingest.parameters["full"] is False
    assert full.parameters["full"] is True
    assert ingest.concurrency_limit == full.concurrency_limit == 1
    accepted = set(extract_reports.parameters.properties)
    assert set(ingest.parameters) <= accepted and set(full.parameters) <= accepted
