"""The same flow on a local Dask cluster (prefect-dask), as it would run on a real one."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent


def test_flow_on_a_local_dask_cluster(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(ROOT / "raw", raw)
    out = tmp_path / "out"
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120")
    proc = subprocess.run([sys.executable, "flows.py", "--raw", str(raw), "--output", str(out), "--dask", "local",
                           "--workers", "2"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    logs = proc.stdout + proc.stderr
    assert "Creating a new Dask cluster" in logs
    assert logs.count("Starting temporary server") == 1, logs[-3000:]  # the Dask workers use the flow's
    assert "Error logging to API" not in logs
    facts = pd.read_parquet(out / "facts")
    assert (facts["text"] == "52.58万件").any() and len(facts) > 250
    assert len(pd.read_parquet(out / "documents")) == 5
