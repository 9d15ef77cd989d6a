"""Parquet building blocks: explicit schemas, table builders, streaming writers.

Every file carries `schema_version` and `rules_version` in its footer, so a
lone file says what made it. `write_file` writes one small table atomically
(temporary name, fsync, rename): content-addressed segments and the run
history use it; `TableWriter` streams big outputs with bounded memory.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.processes import memory
from pipeline.records import Document, Fact
from pipeline.storage.paths import temporary

memory.lean_arrow_pool()  # before the first table: freed buffers go back to the system

SCHEMA_VERSION = "1"
COMPRESSION = "zstd"
COMPRESSION_LEVEL = 3
BATCH_ROWS = 100_000  # rows buffered before a row group is written
FILE_ROWS = 1_000_000  # rows per Parquet file before the writer starts a new one

FACT_SCHEMA = pa.schema(
    [
        pa.field("doc", pa.string(), nullable=False),
        pa.field("start", pa.int64(), nullable=False),
        pa.field("end", pa.int64(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("value", pa.float64(), nullable=False),
        pa.field("unit", pa.string(), nullable=False),
        pa.field("dimension", pa.string(), nullable=False),
        pa.field("qualifier", pa.string(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
        pa.field("metric", pa.string()),
        pa.field("region", pa.string()),
        pa.field("period", pa.string()),
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("sentence", pa.string(), nullable=False),
        pa.field("rule", pa.string(), nullable=False),
        pa.field("rules_version", pa.string(), nullable=False),
        pa.field("metric_id", pa.string()),
        pa.field("region_code", pa.string()),
    ],
    metadata={"schema_version": SCHEMA_VERSION},
)

DOCUMENT_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("file", pa.string(), nullable=False),
        pa.field("title", pa.string()),
        pa.field("published", pa.date32()),
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("characters", pa.int64(), nullable=False),
        pa.field("facts", pa.int64(), nullable=False),
        pa.field("encoding", pa.string(), nullable=False),
    ],
    metadata={"schema_version": SCHEMA_VERSION},
)

# Columns with few distinct values: dictionary pages make them tiny and fast.
FACT_DICTIONARY_COLUMNS = (
    "doc", "unit", "dimension", "qualifier", "type", "metric", "region", "period",
    "doc_id", "rule", "rules_version", "metric_id", "region_code",
)
DOCUMENT_DICTIONARY_COLUMNS = ("encoding",)


class StoreError(RuntimeError):
    """The output folder cannot be published (bad layout, concurrent misuse)."""


def with_rules_version(schema: pa.Schema, rules_version: str) -> pa.Schema:
    """Schema with the footer metadata every file carries, so a lone file says what made it."""
    return schema.with_metadata(
        {**(schema.metadata or {}), b"rules_version": rules_version.encode("utf-8")}
    )


def _table(columns: dict[str, list[Any]], schema: pa.Schema) -> pa.Table:
    """Build a table and reject nulls in required columns, naming the column.

    Arrow does not enforce `nullable=False` when building; its null counts are
    kept per column, so the check costs nothing per row.
    """
    table = pa.Table.from_pydict(columns, schema=schema)
    for field in schema:
        if not field.nullable and table.column(field.name).null_count:
            raise ValueError(f"column {field.name!r} is required but a row has None")
    return table


def facts_table(facts: Iterable[Fact]) -> pa.Table:
    """Facts as an Arrow table in FACT_SCHEMA column order (plain strings, no dictionary)."""
    columns: dict[str, list[Any]] = {name: [] for name in FACT_SCHEMA.names}
    appenders = [(columns[name].append, name) for name in FACT_SCHEMA.names]
    for fact in facts:
        for append, name in appenders:
            append(getattr(fact, name))
    return _table(columns, FACT_SCHEMA)


def document_row(doc: Document, facts: int) -> dict[str, Any]:
    """One DOCUMENT_SCHEMA row for a report that was read, with its fact count."""
    return {
        "doc_id": doc.doc_id,
        "file": doc.file,
        "title": doc.title,
        "published": doc.published,
        "sha256": doc.sha256,
        "characters": len(doc.text),
        "facts": facts,
        "encoding": doc.encoding,
    }


def documents_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Document rows (mappings with DOCUMENT_SCHEMA keys, see document_row) as a table."""
    columns: dict[str, list[Any]] = {name: [] for name in DOCUMENT_SCHEMA.names}
    for row in rows:
        for name in DOCUMENT_SCHEMA.names:
            columns[name].append(row.get(name))
    for value in columns["published"]:
        if value is not None and not isinstance(value, date):
            raise TypeError(f"published must be a date or None, got {value!r}")
    return _table(columns, DOCUMENT_SCHEMA)


class TableWriter:
    """Streams tables into Parquet files in one folder with bounded memory.

    Rows are buffered as Arrow data (compact, unlike Python objects) and written
    as row groups of `batch_rows`; a new file starts every `file_rows` rows.
    """

    def __init__(
        self,
        directory: Path,
        schema: pa.Schema,
        rules_version: str,
        *,
        dictionary_columns: Iterable[str] = (),
        prefix: str = "part",
        batch_rows: int = BATCH_ROWS,
        file_rows: int = FILE_ROWS,
    ) -> None:
        if batch_rows <= 0 or file_rows <= 0:
            raise ValueError("batch_rows and file_rows must be positive")
        self.directory = directory
        self.schema = with_rules_version(schema, rules_version)
        self.rows = 0
        self.files: list[Path] = []
        self._dictionary = list(dictionary_columns)
        self._prefix = prefix
        self._batch_rows = batch_rows
        self._file_rows = file_rows
        self._buffer: list[pa.Table] = []
        self._buffered = 0
        self._writer: pq.ParquetWriter | None = None
        self._file_written = 0
        self._closed = False
        directory.mkdir(parents=True, exist_ok=True)

    def write(self, table: pa.Table | pa.RecordBatch) -> None:
        """Queue rows; a full batch goes to disk at once."""
        if self._closed:
            raise StoreError("writer is closed")
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        if not table.schema.equals(self.schema, check_metadata=False):
            raise ValueError(f"table schema differs from the writer's:\n{table.schema}")
        if table.num_rows == 0:
            return
        self._buffer.append(table)
        self._buffered += table.num_rows
        while self._buffered >= self._batch_rows:
            self._flush(self._batch_rows)

    def close(self) -> list[Path]:
        """Write what is buffered and close the file; an empty run still gets one file.

        The empty file keeps the schema visible: `read_parquet('facts/*.parquet')`
        fails on an empty glob, an empty table is the honest answer.
        """
        if self._closed:
            return self.files
        while self._buffered:
            self._flush(min(self._buffered, self._batch_rows))
        if not self.files:
            self._open()
        self._close_file()
        self._closed = True
        return self.files

    def abort(self) -> None:
        """Close the open file without caring about its contents (the folder is discarded)."""
        self._buffer.clear()
        self._buffered = 0
        if self._writer is not None:
            try:
                self._writer.close()
            finally:
                self._writer = None
        self._closed = True

    def _flush(self, rows: int) -> None:
        """Write the first `rows` buffered rows, splitting across files at file_rows."""
        data = pa.concat_tables(self._buffer)
        head, rest = data.slice(0, rows), data.slice(rows)
        self._buffer = [rest] if rest.num_rows else []
        self._buffered = rest.num_rows
        while head.num_rows:
            if self._writer is None:
                self._open()
            assert self._writer is not None
            room = self._file_rows - self._file_written
            part = head.slice(0, room)
            self._writer.write_table(part, row_group_size=self._batch_rows)
            self._file_written += part.num_rows
            self.rows += part.num_rows
            head = head.slice(part.num_rows)
            if self._file_written >= self._file_rows:
                self._close_file()

    def _open(self) -> None:
        path = self.directory / f"{self._prefix}-{len(self.files):05d}.parquet"
        self._writer = pq.ParquetWriter(
            path,
            self.schema,
            compression=COMPRESSION,
            compression_level=COMPRESSION_LEVEL,
            use_dictionary=self._dictionary or False,
        )
        self.files.append(path)
        self._file_written = 0

    def _close_file(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            fsync_path(self.files[-1])


class FactWriter(TableWriter):
    """Accepts facts incrementally (`add`, `close`) and writes FACT_SCHEMA Parquet files."""

    def __init__(self, directory: Path, rules_version: str, **options: Any) -> None:
        options.setdefault("dictionary_columns", FACT_DICTIONARY_COLUMNS)
        super().__init__(directory, FACT_SCHEMA, rules_version, **options)

    def add(self, facts: Iterable[Fact] | pa.Table) -> None:
        """Add facts, either as records or as a table already built by facts_table."""
        self.write(facts if isinstance(facts, pa.Table) else facts_table(facts))


class DocumentWriter(TableWriter):
    """Accepts document rows incrementally and writes DOCUMENT_SCHEMA Parquet files."""

    def __init__(self, directory: Path, rules_version: str, **options: Any) -> None:
        options.setdefault("dictionary_columns", DOCUMENT_DICTIONARY_COLUMNS)
        super().__init__(directory, DOCUMENT_SCHEMA, rules_version, **options)

    def add(self, rows: Iterable[Mapping[str, Any]] | pa.Table) -> None:
        """Add document rows, as mappings (see document_row) or as a table."""
        self.write(rows if isinstance(rows, pa.Table) else documents_table(rows))



def write_file(path: Path, table: pa.Table, schema: pa.Schema, rules_version: str,
               dictionary_columns: Iterable[str] = ()) -> Path:
    """Write `table` as one Parquet file, atomically: a reader sees no file or the whole file."""
    temp = temporary(path)
    try:
        pq.write_table(
            table.cast(with_rules_version(schema, rules_version)),
            temp,
            compression=COMPRESSION,
            compression_level=COMPRESSION_LEVEL,
            use_dictionary=list(dictionary_columns) or False,
        )
        fsync_path(temp)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path


def fsync_path(path: Path) -> None:
    """Flush a file or folder entry to disk so a crash after a switch finds complete files."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
