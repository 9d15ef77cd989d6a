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
    import sys
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
    assert "jieba" not in sys.modules, "the flow's own process extracted"
""")

NEW_UNIT = "\n  - id: unit.count.horse\n    written: [匹]\n    dimension: count\n"


def test_flow_runs_incrementally(tmp_path: Path) -> None:
    raw = Path(shutil.copytree(ROOT / "raw", tmp_path / "raw"))
    (raw / "100_horses.txt").write_text("2023年，金华市新增马匹120匹。\n", encoding="utf-8")
    rules = Path(shutil.copytree(ROOT / "rules", tmp_path / "rules"))
    out = tmp_path / "out"
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "prefect"),
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120", PREFECT_SERVER_ANALYTICS_ENABLED="false")
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(raw), str(out), str(rules), NEW_UNIT],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    logs = proc.stdout + proc.stderr
    assert logs.count("Starting temporary server") == 1, logs[-3000:]  # not one per worker process
    assert "Error logging to API" not in logs

    _, noop, edit = proc.stdout.split("=== ")
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
