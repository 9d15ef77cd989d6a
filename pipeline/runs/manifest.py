"""The manifest: one row per report of a published version.

`.versions/<id>/manifest.parquet` records each report's key, its segment and
the file's size, mtime and inode: an untouched file is not even read again to
hash it (`Manifest.trusted_hash`, with git's racy-mtime rule).
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.storage.parquet import write_file
from pipeline.storage.paths import MANIFEST_NAME

RACY_NS = 2_000_000_000  # mtimes this close to a run's start are not trusted (as git does)

MANIFEST_SCHEMA = pa.schema(
    [
        pa.field("file", pa.string(), nullable=False),
        pa.field("size", pa.int64(), nullable=False),
        pa.field("mtime_ns", pa.int64(), nullable=False),
        pa.field("inode", pa.int64(), nullable=False),
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("key", pa.string(), nullable=False),
        pa.field("segment", pa.string(), nullable=False),
        pa.field("facts", pa.int64(), nullable=False),
    ],
    metadata={"schema_version": "1"},
)


@dataclass(frozen=True)
class Entry:
    """One report of a published version: where its facts are and how its file looked."""

    file: str
    size: int
    mtime_ns: int
    inode: int
    sha256: str
    key: str
    segment: str
    facts: int


@dataclass(frozen=True)
class Manifest:
    entries: Mapping[str, Entry] = field(default_factory=dict)
    started_ns: int = 0  # when the run that wrote it started
    rules_version: str = ""
    code_version: str = ""

    def trusted_hash(self, file: str, stat: os.stat_result) -> str | None:
        """The recorded hash if the file looks untouched since it was hashed."""
        entry = self.entries.get(file)
        if entry is None or stat.st_mtime_ns >= self.started_ns - RACY_NS:
            return None
        if (entry.size, entry.mtime_ns, entry.inode) != (stat.st_size, stat.st_mtime_ns, stat.st_ino):
            return None
        return entry.sha256


def read_manifest(version: Path | None) -> Manifest:
    """The manifest of a published version; empty before the first incremental run."""
    path = version / MANIFEST_NAME if version is not None else None
    if path is None or not path.is_file():
        return Manifest()
    table = pq.read_table(path)
    meta = table.schema.metadata or {}
    entries = {row["file"]: Entry(**row) for row in table.select(MANIFEST_SCHEMA.names).to_pylist()}
    return Manifest(entries, int(meta.get(b"started_ns", b"0")), meta.get(b"rules_version", b"").decode(),
                    meta.get(b"code_version", b"").decode())


def write_manifest(path: Path, entries: Sequence[Entry], started_ns: int, rules_version: str,
                   code_version: str) -> None:
    schema = MANIFEST_SCHEMA.with_metadata({**(MANIFEST_SCHEMA.metadata or {}),
                                            b"started_ns": str(started_ns).encode(),
                                            b"code_version": code_version.encode()})
    table = pa.Table.from_pylist([vars(e) for e in entries], schema=schema)
    write_file(path, table, schema, rules_version)
