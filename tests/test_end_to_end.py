"""End to end over the sample reports in raw/: Parquet out, specific facts by value.

`pipeline.runs.run.run` is the same code the Prefect flow calls, without a
server; `test_flow_cli` runs `python flows.py` itself once (it starts a
temporary Prefect server, so it takes tens of seconds).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipeline.runs.run import run

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out")
    summary = run(ROOT / "raw", out, ROOT / "rules")
    assert summary.read == 5 and not summary.failed
    return out


def fact(facts: pd.DataFrame, doc: str, text: str, n: int = 0) -> pd.Series:
    rows = facts[(facts["doc"] == doc) & (facts["text"] == text)]
    assert len(rows) > n, f"{text!r} not found in {doc}"
    return rows.iloc[n]


def test_specific_facts_by_value(output: Path) -> None:
    facts = pd.read_parquet(output / "facts")
    jinhua = "000_5d7395224a19708a.txt"
    f = fact(facts, jinhua, "3.98万件")
    assert (f.value, f.unit, f.dimension, f.qualifier, f.type, f.region) == (39800, "件", "count", "exact", "level", "金华市")
    f = fact(facts, jinhua, "284亿元")
    assert (f.value, f.unit, f.period, f.metric) == (28_400_000_000, "CNY", "2023", "知识产权质押融资金额")
    f = fact(facts, jinhua, "31.7%")
    assert (f.value, f.type, f.metric) == (pytest.approx(31.7), "change", "高价值发明专利拥有量")
    f = fact(facts, jinhua, "第3名")
    assert (f.value, f.unit, f.type) == (3, "rank", "rank")
    f = fact(facts, jinhua, "6200余头")
    assert (f.value, f.qualifier) == (6200, "lower_bound")
    f = fact(facts, "001_4ea4a4d79bcf40d2.txt", "5\n\n单")  # split across a PDF line break
    assert f.value == 5 and f.unit == "单"
    f = fact(facts, "001_4ea4a4d79bcf40d2.txt", "96%")
    assert (f.value, f.qualifier, f.type) == (-96, "lower_bound", "change")
    f = fact(facts, "003_bbaa1da155221246.txt", "121.7倍")
    assert (f.value, f.unit, f.type) == (pytest.approx(121.7), "x", "change")
    table = facts[(facts["doc"] == "004_cd3890bc85c3d6ca.txt") & (facts["rule"] == "table.cell")]
    assert len(table) == 16
    f = fact(table, "004_cd3890bc85c3d6ca.txt", "12")  # 知识产权质押融资金额（亿元）
    assert (f.value, f.unit, f.period, f.type) == (1_200_000_000, "CNY", "2021", "level")


def test_offsets_slice_the_raw_files(output: Path) -> None:
    facts = pd.read_parquet(output / "facts")
    for doc, group in facts.groupby("doc"):
        raw = (ROOT / "raw" / str(doc)).read_text(encoding="utf-8")
        for row in group.itertuples():
            assert raw[row.start:row.end] == row.text


def test_documents_table_and_duckdb(output: Path) -> None:
    docs = pd.read_parquet(output / "documents")
    assert len(docs) == 5
    row = docs[docs["file"] == "004_cd3890bc85c3d6ca.txt"].iloc[0]
    assert str(row.published) == "2022-10-26" and row.facts >= 16
    rows = duckdb.sql(f"select count(*) from read_parquet('{output}/facts/*.parquet') where unit = 'CNY'").fetchall()
    assert rows[0][0] >= 20


def test_flow_cli(tmp_path: Path) -> None:
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "prefect"),
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120", PREFECT_SERVER_ANALYTICS_ENABLED="false")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "flows.py", "--raw", "raw", "--output", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "5" in proc.stdout and str(out) in proc.stdout
    facts = pd.read_parquet(out / "facts")
    assert (facts["text"] == "52.58万件").any()
