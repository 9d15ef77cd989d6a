"""The run plan: every report keyed, grouped into chunks, stored chunks marked, before anything is written.

Reports are grouped into chunks whose boundaries depend only on file names
(content-defined chunking), so a new or removed report disturbs its own
chunk, not every chunk after it. A chunk whose segment exists
(`pipeline.runs.segments`) is linked, not extracted.
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipeline.ingest.decode import UnreadableError
from pipeline.ingest.policy import InputPolicy, check_name, hash_report, shown_name, stat_report
from pipeline.records import ReadError
from pipeline.runs.keys import chunk_key, code_version, new_run_id, report_key
from pipeline.runs.manifest import Entry, Manifest, read_manifest
from pipeline.runs.segments import Segments
from pipeline.storage.versions import current_version

Catalogue = dict[str, tuple[str | None, date | None]]


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
    policy: InputPolicy = field(default_factory=InputPolicy)  # what may be read (pipeline.ingest.policy)

    def segments(self) -> Segments:
        return Segments(self.output, self.previous)


@dataclass(frozen=True)
class RunPlan:
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
             *, chunk_size: int, force: bool = False, policy: InputPolicy | None = None) -> RunPlan:
    """Hash what changed, key every report and chunk, and mark the chunks already stored.

    A file the input policy refuses (a link out of raw, a pipe, a name that is
    not UTF-8) is unreadable here, before a byte of it is read.
    """
    policy = policy or InputPolicy()
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
            check_name(file)
            stat = stat_report(path, raw, policy)
            sha = (None if force else manifest.trusted_hash(file, stat)) or hash_report(path, raw, policy)
        except UnreadableError as exc:
            unreadable.append(ReadError(shown_name(file), exc.reason))
            continue
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
    context = RunContext(new_run_id(), raw, output, previous, rules_version, code, started_ns, force, policy)
    return RunPlan(context, manifest, tuple(jobs), tuple(unreadable), len(paths))


def catalogue_entry(catalogue: Catalogue, file: str) -> tuple[str | None, date | None]:
    """A report's (title, published) from documents.csv: by relative path, else by file name."""
    return catalogue.get(file) or catalogue.get(file.rsplit("/", 1)[-1]) or (None, None)
