"""A whole run without Prefect, with a stand-in extractor and stand-in rules."""
from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pyarrow.dataset as ds
import pytest

import pipeline.extract
import pipeline.rules
from pipeline.records import Document, Fact
from pipeline.rules import RuleError
from pipeline.run import batch_catalogue, batches, run

COUNT = re.compile(r"(\d+)件")


def fake_extract(doc: Document, rules: SimpleNamespace) -> list[Fact]:
    """Every `N件` is a count fact; a report containing BOOM crashes the extractor."""
    if "BOOM" in doc.text:
        raise RuntimeError("extractor bug")
    return [
        Fact(
            doc=doc.file, doc_id=doc.doc_id, start=m.start(), end=m.end(), text=m.group(),
            value=float(m.group(1)), unit="件", dimension="count", qualifier="exact",
            type="level", metric=None, metric_id=None, region=None, region_code=None,
            period=None, sentence=doc.text, rule="test.count", rules_version=rules.version,
        )
        for m in COUNT.finditer(doc.text)
    ]


@pytest.fixture()
def stubs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline.rules, "load_rules", lambda rules_dir: SimpleNamespace(version="rv-test"))
    monkeypatch.setattr(pipeline.extract, "extract_document", fake_extract)


@pytest.fixture()
def raw(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    (folder / "sub").mkdir(parents=True)
    (folder / "000_a.txt").write_text("新增商标12件，专利3件。", encoding="utf-8")
    (folder / "001_b.txt").write_bytes("授权5件".encode("gb18030"))
    (folder / "002_broken.txt").write_bytes(b"\x00\x01\x02binary\x00")
    (folder / "003_boom.txt").write_text("BOOM 7件", encoding="utf-8")
    (folder / "sub" / "004_c.txt").write_text("没有数字。", encoding="utf-8")
    (folder / "documents.csv").write_text(
        "file,title,published\n000_a.txt,金华报告,2024-04-26\n", encoding="utf-8"
    )
    return folder


def test_run_writes_output_and_counts(stubs: None, raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "output"
    summary = run(raw, out, tmp_path / "rules", batch_size=2)

    assert summary.read == 3
    assert summary.facts == 3
    assert [error.file for error in summary.failed] == ["002_broken.txt"]
    assert [error.file for error in summary.crashed] == ["003_boom.txt"]
    assert "extractor bug" in summary.crashed[0].reason
    assert summary.rules_version == "rv-test"

    facts = ds.dataset(out / "facts", format="parquet", partitioning="hive").to_table().to_pylist()
    assert [(f["doc"], f["text"], f["value"]) for f in facts] == [
        ("000_a.txt", "12件", 12.0), ("000_a.txt", "3件", 3.0), ("001_b.txt", "5件", 5.0),
    ]
    documents = {
        d["file"]: d for d in ds.dataset(out / "documents", format="parquet").to_table().to_pylist()
    }
    assert set(documents) == {"000_a.txt", "001_b.txt", "sub/004_c.txt"}
    assert documents["000_a.txt"]["title"] == "金华报告" and documents["000_a.txt"]["facts"] == 2
    assert documents["001_b.txt"]["encoding"] == "gb18030"
    assert documents["sub/004_c.txt"]["facts"] == 0

    text = summary.report()
    assert "Reports read: 3, failed: 2" in text and "Facts written: 3" in text
    assert "002_broken.txt" in text and "003_boom.txt" in text


def test_second_run_replaces_output(stubs: None, raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "output"
    run(raw, out, tmp_path / "rules")
    (raw / "000_a.txt").write_text("只有1件。", encoding="utf-8")
    summary = run(raw, out, tmp_path / "rules")
    assert summary.facts == 2
    assert ds.dataset(out / "facts", format="parquet").to_table().num_rows == 2


def test_rule_error_aborts_before_writing(
    monkeypatch: pytest.MonkeyPatch, raw: Path, tmp_path: Path
) -> None:
    def broken(rules_dir: Path) -> None:
        raise RuleError("rules/units.yaml", 12, "unit.wan", "bad pattern")

    monkeypatch.setattr(pipeline.rules, "load_rules", broken)
    monkeypatch.setattr(pipeline.extract, "extract_document", fake_extract)
    out = tmp_path / "output"
    with pytest.raises(RuleError, match="units.yaml:12: rule 'unit.wan'"):
        run(raw, out, tmp_path / "rules")
    assert not out.exists()


def test_crash_mid_run_keeps_previous_output(
    stubs: None, monkeypatch: pytest.MonkeyPatch, raw: Path, tmp_path: Path
) -> None:
    out = tmp_path / "output"
    run(raw, out, tmp_path / "rules")

    def fatal(*args: object) -> None:
        raise KeyboardInterrupt  # not an Exception: escapes the per-report guard

    monkeypatch.setattr(pipeline.extract, "extract_document", fatal)
    with pytest.raises(KeyboardInterrupt):
        run(raw, out, tmp_path / "rules")
    assert ds.dataset(out / "facts", format="parquet").to_table().num_rows == 3
    assert len([p for p in (out / ".versions").iterdir() if p.is_dir()]) == 1


def test_empty_raw_folder_publishes_empty_tables(stubs: None, tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    summary = run(tmp_path / "raw", tmp_path / "output", tmp_path / "rules")
    assert (summary.read, summary.facts, summary.failed, summary.crashed) == (0, 0, (), ())
    assert ds.dataset(tmp_path / "output" / "facts", format="parquet").to_table().num_rows == 0


def test_batches_and_batch_catalogue(raw: Path) -> None:
    assert list(batches(list(range(5)), 2)) == [[0, 1], [2, 3], [4]]
    paths = [raw / "000_a.txt", raw / "sub" / "004_c.txt"]
    catalogue = {"000_a.txt": ("t", None), "other.txt": ("x", None), "004_c.txt": ("c", None)}
    assert batch_catalogue(paths, raw, catalogue) == {"000_a.txt": ("t", None), "004_c.txt": ("c", None)}
