"""Parquet store: schemas, streaming writers, atomic publishing and third-party readers."""
from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from pipeline.records import Fact
from pipeline.storage.versions import (
    DOCUMENT_SCHEMA,
    FACT_SCHEMA,
    SCHEMA_VERSION,
    FactWriter,
    StagedOutput,
    current_version,
    documents_table,
    facts_table,
    publish,
)

FACT_COLUMNS = [
    ("doc", pa.string()), ("start", pa.int64()), ("end", pa.int64()), ("text", pa.string()),
    ("value", pa.float64()), ("unit", pa.string()), ("dimension", pa.string()),
    ("qualifier", pa.string()), ("type", pa.string()), ("metric", pa.string()),
    ("region", pa.string()), ("period", pa.string()), ("doc_id", pa.string()),
    ("sentence", pa.string()), ("rule", pa.string()), ("rules_version", pa.string()),
    ("metric_id", pa.string()), ("region_code", pa.string()),
]
DOCUMENT_COLUMNS = [
    ("doc_id", pa.string()), ("file", pa.string()), ("title", pa.string()),
    ("published", pa.date32()), ("sha256", pa.string()), ("characters", pa.int64()),
    ("facts", pa.int64()), ("encoding", pa.string()),
]


def make_fact(i: int, doc: str = "000_a.txt", rules_version: str = "rv1", **changes: object) -> Fact:
    fields: dict[str, object] = {
        "doc": doc, "doc_id": f"id-{doc}", "start": i, "end": i + 5, "text": "3.98万件", "value": 39800.0,
        "unit": "件", "dimension": "count", "qualifier": "exact", "type": "level", "metric": "新增注册商标",
        "metric_id": None, "region": "金华市", "region_code": "330700", "period": "2023",
        "sentence": "新增注册商标3.98万件。", "rule": "count.classifier", "rules_version": rules_version,
    }
    fields.update(changes)
    return Fact(**fields)  # type: ignore[arg-type]


def sample_documents(n_facts: int = 3) -> pa.Table:
    return documents_table([
        {"doc_id": "id-000_a.txt", "file": "000_a.txt", "title": "金华", "published": date(2024, 4, 26),
         "sha256": "ab" * 32, "characters": 1200, "facts": n_facts, "encoding": "utf-8"},
        {"doc_id": "id-001_b.txt", "file": "001_b.txt", "title": None, "published": None,
         "sha256": "cd" * 32, "characters": 10, "facts": 0, "encoding": "gb18030"},
    ])


def publish_facts(output: Path, n: int, rules_version: str = "rv1") -> Path:
    facts = facts_table(make_fact(i, rules_version=rules_version) for i in range(n))
    return publish(output, facts, sample_documents(n), rules_version)


# --- schemas -------------------------------------------------------------------


def test_fact_schema_columns_and_types() -> None:
    assert [(f.name, f.type) for f in FACT_SCHEMA] == FACT_COLUMNS
    nullable = {f.name for f in FACT_SCHEMA if f.nullable}
    assert nullable == {"metric", "region", "period", "metric_id", "region_code"}
    assert FACT_SCHEMA.metadata[b"schema_version"] == SCHEMA_VERSION.encode()


def test_document_schema_columns_and_types() -> None:
    assert [(f.name, f.type) for f in DOCUMENT_SCHEMA] == DOCUMENT_COLUMNS
    assert {f.name for f in DOCUMENT_SCHEMA if f.nullable} == {"title", "published"}


def test_facts_table_keeps_values_and_nulls() -> None:
    table = facts_table([make_fact(0), make_fact(7, region=None, period=None, metric=None)])
    assert table.schema.equals(FACT_SCHEMA, check_metadata=False)
    rows = table.to_pylist()
    assert rows[0]["value"] == 39800.0 and rows[0]["period"] == "2023"
    assert rows[1]["start"] == 7 and rows[1]["region"] is None and rows[1]["period"] is None


def test_facts_table_rejects_null_in_required_column() -> None:
    with pytest.raises(ValueError, match="unit"):
        facts_table([make_fact(0, unit=None)])


def test_empty_facts_table_has_schema() -> None:
    assert facts_table([]).schema.equals(FACT_SCHEMA, check_metadata=False)


def test_documents_table_dates() -> None:
    table = sample_documents()
    assert table.column("published").to_pylist() == [date(2024, 4, 26), None]
    with pytest.raises(TypeError):
        documents_table([{**table.to_pylist()[0], "published": "2024-04-26"}])


# --- writing -------------------------------------------------------------------


def test_fact_writer_batches_and_splits_files(tmp_path: Path) -> None:
    writer = FactWriter(tmp_path, "rv1", batch_rows=100, file_rows=250)
    for k in range(7):
        writer.add([make_fact(i) for i in range(k * 90, (k + 1) * 90)])
    files = writer.close()
    assert writer.rows == 630
    assert [pq.ParquetFile(f).metadata.num_rows for f in files] == [250, 250, 130]
    for f in files:
        meta = pq.ParquetFile(f).metadata
        assert all(meta.row_group(i).num_rows <= 100 for i in range(meta.num_row_groups))
    assert ds.dataset(tmp_path, format="parquet").to_table().column("start").to_pylist() == list(range(630))


def test_files_are_zstd_and_dictionary_encoded(tmp_path: Path) -> None:
    writer = FactWriter(tmp_path, "rv1")
    writer.add([make_fact(i) for i in range(50)])
    (path,) = writer.close()
    meta = pq.ParquetFile(path).metadata.row_group(0)
    columns = {meta.column(i).path_in_schema: meta.column(i) for i in range(meta.num_columns)}
    assert all(c.compression == "ZSTD" for c in columns.values())
    assert any("DICTIONARY" in e for e in columns["unit"].encodings)
    assert not any("DICTIONARY" in e for e in columns["sentence"].encodings)


def test_empty_writer_still_writes_a_readable_file(tmp_path: Path) -> None:
    files = FactWriter(tmp_path, "rv1").close()
    assert len(files) == 1
    assert pq.read_table(files[0]).num_rows == 0


# --- publishing ----------------------------------------------------------------


def test_publish_layout_and_metadata(tmp_path: Path) -> None:
    out = tmp_path / "output"
    version = publish_facts(out, 3, rules_version="rv-abc")
    assert (out / "facts").is_symlink() and (out / "documents").is_symlink()
    assert current_version(out) == version.resolve()
    for name in ("facts", "documents"):
        for path in (out / name).glob("*.parquet"):
            metadata = pq.read_schema(path).metadata
            assert metadata[b"rules_version"] == b"rv-abc"
            assert metadata[b"schema_version"] == SCHEMA_VERSION.encode()
    kv = duckdb.sql(
        f"SELECT value FROM parquet_kv_metadata('{out}/facts/*.parquet') WHERE key = 'rules_version'"
    ).fetchall()
    assert kv and all(bytes(v) == b"rv-abc" for (v,) in kv)


def test_second_publish_replaces_first(tmp_path: Path) -> None:
    out = tmp_path / "output"
    publish_facts(out, 3, "v1")
    old = Path(os.path.realpath(out / "facts"))
    publish_facts(out, 5, "v2")
    new = ds.dataset(out / "facts", format="parquet").to_table()
    assert new.num_rows == 5 and set(new.column("rules_version").to_pylist()) == {"v2"}
    assert ds.dataset(out / "documents", format="parquet").to_table().column("facts").to_pylist() == [5, 0]
    # A reader that resolved the link before the switch still reads the old, complete version.
    assert old != Path(os.path.realpath(out / "facts"))
    assert ds.dataset(old, format="parquet").to_table().num_rows == 3


def test_only_previous_version_is_kept(tmp_path: Path) -> None:
    out = tmp_path / "output"
    first = publish_facts(out, 1, "v1")
    second = publish_facts(out, 2, "v2")
    third = publish_facts(out, 3, "v3")
    versions = sorted(p for p in (out / ".versions").iterdir() if p.is_dir())
    assert versions == sorted([second, third])
    assert not first.exists()


def test_aborted_run_leaves_output_untouched(tmp_path: Path) -> None:
    out = tmp_path / "output"
    publish_facts(out, 3, "v1")
    with pytest.raises(RuntimeError), StagedOutput(out, "v2") as staged:
        staged.fact_writer().add([make_fact(i) for i in range(10)])
        raise RuntimeError("extraction blew up")
    assert ds.dataset(out / "facts", format="parquet").to_table().num_rows == 3
    assert not staged.root.exists()


def test_leftover_staging_folders_are_invisible_and_pruned(tmp_path: Path) -> None:
    out = tmp_path / "output"
    publish_facts(out, 3, "v1")
    # A crashed run: a staged version whose writer died (marker present, no lock held).
    crashed = out / ".versions" / "20000101T000000000000Z-deadbeef"
    (crashed / "facts").mkdir(parents=True)
    (crashed / ".writing").touch()
    pq.write_table(facts_table([make_fact(0, rules_version="crashed")]), crashed / "facts" / "x.parquet")
    # A run still writing in this process: its lock is held, so it must survive.
    live = StagedOutput(out, "live")
    live.fact_writer().add([make_fact(0, rules_version="live")])
    try:
        publish_facts(out, 4, "v2")
        table = ds.dataset(out / "facts", format="parquet", partitioning="hive").to_table()
        assert table.num_rows == 4 and set(table.column("rules_version").to_pylist()) == {"v2"}
        assert not crashed.exists()
        assert live.root.exists()
    finally:
        live.abort()


def test_existing_real_directory_is_replaced(tmp_path: Path) -> None:
    out = tmp_path / "output"
    (out / "facts").mkdir(parents=True)
    pq.write_table(facts_table([make_fact(0, rules_version="legacy")]), out / "facts" / "old.parquet")
    publish_facts(out, 2, "v1")
    assert (out / "facts").is_symlink()
    table = ds.dataset(out / "facts", format="parquet").to_table()
    assert set(table.column("rules_version").to_pylist()) == {"v1"}
    legacy = list((out / ".versions").glob("legacy-*/facts/old.parquet"))
    assert len(legacy) == 1  # kept as the previous version until the next publish
    publish_facts(out, 2, "v2")
    assert not legacy[0].exists()


# --- readers -------------------------------------------------------------------


@pytest.fixture()
def published(tmp_path: Path) -> Path:
    out = tmp_path / "output"
    facts = facts_table(
        [make_fact(i, doc="000_a.txt") for i in range(3)]
        + [make_fact(0, doc="001_b.txt", region=None, period=None)]
    )
    publish(out, facts, sample_documents(), "rv1")
    return out


def test_pyarrow_dataset_reads(published: Path) -> None:
    table = ds.dataset(published / "facts", format="parquet", partitioning="hive").to_table()
    assert table.column_names == FACT_SCHEMA.names
    assert table.schema.field("start").type == pa.int64()
    assert table.num_rows == 4


def test_pandas_reads(published: Path) -> None:
    facts = pd.read_parquet(published / "facts")
    assert list(facts.columns) == FACT_SCHEMA.names
    assert len(facts) == 4 and facts["value"].dtype == "float64"
    assert facts["region"].isna().sum() == 1
    documents = pd.read_parquet(published / "documents", dtype_backend="pyarrow")
    assert documents["published"].iloc[0] == date(2024, 4, 26)


def test_duckdb_reads(published: Path) -> None:
    rows = duckdb.sql(
        f"SELECT doc, count(*) AS n, sum(value) FROM read_parquet('{published}/facts/*.parquet') "
        "GROUP BY doc ORDER BY doc"
    ).fetchall()
    assert rows == [("000_a.txt", 3, 3 * 39800.0), ("001_b.txt", 1, 39800.0)]
    hive = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{published}/facts/*.parquet', hive_partitioning=true)"
    ).fetchall()
    assert hive == [(4,)]
    joined = duckdb.sql(
        f"SELECT d.title, count(*) FROM read_parquet('{published}/facts/*.parquet') f "
        f"JOIN read_parquet('{published}/documents/*.parquet') d USING (doc_id) GROUP BY d.file, d.title ORDER BY d.file"
    ).fetchall()
    assert joined == [("金华", 3), (None, 1)]


def test_polars_reads(published: Path) -> None:
    frame = pl.scan_parquet(published / "facts").collect()
    assert frame.columns == FACT_SCHEMA.names
    assert frame.height == 4 and frame.schema["start"] == pl.Int64
    globbed = pl.scan_parquet(f"{published}/facts/*.parquet").select(pl.len()).collect().item()
    assert globbed == 4


# --- history folders and links -----------------------------------------------------


def test_history_folders_get_reader_links_only_when_a_version_has_them(tmp_path: Path) -> None:
    out = tmp_path / "output"
    publish_facts(out, 1, "v1")  # facts and documents only, as before run history existed
    assert not any((out / name).is_symlink() for name in ("runs", "diffs", "errors"))
    with StagedOutput(out, "v2") as staged:
        staged.fact_writer().add([make_fact(0, rules_version="v2")])
        staged.table_writer("runs", pa.schema([("run_id", pa.string())])).write(
            pa.table({"run_id": ["r2"]}))
        version = staged.commit()
    assert os.readlink(out / "runs") == "current/runs"
    assert ds.dataset(out / "runs", format="parquet").to_table().column("run_id").to_pylist() == ["r2"]
    assert Path(os.path.realpath(out / "runs")).parent == version.resolve()
    assert not (out / "diffs").exists()


def test_linked_file_survives_the_pruning_of_its_first_version(tmp_path: Path) -> None:
    out = tmp_path / "output"
    first = publish_facts(out, 2, "v1")
    source = next((first / "facts").glob("*.parquet"))
    with StagedOutput(out, "v2") as staged:
        staged.link("facts", source, "carried.parquet")
        staged.commit()
    publish_facts(out, 1, "v3")  # prunes the first version; the link in the second keeps the data
    assert not first.exists()
    carried = next((out / ".versions").glob("*/facts/carried.parquet"))
    assert pq.read_table(carried).num_rows == 2
