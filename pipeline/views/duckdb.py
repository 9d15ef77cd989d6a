"""A DuckDB file of views over the published Parquet, for analysts' SQL.

`OUTPUT/facts.duckdb` holds no data, only views: they read
`OUTPUT/facts/*.parquet` and `OUTPUT/documents/*.parquet` through the links a
publish switches, so a database made once sees every later run. Paths are
absolute (DuckDB resolves relative ones against the reader's working
folder, not the database's); after moving the output folder, write it again.
"""
from __future__ import annotations

import os
from pathlib import Path

from pipeline.storage.paths import DATABASE_NAME, temporary
from pipeline.views.version import ViewsVersion, database_record, write_record

VIEWS = """
CREATE VIEW facts AS
    SELECT * FROM read_parquet({facts}, union_by_name = true);

CREATE VIEW documents AS
    SELECT * FROM read_parquet({documents}, union_by_name = true);

-- Every fact with its report's title and publication date.
CREATE VIEW facts_with_documents AS
    SELECT f.*, d.title, d.published
    FROM facts AS f LEFT JOIN documents AS d USING (doc_id);

-- One value per metric, region, year, unit and type: the median of what the
-- reports say (the same figure is often repeated by several reports).
CREATE VIEW metric_by_region_year AS
    SELECT metric, region, TRY_CAST(period AS INTEGER) AS year, unit, type,
           median(value) AS value, min(value) AS min_value, max(value) AS max_value,
           count(*) AS facts, count(DISTINCT doc) AS reports
    FROM facts
    WHERE metric IS NOT NULL AND region IS NOT NULL AND TRY_CAST(period AS INTEGER) IS NOT NULL
    GROUP BY metric, region, TRY_CAST(period AS INTEGER), unit, type;

-- A level against the same metric's previous year with a value, per region
-- and unit, largest relative change first.
CREATE VIEW largest_changes AS
    WITH steps AS (
        SELECT metric, region, unit, year, value,
               lag(year) OVER w AS previous_year, lag(value) OVER w AS previous_value
        FROM metric_by_region_year
        WHERE type = 'level'
        WINDOW w AS (PARTITION BY metric, region, unit ORDER BY year)
    )
    SELECT metric, region, unit, previous_year, year, previous_value, value,
           value - previous_value AS change,
           CASE WHEN previous_value <> 0
                THEN round((value - previous_value) / abs(previous_value) * 100, 2) END AS change_pct
    FROM steps
    WHERE previous_year IS NOT NULL
    ORDER BY abs(change_pct) DESC NULLS LAST, abs(change) DESC, metric, region, year;
"""

VIEW_NAMES = ("facts", "documents", "facts_with_documents", "metric_by_region_year", "largest_changes")


def _literal(path: Path) -> str:
    """A SQL string literal (paths may hold quotes)."""
    return _text(str(path))


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def write_duckdb(output: Path, database: Path | None = None, version: ViewsVersion | None = None) -> Path:
    """Create (or replace) OUTPUT/facts.duckdb with views over the output's Parquet.

    Raises FileNotFoundError when the output has no facts or documents yet.
    The file is built aside and renamed into place, so an open reader keeps
    the old one and a new reader gets a complete one. `version` is what the
    views are built from: the view `output_version` holds it, and so does
    OUTPUT/facts.duckdb.version.json once the database is in place
    (pipeline.views.version).
    """
    import duckdb  # here: every process that imports the pipeline (each worker) would pay ~27 MB for it

    root = output.absolute()
    for name in ("facts", "documents"):
        if not (root / name).is_dir():
            raise FileNotFoundError(f"{root / name}: no Parquet dataset here (run the pipeline first)")
    target = database if database is not None else root / DATABASE_NAME
    staging = temporary(target)
    sql = VIEWS.format(
        facts=_literal(root / "facts" / "*.parquet"), documents=_literal(root / "documents" / "*.parquet")
    )
    if version is not None:
        sql += (f"\nCREATE VIEW output_version AS SELECT {_text(version.version)} AS version,"
                f" {_text(version.content)} AS content;\n")
    try:
        with duckdb.connect(str(staging)) as connection:
            connection.execute(sql)
            connection.execute("CHECKPOINT")
        os.replace(staging, target)
        if version is not None and database is None:
            write_record(database_record(output), version)
    finally:
        staging.unlink(missing_ok=True)
        staging.with_name(staging.name + ".wal").unlink(missing_ok=True)
    return target


__all__ = ["DATABASE_NAME", "VIEW_NAMES", "write_duckdb"]
