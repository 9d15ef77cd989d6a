"""Parquet output: explicit schemas, streaming writers and atomic publishing.

Layout of an output folder::

    output/
      facts      -> current/facts        (symlinks readers use; never change)
      documents  -> current/documents
      current    -> .versions/<id>       (the one pointer a publish switches)
      .versions/<id>/facts/part-<id>-00000.parquet ...
      .versions/<id>/documents/part-<id>-00000.parquet

A publish writes a complete new version folder, then replaces `current` with
`os.replace` (atomic on POSIX), so `facts` and `documents` switch together:
readers see the old or the new output, never a mix. The previous version is
kept so a reader that already resolved the old link can finish; older ones
and abandoned staging folders are removed. File names carry the version id,
so a reader that listed old files and opens them after a later cleanup fails
loudly instead of silently reading new data under an old name.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, IO, Self

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.records import Document, Fact

SCHEMA_VERSION = "1"
COMPRESSION = "zstd"
COMPRESSION_LEVEL = 3
BATCH_ROWS = 100_000  # rows buffered before a row group is written
FILE_ROWS = 1_000_000  # rows per Parquet file before the writer starts a new one

VERSIONS_DIR = ".versions"
CURRENT_LINK = "current"
FACTS_DIR = "facts"
DOCUMENTS_DIR = "documents"
_WRITING_MARK = ".writing"  # flock'ed by the process staging a version
_PUBLISH_LOCK = ".publish.lock"

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
    """Build a table and reject nulls in required columns, naming the column."""
    for field in schema:
        if not field.nullable and any(v is None for v in columns[field.name]):
            raise ValueError(f"column {field.name!r} is required but a row has None")
    return pa.Table.from_pydict(columns, schema=schema)


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
            _fsync_path(self.files[-1])


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


class StagedOutput:
    """A new output version being written; readers cannot see it until `commit`.

    Use as a context manager: leaving the block without a commit (an exception,
    a rule error) removes the staging folder and leaves the output untouched.
    While staging, the folder holds an flock'ed marker so a concurrent publish
    does not clean it up; a crashed run's folder loses the lock and is removed
    by the next publish.
    """

    def __init__(self, output: Path, rules_version: str) -> None:
        self.output = output
        self.rules_version = rules_version
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        self.version = f"{stamp}-{uuid.uuid4().hex[:8]}"
        self.root = output / VERSIONS_DIR / self.version
        self.facts_dir = self.root / FACTS_DIR
        self.documents_dir = self.root / DOCUMENTS_DIR
        self.facts_dir.mkdir(parents=True)
        self.documents_dir.mkdir()
        self._mark: IO[bytes] | None = open(self.root / _WRITING_MARK, "wb")
        fcntl.flock(self._mark, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._writers: list[TableWriter] = []
        self.committed = False

    def fact_writer(self, **options: Any) -> FactWriter:
        """A FactWriter into this version; closed by commit if still open."""
        writer = FactWriter(
            self.facts_dir, self.rules_version, prefix=f"part-{self.version}", **options
        )
        self._writers.append(writer)
        return writer

    def document_writer(self, **options: Any) -> DocumentWriter:
        """A DocumentWriter into this version; closed by commit if still open."""
        writer = DocumentWriter(
            self.documents_dir, self.rules_version, prefix=f"part-{self.version}", **options
        )
        self._writers.append(writer)
        return writer

    def commit(self) -> Path:
        """Close the writers, switch `current` to this version and clean up old ones."""
        if self.committed:
            raise StoreError("version already committed")
        for writer in self._writers:
            writer.close()
        if not any(isinstance(w, FactWriter) for w in self._writers):
            self.fact_writer().close()  # readers expect a facts dataset, even an empty one
        if not any(isinstance(w, DocumentWriter) for w in self._writers):
            self.document_writer().close()
        _fsync_path(self.facts_dir)
        _fsync_path(self.documents_dir)
        _fsync_path(self.root)
        _switch(self.output, self.version)
        self.committed = True
        self._release()
        return self.root

    def abort(self) -> None:
        """Discard the staged version; the published output is untouched."""
        for writer in self._writers:
            writer.abort()
        self._release()
        shutil.rmtree(self.root, ignore_errors=True)

    def _release(self) -> None:
        if self._mark is not None:
            self._mark.close()  # closing the file drops the flock
            self._mark = None
            (self.root / _WRITING_MARK).unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.committed:
            self.abort()


def publish(output: Path, facts: pa.Table, documents: pa.Table, rules_version: str) -> Path:
    """Write both tables as a new version and switch to it atomically; returns its folder."""
    with StagedOutput(output, rules_version) as staged:
        staged.fact_writer().write(facts)
        staged.document_writer().write(documents)
        return staged.commit()


def current_version(output: Path) -> Path | None:
    """The version folder `output/current` points to, or None before the first publish."""
    link = output / CURRENT_LINK
    if not link.is_symlink():
        return None
    return (output / os.readlink(link)).resolve()


def _switch(output: Path, version: str) -> None:
    """Point `current` at the version, make sure the reader links exist, prune old versions.

    Serialised by an flock so two publishes cannot interleave reading the old
    pointer and pruning.
    """
    versions = output / VERSIONS_DIR
    with open(versions / _PUBLISH_LOCK, "wb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        previous = current_version(output)
        current = output / CURRENT_LINK
        if current.exists() and not current.is_symlink():
            raise StoreError(f"{current} is not a symlink; move it away to publish here")
        _replace_link(current, f"{VERSIONS_DIR}/{version}")
        for name in (FACTS_DIR, DOCUMENTS_DIR):
            legacy = _ensure_link(output, name)
            if legacy is not None and previous is None:
                previous = legacy.parent
        _fsync_path(output)
        keep = {versions / version} | ({previous} if previous is not None else set())
        _prune(versions, {path.resolve() for path in keep})


def _ensure_link(output: Path, name: str) -> Path | None:
    """Make `output/<name>` the link `current/<name>`; move a real folder there aside first.

    A real folder (an output written before versioning) cannot be swapped for a
    link in one rename, so it is renamed into `.versions/legacy-*` and the link
    takes its place at once: readers briefly see no folder, never a mix. The
    legacy folder is kept as the previous version until the next publish.
    """
    path = output / name
    target = f"{CURRENT_LINK}/{name}"
    if path.is_symlink():
        if os.readlink(path) != target:
            _replace_link(path, target)
        return None
    moved: Path | None = None
    if path.exists():
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        moved = output / VERSIONS_DIR / f"legacy-{stamp}-{uuid.uuid4().hex[:8]}" / name
        moved.parent.mkdir()
        os.rename(path, moved)
    _replace_link(path, target)
    return moved


def _replace_link(path: Path, target: str) -> None:
    """Atomically make `path` a symlink to `target` (relative, so the folder can move)."""
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    os.symlink(target, temp)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _prune(versions: Path, keep: set[Path]) -> None:
    """Remove versions not in `keep`, skipping folders another process is still staging."""
    for entry in versions.iterdir():
        if not entry.is_dir() or entry.is_symlink() or entry.resolve() in keep:
            continue
        mark = entry / _WRITING_MARK
        if mark.exists() and _locked(mark):
            continue
        shutil.rmtree(entry, ignore_errors=True)


def _locked(path: Path) -> bool:
    """True when another open file description holds an flock on `path`."""
    try:
        with open(path, "rb") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False
    except FileNotFoundError:
        return False  # the writer just finished or aborted


def _fsync_path(path: Path) -> None:
    """Flush a file or folder entry to disk so a crash after the switch finds complete files."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
