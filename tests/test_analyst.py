"""DuckDB views over the output, and the README's analyst queries run against a small output."""
from __future__ import annotations

import dataclasses
import re
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipeline.records import Fact
from pipeline.storage.versions import documents_table, facts_table, publish
from pipeline.views.duckdb import VIEW_NAMES, write_duckdb

ROOT = Path(__file__).resolve().parent.parent
REPORT = "000_5d7395224a19708a.txt"
METRIC = "有效发明专利拥有量"
# (region, year, value) levels of METRIC; 杭州市 2023 is said twice (two reports, two values).
LEVELS = [
    ("金华市", "2021", 10000.0), ("金华市", "2022", 12000.0), ("金华市", "2023", 18000.0),
    ("杭州市", "2022", 50000.0), ("杭州市", "2023", 52000.0), ("杭州市", "2023", 54000.0),
]


def make_fact(doc: str, start: int, **changes: Any) -> Fact:
    fields: dict[str, Any] = {
        "doc": doc, "doc_id": f"id-{doc}", "start": start, "end": start + 6, "text": "12000件", "value": 12000.0, "unit": "件",
        "dimension": "count", "qualifier": "exact", "type": "level", "metric": METRIC, "metric_id": None, "region": "金华市",
        "region_code": None, "period": "2022", "sentence": "…", "rule": "unit.count.classifier", "rules_version": "rv",
    }
    fields.update(changes)
    return Fact(**fields)


def sample() -> tuple[list[Fact], list[dict[str, Any]]]:
    facts = [
        make_fact(REPORT if i < 3 else "001_other.txt", 100 - 10 * i, region=region, period=year, value=value,
                  text=f"{value:g}件")
        for i, (region, year, value) in enumerate(LEVELS)
    ]
    facts.append(make_fact(REPORT, 5, text="31.7%", value=31.7, unit="%", dimension="percent", type="change",
                           metric="新增注册商标", period="2023"))
    facts.append(make_fact("001_other.txt", 7, metric=None, region=None, period=None))  # not in the views
    documents = [
        {"doc_id": f"id-{doc}", "file": doc, "title": title, "published": date(2024, 4, 26), "sha256": "0" * 64,
         "characters": 500, "facts": sum(f.doc == doc for f in facts), "encoding": "utf-8"}
        for doc, title in ((REPORT, "金华报告"), ("001_other.txt", None))
    ]
    return facts, documents


@pytest.fixture()
def output(tmp_path: Path) -> Path:
    out = tmp_path / "output"
    facts, documents = sample()
    publish(out, facts_table(facts), documents_table(documents), "rv")
    return out


def readme_blocks(language: str) -> list[str]:
    """Code blocks of the README's analyst section, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Review page and analyst access", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", section, re.S)


def test_views_are_created(output: Path) -> None:
    database = write_duckdb(output)
    assert database == output.absolute() / "facts.duckdb"
    with duckdb.connect(str(database), read_only=True) as con:
        views = {row[0] for row in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        assert views == set(VIEW_NAMES)
        assert con.execute("SELECT count(*) FROM facts").fetchone() == (8,)
        assert con.execute("SELECT count(*) FROM documents").fetchone() == (2,)
        assert con.execute("SELECT DISTINCT title FROM facts_with_documents WHERE doc = ?", [REPORT]).fetchall() == [
            ("金华报告",)
        ]
        tables = con.execute("SELECT count(*) FROM duckdb_tables()").fetchone()
        assert tables == (0,)  # views only: the data stays in Parquet


def test_metric_by_region_year_takes_the_median_of_repeated_figures(output: Path) -> None:
    with duckdb.connect(str(write_duckdb(output)), read_only=True) as con:
        row = con.execute(
            "SELECT value, min_value, max_value, facts, reports FROM metric_by_region_year "
            "WHERE metric = ? AND region = '杭州市' AND year = 2023", [METRIC]
        ).fetchone()
    assert row == (53000.0, 52000.0, 54000.0, 2, 1)


def test_readme_queries_answer_the_analysts_questions(output: Path) -> None:
    across, changes, report = readme_blocks("sql")
    with duckdb.connect(str(write_duckdb(output)), read_only=True) as con:
        pivot = con.sql(across)
        assert pivot.columns == ["region", "2021", "2022", "2023"]
        assert pivot.fetchall() == [("杭州市", None, 50000.0, 53000.0), ("金华市", 10000.0, 12000.0, 18000.0)]

        largest = con.sql(changes).fetchall()
        assert [(r[1], r[3], r[4], r[7]) for r in largest] == [
            ("金华市", 2022, 2023, 50.0), ("金华市", 2021, 2022, 20.0), ("杭州市", 2022, 2023, 6.0),
        ]

        figures = con.sql(report).fetchall()
        assert [row[0] for row in figures] == [5, 80, 90, 100]  # reading order
        assert figures[0][2:5] == ("31.7%", 31.7, "%")


def test_readme_pandas_example(output: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (block,) = readme_blocks("python")
    monkeypatch.chdir(output.parent)
    exec(compile(block, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert re.search(r"杭州市\s+NaN\s+50000\.0\s+53000\.0", printed), printed
    assert re.search(r"金华市\s+10000\.0\s+12000\.0\s+18000\.0", printed), printed


def test_views_follow_the_next_run_without_rewriting(output: Path) -> None:
    database = write_duckdb(output)
    facts, documents = sample()
    newer = [dataclasses.replace(f, rules_version="rv2") for f in facts[:2]]
    publish(output, facts_table(newer), documents_table(documents), "rv2")
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM facts").fetchone() == (2,)
        assert con.execute("SELECT DISTINCT rules_version FROM facts").fetchall() == [("rv2",)]


def test_rewrite_while_a_reader_has_it_open_and_quotes_in_paths(tmp_path: Path) -> None:
    out = tmp_path / "it's output"
    facts, documents = sample()
    publish(out, facts_table(facts), documents_table(documents), "rv")
    database = write_duckdb(out)
    with duckdb.connect(str(database), read_only=True) as reader:
        assert write_duckdb(out) == database
        assert reader.execute("SELECT count(*) FROM facts").fetchone() == (8,)
    assert [p.name for p in out.iterdir() if p.name.endswith((".tmp", ".wal"))] == []


def test_custom_location_and_missing_output(output: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "analysis.duckdb"
    assert write_duckdb(output, elsewhere) == elsewhere
    with duckdb.connect(str(elsewhere), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM facts").fetchone() == (8,)
    with pytest.raises(FileNotFoundError, match="nothing/facts: no Parquet dataset"):
        write_duckdb(tmp_path / "nothing")
